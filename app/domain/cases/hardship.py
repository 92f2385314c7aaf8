"""特困老人帮扶 (hardship assistance): cases, assessment, helpers, help records, periodic
reviews and closing with a reason.

One open case per retiree (a partial unique index): a second report joins the open case.
Office staff act on cases in their region subtree; a helper sees the cases they are assigned
to and records help on them, nothing else.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.domain import audit, clock
from app.domain.cases import costs
from app.domain.cases.errors import CaseClosed, CaseForbidden, CaseNotFound, HelperNotFound, OfficeOnly
from app.domain.errors import (
    OutOfScope,
    RetireeDeceased,
    ValidationFailed,
)
from app.domain.org import regions
from app.extensions import db
from app.models import Retiree, Staff
from app.models.cases import HardshipCase, HardshipHelper, HardshipReview, HelpRecord, Report

OFFICE_ROLES = ("community_worker", "street_admin", "agency_admin")


def review_interval() -> int:
    return current_app.config["HARDSHIP_REVIEW_DAYS"]


def open_case_for(retiree: Retiree) -> HardshipCase | None:
    return db.session.scalar(select(HardshipCase).where(HardshipCase.retiree_id == retiree.id,
                                                        HardshipCase.status == "open"))


def _open(retiree: Retiree, description: str | None, opened_by: Staff | None) -> HardshipCase:
    case = open_case_for(retiree)
    if case is not None:
        if description:
            case.description = "\n".join(p for p in (case.description, description) if p)
        return case
    try:
        with db.session.begin_nested():
            case = HardshipCase(retiree_id=retiree.id, community_id=retiree.community_id, status="open",
                                description=description, opened_by_id=opened_by.id if opened_by else None)
            db.session.add(case)
    except IntegrityError:  # opened concurrently
        case = open_case_for(retiree)
        if case is None:
            raise
    return case


def open_case_from_report(retiree: Retiree, report: Report) -> HardshipCase:
    """The retiree's open case (a new one awaiting assessment, or the existing one). Flushes."""
    return _open(retiree, report.description, None)


def open_case(staff: Staff, retiree: Retiree, description: str) -> HardshipCase:
    """Staff open a case for a retiree in scope (or get the open one). Caller commits."""
    _office_in_scope(staff, retiree.community)
    if retiree.life_status == "deceased":
        raise RetireeDeceased()
    if not (description or "").strip():
        raise ValidationFailed(fields={"description": "请填写困难情况"})
    case = _open(retiree, description.strip()[:4000], staff)
    db.session.flush()
    return case


def _office_in_scope(staff: Staff, region) -> None:
    if staff.role not in OFFICE_ROLES:
        raise OfficeOnly()
    if not regions.contains(staff.region, region):
        raise OutOfScope()


def is_helper_of(staff: Staff, case: HardshipCase) -> bool:
    return any(h.staff_id == staff.id and h.ended_at is None for h in case.helpers)


def case_for(staff: Staff, case_id: int) -> HardshipCase:
    """A case `staff` may see: office staff in scope, helpers only when assigned. 404 / 403."""
    case = db.session.get(HardshipCase, case_id)
    if case is None:
        raise CaseNotFound()
    if staff.role == "helper":
        if not is_helper_of(staff, case):
            raise CaseForbidden()
    elif not regions.contains(staff.region, case.community):
        raise OutOfScope()
    return case


def _require_open(case: HardshipCase) -> None:
    if case.status != "open":
        raise CaseClosed()


def assess(staff: Staff, case: HardshipCase, assessment: str, review_days: int | None = None) -> HardshipCase:
    """Record the assessment and set the first review date (today + review_days). Caller commits."""
    _office_in_scope(staff, case.community)
    _require_open(case)
    assessment = (assessment or "").strip()
    days = review_days if review_days is not None else review_interval()
    fields = {}
    if not assessment:
        fields["assessment"] = "请填写评估意见"
    if not 1 <= days <= 366:
        fields["review_days"] = "复核周期应为 1–366 天"
    if fields:
        raise ValidationFailed(fields=fields)
    case.assessment, case.assessed_by_id, case.assessed_at = assessment[:4000], staff.id, clock.now()
    case.review_due_on = clock.today() + timedelta(days=days)
    db.session.flush()
    return case


def assign_helper(staff: Staff, case: HardshipCase, helper: Staff) -> HardshipHelper:
    """Assign a helper (or a worker) responsible for the case's community. Idempotent. Caller commits."""
    _office_in_scope(staff, case.community)
    _require_open(case)
    if not helper.active or not regions.contains(helper.region, case.community) \
            or not regions.contains(staff.region, helper.region):
        raise ValidationFailed(fields={"helper": "帮扶人应为负责该社区的工作人员"})
    live = next((h for h in case.helpers if h.staff_id == helper.id and h.ended_at is None), None)
    if live is not None:
        return live
    row = HardshipHelper(case_id=case.id, staff_id=helper.id, assigned_by_id=staff.id)
    db.session.add(row)
    db.session.flush()
    db.session.refresh(case, ["helpers"])
    return row


def end_helper(staff: Staff, case: HardshipCase, helper_row_id: int) -> None:
    """Take a helper off the case (history kept). Caller commits."""
    _office_in_scope(staff, case.community)
    row = next((h for h in case.helpers if h.id == helper_row_id and h.ended_at is None), None)
    if row is None:
        raise HelperNotFound()
    row.ended_at = clock.now()
    db.session.flush()


def record_help(staff: Staff, case: HardshipCase, *, kind: str, helped_on: date, amount_fen: int | None = None,
                description: str | None = None, helper: Staff | None = None) -> HelpRecord:
    """Record help given: money (amount in fen, with a cost line) or a service. Caller commits.

    Office staff in scope, or a helper assigned to the case (recording their own help).
    """
    helper = helper or staff
    if staff.role == "helper":
        if not is_helper_of(staff, case):
            raise CaseForbidden()
        if helper.id != staff.id:
            raise ValidationFailed(fields={"helper": "只能登记本人的帮扶"})
    else:
        _office_in_scope(staff, case.community)
        if not regions.contains(helper.region, case.community):
            raise ValidationFailed(fields={"helper": "帮扶人应为负责该社区的工作人员"})
    _require_open(case)
    description = (description or "").strip() or None
    fields: dict[str, str] = {}
    if kind == "money":
        if amount_fen is None or amount_fen <= 0:
            fields["amount"] = "请填写大于 0 的金额"
        else:
            try:
                costs.validate_amount(amount_fen, "amount")
            except ValidationFailed as exc:
                fields.update(exc.fields)
    elif kind == "service":
        if description is None:
            fields["description"] = "请描述提供的服务"
        amount_fen = None
    else:
        fields["kind"] = "帮扶方式应为 money 或 service"
    if helped_on > clock.today():
        fields["helped_on"] = "日期不能晚于今天"
    if fields:
        raise ValidationFailed(fields=fields)
    record = HelpRecord(case_id=case.id, kind=kind, amount_fen=amount_fen,
                        description=description[:4000] if description else None,
                        helped_on=helped_on, helper_id=helper.id, recorded_by_id=staff.id)
    db.session.add(record)
    db.session.flush()
    if kind == "money":
        costs.add_help_cost(record, case.community_id)
    return record


def review(staff: Staff, case: HardshipCase, note: str, next_review_on: date | None = None) -> HardshipReview:
    """Record a periodic review; the next one is due `next_review_on` (default + interval)."""
    _office_in_scope(staff, case.community)
    _require_open(case)
    today = clock.today()
    next_review_on = next_review_on or today + timedelta(days=review_interval())
    fields = {}
    if not (note or "").strip():
        fields["note"] = "请填写复核情况"
    if next_review_on <= today:
        fields["next_review_on"] = "下次复核日期应晚于今天"
    if fields:
        raise ValidationFailed(fields=fields)
    row = HardshipReview(case_id=case.id, reviewed_on=today, note=note.strip()[:4000],
                         next_review_on=next_review_on, staff_id=staff.id)
    db.session.add(row)
    case.review_due_on = next_review_on
    db.session.flush()
    return row


def close(staff: Staff, case: HardshipCase, reason: str, *, audit_action: str = "hardship.close") -> HardshipCase:
    """Close the case with a reason (audited). Caller commits."""
    _office_in_scope(staff, case.community)
    _require_open(case)
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": "请填写结案原因"})
    close_without_checks(case, reason.strip(), staff)
    audit.record(staff, audit_action, subject_type="hardship_case", subject_id=case.id,
                 region_id=case.community_id, detail={"reason": case.close_reason})
    return case


def close_without_checks(case: HardshipCase, reason: str, staff: Staff | None) -> None:
    """Close an open case (used by the death cascade, which has already authorized). Flushes."""
    case.status, case.close_reason = "closed", reason[:200]
    case.closed_at, case.closed_by_id = clock.now(), staff.id if staff else None
    for report in db.session.scalars(select(Report).where(Report.hardship_case_id == case.id,
                                                          Report.status == "received")):
        report.status, report.closed_at = "done", clock.now()
    db.session.flush()


def cases(staff: Staff, *, status: str | None = "open", review_due: bool = False) -> list[HardshipCase]:
    """Cases `staff` may see; with review_due, only open cases whose review date has come."""
    stmt = select(HardshipCase)
    if staff.role == "helper":
        stmt = stmt.where(HardshipCase.id.in_(select(HardshipHelper.case_id).where(
            HardshipHelper.staff_id == staff.id, HardshipHelper.ended_at.is_(None))))
    else:
        stmt = stmt.where(HardshipCase.community_id.in_(regions.region_ids_under(staff.region)))
    if status:
        stmt = stmt.where(HardshipCase.status == status)
    if review_due:
        stmt = stmt.where(HardshipCase.status == "open", HardshipCase.review_due_on <= clock.today())
    return list(db.session.scalars(stmt.order_by(HardshipCase.review_due_on.is_(None).desc(),
                                                 HardshipCase.review_due_on, HardshipCase.id).limit(500)))


def money_total(case: HardshipCase) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(HelpRecord.amount_fen), 0))
                                 .where(HelpRecord.case_id == case.id, HelpRecord.kind == "money")) or 0)
