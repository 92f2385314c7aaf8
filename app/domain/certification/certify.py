"""Recording a certification, and the home-visit certification for those who cannot come.

`record_certification` is the one way a certification enters the system, whatever its source
(the roster desk, a home visit, a result file): it restarts the retiree's cycle, resumes a
suspended pension with back-pay owed, and settles the booking and home visit no longer needed.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.domain import audit, clock
from app.domain.certification import booking, cycle
from app.domain.certification.errors import NotDue
from app.domain.errors import RetireeDeceased, ValidationFailed
from app.extensions import db
from app.models import Account, Retiree, Staff
from app.models.certification import METHODS, CertificationRecord, CertificationState, PensionBackPay
from app.models.tasks import VisitTask


def resume_pension(retiree: Retiree, state: CertificationState, record: CertificationRecord | None) -> None:
    """Resume a suspended pension and record that back-pay is owed for the suspended months."""
    resumed = db.session.execute(update(Retiree).where(Retiree.id == retiree.id,
                                                       Retiree.pension_status == "suspended")
                                 .values(pension_status="normal")).rowcount
    if not resumed:
        return
    today = clock.today()
    suspended_on = state.suspended_on or today
    try:
        with db.session.begin_nested():
            db.session.add(PensionBackPay(retiree_id=retiree.id, suspended_on=suspended_on, resumed_on=today,
                                          certification_record_id=record.id if record else None))
    except IntegrityError:
        pass  # the same suspension already has its back-pay row
    audit.record(None, "certification.pension_resumed", subject_type="retiree", subject_id=retiree.id,
                 region_id=retiree.community_id, detail={"suspended_on": suspended_on.isoformat()})


def record_certification(retiree: Retiree, certified_on: date, method: str, staff: Staff | None = None,
                         source: str | None = None) -> CertificationRecord:
    """Record that `retiree` was certified. Idempotent per retiree + date + method. Caller commits.

    Restarts the clock when this is the latest certification; a suspended pension resumes with
    back-pay owed. Other effects: the retiree's remaining active booking is released (no longer
    needed) and open home-certification tasks are cancelled, except the task named by `source`
    ("visit_task:<id>"), which its own visit-record flow closes.
    """
    if method not in METHODS:
        raise ValidationFailed(fields={"method": "认证方式应为：" + "、".join(METHODS)})
    if certified_on > clock.today():
        raise ValidationFailed(fields={"certified_on": "认证日期不能晚于今天"})
    if retiree.life_status == "deceased" and (retiree.died_on is None or certified_on > retiree.died_on):
        raise RetireeDeceased()
    existing_stmt = select(CertificationRecord).where(
        CertificationRecord.retiree_id == retiree.id, CertificationRecord.certified_on == certified_on,
        CertificationRecord.method == method)
    existing = db.session.scalar(existing_stmt)
    if existing is not None:
        return existing
    state = cycle.locked_state(retiree)
    try:
        with db.session.begin_nested():
            record = CertificationRecord(retiree_id=retiree.id, certified_on=certified_on, method=method,
                                         staff_id=staff.id if staff else None, source=(source or "")[:120] or None)
            db.session.add(record)
    except IntegrityError:  # the same certification recorded concurrently
        return db.session.scalar(existing_stmt)
    if state.last_certified_on is None or certified_on >= state.last_certified_on:
        today = clock.today()
        settings = cycle.settings_for(retiree.community_id)
        previous = state.status
        state.last_certified_on, state.last_method = certified_on, method
        state.due_on = cycle.add_months(certified_on, settings.cycle_months)
        state.status = cycle.status_on(state.due_on, today, settings)
        if state.status != previous:
            state.status_since = today
        if state.status != "suspended":
            resume_pension(retiree, state, record)
            state.suspended_on = None
        if state.status == "ok":
            _settle_open_work(retiree, source)
    db.session.flush()
    return record


def _settle_open_work(retiree: Retiree, source: str | None) -> None:
    """Certified and not due again soon: the booking and the home visit are no longer needed."""
    booking.release_after_certification(retiree, keep_booking_id=_source_id(source, "booking"))
    keep_task = _source_id(source, "visit_task")
    db.session.execute(update(VisitTask).where(
        VisitTask.retiree_id == retiree.id, VisitTask.kind == "home_certification", VisitTask.status == "open",
        VisitTask.id != (keep_task or 0)).values(status="cancelled", closed_at=clock.now()))


def _source_id(source: str | None, prefix: str) -> int | None:
    if source and source.startswith(prefix + ":") and source[len(prefix) + 1:].isdigit():
        return int(source[len(prefix) + 1:])
    return None


def open_home_certification_task(retiree: Retiree) -> VisitTask | None:
    return db.session.scalar(select(VisitTask).where(
        VisitTask.retiree_id == retiree.id, VisitTask.kind == "home_certification", VisitTask.status == "open"))


def create_home_certification_task(retiree: Retiree, *, source_type: str, note: str | None) -> VisitTask:
    """The open home-certification task of the retiree, created once (partial unique index). Flushes."""
    task = open_home_certification_task(retiree)
    if task is not None:
        return task
    due_on = clock.today() + timedelta(days=current_app.config["CERT_HOME_VISIT_DUE_DAYS"])
    try:
        with db.session.begin_nested():
            task = VisitTask(kind="home_certification", retiree_id=retiree.id, community_id=retiree.community_id,
                             status="open", due_on=due_on, source_type=source_type, source_id=retiree.id,
                             note=(note or None))
            db.session.add(task)
    except IntegrityError:
        task = open_home_certification_task(retiree)
    return task


def request_home_certification(account: Account | None, retiree: Retiree, note: str | None) -> VisitTask:
    """A home-visit certification asked for by the retiree or a relative (the reports API).

    The caller has checked the binding. Returns the retiree's open home-certification task when
    there is one (idempotent). 422 `retiree_deceased`; 422 `not_due` when recently certified
    (the clock is `ok`). Caller commits.
    """
    view = cycle.current(retiree)
    if view.status == "ended":
        raise RetireeDeceased()
    if view.status == "ok":
        raise NotDue(opens_on=view.window_opens_on, fields={"window_opens_on": view.window_opens_on.isoformat()})
    requested_by = f"（申请账号 {account.id}）" if account is not None else ""
    return create_home_certification_task(retiree, source_type="certification_request",
                                          note=((note or "").strip() + requested_by).strip()[:2000])
