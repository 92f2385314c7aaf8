"""A retiree's certification cycle (认证周期): when the next certification is due, and the status today.

The cycle of a retiree: `due_on` = anchor + cycle months, where the anchor is the last
certification, or for a retiree never certified here the *baseline*: the later of the
retirement date and the day the archive entered the system. (A retiree imported from paper
records was certified under the old process; counting from the import avoids suspending the
pensions of a whole city on the day it goes live.) Status on a day:
    ok          today <  due_on - window
    due         due_on - window <= today <= due_on
    overdue     due_on < today <= due_on + grace
    suspended   today > due_on + grace          (pension_status → suspended)
    ended       deceased: out of the cycle

Cycle months, window and grace are per region (CertificationSetting), inherited down the tree;
the nearest setting above a community wins, else the CERT_* config defaults.
Around it in this package: `certify` (recording a certification, home-certification tasks),
`daily` (the daily job), `booking` and `waitlist`, `slots` (opening hours, slots), `roster` (the
desk), `imports` (result files) and `reports` (risk list, work fees).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.domain import audit, clock
from app.domain.errors import ValidationFailed
from app.domain.messaging import outbox
from app.extensions import db
from app.models import Region, Retiree, Staff
from app.models.certification import CertificationSetting, CertificationState

# Categories that make certification at a service point hard: a home visit is offered instead.
IMMOBILE_CATEGORIES = ("elderly", "disabled", "lonely")
CLOSED_FOR_CYCLE = ("deceased",)


@dataclass(frozen=True)
class CycleSettings:
    cycle_months: int
    due_window_days: int
    grace_days: int


@dataclass(frozen=True)
class CycleView:
    """What the cycle says about a retiree today (read-only; nothing is written)."""
    status: str
    due_on: date | None
    last_certified_on: date | None
    last_method: str | None
    window_opens_on: date | None


def default_settings() -> CycleSettings:
    """The cycle settings of a region without its own (CERT_CYCLE_MONTHS, CERT_DUE_WINDOW_DAYS, CERT_GRACE_DAYS)."""
    config = current_app.config
    return CycleSettings(config["CERT_CYCLE_MONTHS"], config["CERT_DUE_WINDOW_DAYS"], config["CERT_GRACE_DAYS"])


_CHILD = aliased(Region)
# The nearest region at or above :region_id that has its own settings (built once: this runs on
# every booking, and building the statement costs more than executing it).
_NEAREST_SETTINGS = (
    select(CertificationSetting.cycle_months, CertificationSetting.due_window_days, CertificationSetting.grace_days)
    .join(Region, Region.id == CertificationSetting.region_id)
    .join(_CHILD, and_(_CHILD.id == bindparam("region_id"), _CHILD.path.startswith(Region.path)))
    .order_by(func.length(Region.path).desc()).limit(1))


def settings_for(region: Region | int, cache: dict[int, CycleSettings] | None = None) -> CycleSettings:
    """The cycle settings that apply in a region (or region id): its own, else the nearest
    ancestor's, else the defaults. One query, without loading the region itself."""
    region_id = region if isinstance(region, int) else region.id
    if cache is not None and region_id in cache:
        return cache[region_id]
    row = db.session.execute(_NEAREST_SETTINGS, {"region_id": region_id}).first()
    found = CycleSettings(*row) if row is not None else default_settings()
    if cache is not None:
        cache[region_id] = found
    return found


def set_region_settings(region: Region, *, cycle_months: int, due_window_days: int, grace_days: int,
                        actor: Staff | None = None) -> CertificationSetting:
    """Create or change a region's cycle settings (inherited below it); audit-logged, since the
    settings decide when pensions are suspended. The daily job applies them. Caller commits."""
    fields = {}
    if not 1 <= cycle_months <= 60:
        fields["cycle_months"] = "认证周期应为 1–60 个月"
    if not 0 <= due_window_days <= 366:
        fields["due_window_days"] = "提醒窗口应为 0–366 天"
    if not 0 <= grace_days <= 366:
        fields["grace_days"] = "宽限期应为 0–366 天"
    if fields:
        raise ValidationFailed(fields=fields)
    row = db.session.scalar(select(CertificationSetting).where(CertificationSetting.region_id == region.id))
    if row is None:
        row = CertificationSetting(region_id=region.id)
        db.session.add(row)
    row.cycle_months, row.due_window_days, row.grace_days = cycle_months, due_window_days, grace_days
    db.session.flush()
    audit.record(actor, "certification.settings_changed", subject_type="region", subject_id=region.id,
                 region_id=region.id, detail={"cycle_months": cycle_months, "due_window_days": due_window_days,
                                              "grace_days": grace_days})
    return row


def add_months(day: date, months: int) -> date:
    """`day` plus calendar months, clamped to the month's end (2024-02-29 + 12 → 2025-02-28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def baseline_date(retiree: Retiree) -> date:
    """The anchor for a retiree never certified: the later of retirement and entering the system."""
    entered = retiree.created_at.astimezone(clock.SERVICE_ZONE).date() if retiree.created_at else clock.today()
    return max(d for d in (retiree.retirement_date, entered) if d is not None)


def status_on(due_on: date, today: date, settings: CycleSettings) -> str:
    """The cycle status on `today` for a cycle ending on `due_on` (see the module docstring)."""
    if today < due_on - timedelta(days=settings.due_window_days):
        return "ok"
    if today <= due_on:
        return "due"
    if today <= due_on + timedelta(days=settings.grace_days):
        return "overdue"
    return "suspended"


def is_immobile(retiree: Retiree, day: date) -> bool:
    """Mobility-limited, 高龄, disabled or lonely: offered home-visit certification."""
    return retiree.mobility_limited or any(c in IMMOBILE_CATEGORIES for c in retiree.categories_on(day))


def current(retiree: Retiree, today: date | None = None) -> CycleView:
    """The retiree's cycle today, from the stored state or (never ticked yet) the baseline."""
    today = today or clock.today()
    state = db.session.get(CertificationState, retiree.id)
    if retiree.life_status in CLOSED_FOR_CYCLE:
        return CycleView("ended", None, state.last_certified_on if state else None,
                         state.last_method if state else None, None)
    settings = settings_for(retiree.community_id)
    anchor = (state.last_certified_on if state and state.last_certified_on else None) or baseline_date(retiree)
    due_on = add_months(anchor, settings.cycle_months)
    return CycleView(status_on(due_on, today, settings), due_on, state.last_certified_on if state else None,
                     state.last_method if state else None, due_on - timedelta(days=settings.due_window_days))


def locked_state(retiree: Retiree) -> CertificationState:
    """The retiree's state row, created from the baseline when missing, locked for update (PG)."""
    stmt = select(CertificationState).where(CertificationState.retiree_id == retiree.id).with_for_update()
    state = db.session.scalar(stmt)
    if state is not None:
        return state
    today = clock.today()
    baseline = baseline_date(retiree)
    settings = settings_for(retiree.community_id)
    due_on = add_months(baseline, settings.cycle_months)
    try:
        with db.session.begin_nested():
            state = CertificationState(retiree_id=retiree.id, baseline_on=baseline, due_on=due_on,
                                       status=status_on(due_on, today, settings), status_since=today)
            db.session.add(state)
    except IntegrityError:  # created concurrently: use theirs
        state = db.session.scalar(stmt.execution_options(populate_existing=True))
    return state


# ---- messages --------------------------------------------------------------------------------

def booking_page_link(retiree_id: int) -> str:
    """The mini-program page where the retiree books (every certification message links there)."""
    return current_app.config["CERT_BOOKING_PAGE"].format(retiree_id=retiree_id)


def send_message(recipient, template_key: str, data: dict, idempotency_key: str, *, retiree_id: int):
    """One message through the messaging outbox (same transaction; the key makes it once-only)."""
    return outbox.notify(recipient, template_key, data, idempotency_key, link=booking_page_link(retiree_id))
