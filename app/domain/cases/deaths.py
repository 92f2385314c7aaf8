"""Death verification (上门吊唁抚慰 starts here): staff verify or reject a reported death.

A death report alone changes nothing irreversible (the retiree is only `death_reported`).
Verification is the one place where a death takes effect, and it happens in ONE transaction
(a savepoint, so even a caller that catches the error keeps nothing half-done): the retiree
is deceased, the pension flagged stopped for the agency, future bookings cancelled, open
tasks cancelled except the condolence visit that is created here, an open hardship case
closed, the bound relatives sent a condolence message (messaging skips the deceased for
everything else: reminders and campaigns stop by themselves), and an audit entry written.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from app.domain import audit, clock
from app.domain.cases import hardship, visits
from app.domain.cases.errors import (
    AcknowledgeForbidden,
    AlreadyDecided,
    AlreadyVerified,
    PensionStopNotFound,
    ReportNotFound,
    StopListForbidden,
    VerifyForbidden,
)
from app.domain.certification import booking
from app.domain.errors import OutOfScope, ValidationFailed
from app.domain.events import activities
from app.domain.messaging import outbox
from app.domain.org import regions
from app.extensions import db
from app.models import Retiree, Staff
from app.models.cases import REPORT_STATUS_LABELS, REPORT_TYPE_LABELS, PensionStop, Report
from app.models.tasks import VisitTask

VERIFIER_ROLES = ("community_worker", "street_admin")
STOP_LIST_ROLES = ("community_worker", "street_admin", "agency_admin")


@dataclass(frozen=True)
class Verification:
    retiree: Retiree
    condolence_task: VisitTask
    reports: list[Report]
    bookings_cancelled: int
    tasks_cancelled: int


def pending(staff: Staff) -> list[Report]:
    """Death reports awaiting a decision, for retirees in the staff member's subtree, oldest first."""
    return list(db.session.scalars(
        select(Report).join(Retiree, Retiree.id == Report.retiree_id)
        .where(Report.type == "death", Report.status == "received",
               Retiree.community_id.in_(regions.region_ids_under(staff.region)))
        .order_by(Report.created_at, Report.id).limit(500)))


def recent_decisions(staff: Staff, limit: int = 50) -> list[Report]:
    return list(db.session.scalars(
        select(Report).join(Retiree, Retiree.id == Report.retiree_id)
        .where(Report.type == "death", Report.status.in_(("verified", "rejected", "done")),
               Retiree.community_id.in_(regions.region_ids_under(staff.region)))
        .order_by(Report.decided_at.desc(), Report.id.desc()).limit(limit)))


def report_for(staff: Staff, report_id: int) -> Report:
    """A death report the staff member may decide: 404 when missing, 403 out of scope or role."""
    report = db.session.get(Report, report_id)
    if report is None or report.type != "death":
        raise ReportNotFound()
    if staff.role not in VERIFIER_ROLES:
        raise VerifyForbidden()
    if not regions.contains(staff.region, report.retiree.community):
        raise OutOfScope()
    return report


def _ensure_undecided(report: Report, retiree: Retiree) -> None:
    if report.status != "received":
        raise AlreadyDecided()
    if retiree.life_status == "deceased":
        raise AlreadyVerified()


def _locked_retiree(retiree_id: int) -> Retiree:
    # Row lock on PostgreSQL (two verifiers wait for each other); SQLite writers are serialized.
    return db.session.scalar(select(Retiree).where(Retiree.id == retiree_id).with_for_update()
                             .execution_options(populate_existing=True))


def _pending_reports(retiree: Retiree) -> list[Report]:
    return list(db.session.scalars(select(Report).where(
        Report.retiree_id == retiree.id, Report.type == "death", Report.status == "received")
        .with_for_update().execution_options(populate_existing=True)))


def verify(staff: Staff, report: Report, *, died_on: date | None = None, note: str | None = None) -> Verification:
    """Verify a reported death and apply every consequence atomically (see module docstring).

    409 `already_decided` / `already_verified` the second time. Caller commits.
    """
    report_for(staff, report.id)
    died_on = died_on or report.died_on
    with db.session.begin_nested():
        retiree = _locked_retiree(report.retiree_id)
        db.session.refresh(report)
        _ensure_undecided(report, retiree)
        if died_on > clock.today() or died_on < retiree.birth_date:
            raise ValidationFailed(fields={"died_on": "去世日期应在出生日期与今天之间"})
        now = clock.now()
        retiree.life_status, retiree.died_on, retiree.pension_status = "deceased", died_on, "stopped"
        db.session.add(PensionStop(retiree_id=retiree.id, community_id=retiree.community_id, report_id=report.id,
                                   stopped_since=died_on, reason="death", flagged_by_id=staff.id))
        db.session.flush()
        bookings_cancelled = booking.cancel_future_bookings(retiree)
        # Seats at future activities go to the next in line, not to an empty chair.
        activities.cancel_future_registrations(retiree)
        days = current_app.config["CONDOLENCE_VISIT_DUE_DAYS"]
        condolence = visits.create_task("condolence_visit", retiree, clock.today() + timedelta(days=days),
                                        source_type="report", source_id=report.id,
                                        note=f"{died_on:%Y-%m-%d} 去世，吊唁抚慰家属")
        cancelled_ids = list(db.session.scalars(select(VisitTask.id).where(
            VisitTask.retiree_id == retiree.id, VisitTask.status == "open", VisitTask.id != condolence.id)))
        tasks_cancelled = visits.cancel_open_tasks(retiree, keep_task_id=condolence.id)
        _cancel_reports_of(cancelled_ids, now)
        case = hardship.open_case_for(retiree)
        if case is not None:
            hardship.close_without_checks(case, "退休人员已故", staff)
        reports = _pending_reports(retiree)
        for item in reports:
            item.status, item.decided_by_id, item.decided_at = "verified", staff.id, now
            item.decision_note, item.visit_task_id = (note or "").strip()[:2000] or None, condolence.id
        outbox.notify(retiree, "condolence",
                         {"name": retiree.name, "message": "沉痛哀悼，社区将上门吊唁慰问家属",
                          "contact": staff.display_name or retiree.community.name,
                          "visit_date": condolence.due_on},
                         f"condolence:{retiree.id}")
        audit.record(staff, "death.verify", subject_type="retiree", subject_id=retiree.id,
                     region_id=retiree.community_id,
                     detail={"report_ids": [r.id for r in reports], "died_on": died_on.isoformat(),
                             "bookings_cancelled": bookings_cancelled, "tasks_cancelled": tasks_cancelled,
                             "condolence_task_id": condolence.id})
        db.session.flush()
    return Verification(retiree, condolence, reports, bookings_cancelled, tasks_cancelled)


def _cancel_reports_of(task_ids: list[int], now) -> None:
    """Reports waiting on tasks that no longer happen (a hospital visit) are cancelled."""
    if not task_ids:
        return
    for item in db.session.scalars(select(Report).where(Report.visit_task_id.in_(task_ids),
                                                        Report.status.in_(("received", "verified")))):
        item.status, item.closed_at = "cancelled", now


def reject(staff: Staff, report: Report, reason: str) -> list[Report]:
    """The death is not confirmed: the retiree is alive again, reporters told, audited. Caller commits.

    Rejects every pending death report of the retiree (one decision about one person).
    """
    report_for(staff, report.id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": "请填写驳回原因"})
    with db.session.begin_nested():
        retiree = _locked_retiree(report.retiree_id)
        db.session.refresh(report)
        _ensure_undecided(report, retiree)
        now = clock.now()
        reports = _pending_reports(retiree)
        for item in reports:
            item.status, item.decided_by_id, item.decided_at = "rejected", staff.id, now
            item.decision_note, item.closed_at = reason[:2000], now
        if retiree.life_status == "death_reported":
            retiree.life_status = "alive"
        for item in reports:
            if item.account is not None:
                outbox.notify(item.account, "report_received",
                                 {"kind": REPORT_TYPE_LABELS["death"], "name": retiree.name,
                                  "received_at": item.created_at, "status": REPORT_STATUS_LABELS["rejected"],
                                  "note": reason},
                                 f"report_rejected:{item.id}", link=f"/reports/{item.id}")
        audit.record(staff, "death.reject", subject_type="retiree", subject_id=retiree.id,
                     region_id=retiree.community_id, detail={"report_ids": [r.id for r in reports], "reason": reason})
        db.session.flush()
    return reports


def pension_stops(staff: Staff, *, unacknowledged_only: bool = False) -> list[PensionStop]:
    """The stopped-pension list (停发名单) for the agency: who, since when, in scope."""
    if staff.role not in STOP_LIST_ROLES:
        raise StopListForbidden()
    stmt = select(PensionStop).where(PensionStop.community_id.in_(regions.region_ids_under(staff.region)))
    if unacknowledged_only:
        stmt = stmt.where(PensionStop.acknowledged_at.is_(None))
    rows = list(db.session.scalars(stmt.order_by(PensionStop.stopped_since.desc(), PensionStop.id).limit(1000)))
    audit.record(staff, "pension_stop_list.view", detail={"rows": len(rows)})
    return rows


def acknowledge_stop(staff: Staff, stop_id: int) -> PensionStop:
    """The agency confirms it stopped the payment. Agency admins in scope; idempotent; audited."""
    stop = db.session.get(PensionStop, stop_id)
    if stop is None:
        raise PensionStopNotFound()
    if staff.role != "agency_admin" or not regions.contains(staff.region, stop.community):
        raise AcknowledgeForbidden()
    if stop.acknowledged_at is None:
        stop.acknowledged_at, stop.acknowledged_by_id = clock.now(), staff.id
        audit.record(staff, "pension_stop.acknowledge", subject_type="retiree", subject_id=stop.retiree_id,
                     region_id=stop.community_id)
        db.session.flush()
    return stop
