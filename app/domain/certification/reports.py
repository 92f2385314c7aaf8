"""Reports over the certification clock: the pension-risk list and the work-fee counts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, distinct, exists, func, select

from app.domain import audit, clock
from app.domain.certification import cycle
from app.domain.errors import RoleForbidden, ValidationFailed
from app.domain.org import regions
from app.extensions import db
from app.models import Region, Retiree, Staff
from app.models.certification import CertificationRecord, CertificationState
from app.models.tasks import VisitTask

RISK_ROLES = ("street_admin", "agency_admin")
DEFAULT_UNIT_COST = Decimal("2")  # seed: 2 yuan of work fee per retiree verified


@dataclass(frozen=True)
class RiskRow:
    retiree_id: int
    name: str
    id_masked: str
    phone_masked: str | None
    community_code: str
    community_name: str
    status: str
    due_on: date
    days_overdue: int
    last_certified_on: date | None
    last_method: str | None
    home_visit_pending: bool
    pension_status: str


def pension_risk_list(staff: Staff, *, purpose: str = "view", limit: int | None = None) -> list[RiskRow]:
    """Overdue and suspended retirees in the admin's subtree, most overdue first (养老金渗漏 risk).

    Every call is audit-logged (`cycle.risk_list.view` / `.export`) in the caller's
    transaction, so the caller must commit. 403 for roles other than street and agency admins.
    """
    if staff.role not in RISK_ROLES:
        raise RoleForbidden()
    if purpose not in ("view", "export"):
        raise ValidationFailed(fields={"purpose": "view 或 export"})
    today = clock.today()
    pending = exists().where(VisitTask.retiree_id == Retiree.id, VisitTask.kind == "home_certification",
                             VisitTask.status == "open")
    stmt = (select(Retiree, CertificationState, Region, pending.label("pending"))
            .join(CertificationState, CertificationState.retiree_id == Retiree.id)
            .join(Region, Region.id == Retiree.community_id)
            .where(regions.subtree_condition(staff.region), CertificationState.due_on < today,
                   Retiree.life_status != "deceased", CertificationState.status != "ended")
            .order_by(CertificationState.due_on, Retiree.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    cache: dict[int, cycle.CycleSettings] = {}
    rows = []
    for retiree, state, community, is_pending in db.session.execute(stmt):
        settings = cycle.settings_for(community.id, cache)
        rows.append(RiskRow(
            retiree_id=retiree.id, name=retiree.name, id_masked=retiree.id_masked, phone_masked=retiree.phone_masked,
            community_code=community.code, community_name=community.name,
            status=cycle.status_on(state.due_on, today, settings), due_on=state.due_on,
            days_overdue=(today - state.due_on).days, last_certified_on=state.last_certified_on,
            last_method=state.last_method, home_visit_pending=bool(is_pending),
            pension_status=retiree.pension_status))
    audit.record(staff, f"certification.risk_list.{purpose}", subject_type="region", subject_id=staff.region_id,
                 detail={"rows": len(rows), "on": today.isoformat()})
    return rows


@dataclass(frozen=True)
class WorkFeeRow:
    community_id: int
    community_code: str
    community_name: str
    certified: int
    by_method: dict[str, int]
    fee: Decimal


def work_fee_counts(root: Region, date_from: date, date_to: date,
                    unit_cost: Decimal = DEFAULT_UNIT_COST) -> list[WorkFeeRow]:
    """Retirees certified per community in `root`'s subtree between the dates (inclusive).

    A retiree certified twice in the period counts once; `by_method` counts per method (so a
    retiree may appear under two methods). fee = certified × unit_cost (a later per-region cost
    table passes its own unit cost).
    """
    if date_to < date_from:
        raise ValidationFailed(fields={"to": "结束日期不能早于开始日期"})
    period = and_(CertificationRecord.certified_on >= date_from, CertificationRecord.certified_on <= date_to)
    base = (select(Region.id, Region.code, Region.name)
            .join(Retiree, Retiree.community_id == Region.id)
            .join(CertificationRecord, CertificationRecord.retiree_id == Retiree.id)
            .where(regions.subtree_condition(root), period))
    totals = db.session.execute(base.add_columns(func.count(distinct(CertificationRecord.retiree_id)))
                                .group_by(Region.id, Region.code, Region.name).order_by(Region.code)).all()
    methods: dict[int, dict[str, int]] = {}
    for region_id, method, count in db.session.execute(
            select(Region.id, CertificationRecord.method, func.count(distinct(CertificationRecord.retiree_id)))
            .join(Retiree, Retiree.community_id == Region.id)
            .join(CertificationRecord, CertificationRecord.retiree_id == Retiree.id)
            .where(regions.subtree_condition(root), period)
            .group_by(Region.id, CertificationRecord.method)):
        methods.setdefault(region_id, {})[method] = count
    return [WorkFeeRow(region_id, code, name, count, methods.get(region_id, {}), unit_cost * count)
            for region_id, code, name, count in totals]
