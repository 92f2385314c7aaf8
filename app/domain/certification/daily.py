"""The daily certification job: the clock run for every retiree on today's date.

Idempotent by construction (statuses move by comparison, pensions by conditional updates,
messages carry idempotency keys), so running it twice a day, or after a crash, is harmless.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select, update

from app.domain import audit, clock
from app.domain.certification import booking
from app.domain.certification.certify import create_home_certification_task, resume_pension
from app.domain.certification.cycle import (
    CLOSED_FOR_CYCLE,
    CycleSettings,
    add_months,
    is_immobile,
    locked_state,
    send_message,
    settings_for,
    status_on,
)
from app.extensions import db
from app.models import Retiree, ServicePoint
from app.models.certification import Booking, CertificationState
from app.models.tasks import VisitTask


@dataclass
class TickSummary:
    checked: int = 0
    ended: int = 0
    transitions: dict[str, int] = field(default_factory=dict)
    home_visit_tasks: int = 0
    reminders: int = 0
    booking_reminders: int = 0


def reminder_stage(days_left: int) -> str:
    """Which due reminder applies: the window opening, 30 days before, 7 days before."""
    if days_left <= 7:
        return "7"
    return "30" if days_left <= 30 else "window"


def daily_tick(batch_size: int = 500) -> TickSummary:
    """Run the clock for every retiree on today's date (clock.today()). Commits after each batch.

    Status transitions (suspending pensions past grace, resuming when settings change), the
    automatic home-visit task for an immobile retiree once overdue (once per cycle), the due
    reminders (window open, 30 and 7 days before; each once, by idempotency key; never to a
    retiree not alive) and the reminders for tomorrow's bookings. Safe to run again the same day.
    """
    today = clock.today()
    summary = TickSummary()
    summary.ended = db.session.execute(
        update(CertificationState).where(
            CertificationState.status != "ended",
            CertificationState.retiree_id.in_(select(Retiree.id).where(Retiree.life_status.in_(CLOSED_FOR_CYCLE))))
        .values(status="ended", status_since=today)).rowcount
    db.session.commit()
    cache: dict[int, CycleSettings] = {}
    last_id = 0
    while True:
        retirees = list(db.session.scalars(
            select(Retiree).where(Retiree.id > last_id, Retiree.life_status.not_in(CLOSED_FOR_CYCLE))
            .order_by(Retiree.id).limit(batch_size)))
        if not retirees:
            break
        last_id = retirees[-1].id
        states = {s.retiree_id: s for s in db.session.scalars(
            select(CertificationState).where(CertificationState.retiree_id.in_([r.id for r in retirees]))
            .with_for_update())}
        for retiree in retirees:
            settings = settings_for(retiree.community_id, cache)
            _tick_one(retiree, states.get(retiree.id) or locked_state(retiree), settings, today, summary)
        db.session.commit()
        summary.checked += len(retirees)
    summary.booking_reminders = booking.send_booking_reminders(today + timedelta(days=1))
    db.session.commit()
    return summary


def _tick_one(retiree: Retiree, state: CertificationState, settings: CycleSettings, today: date,
              summary: TickSummary) -> None:
    state.due_on = add_months(state.last_certified_on or state.baseline_on, settings.cycle_months)
    status = status_on(state.due_on, today, settings)
    if status != state.status:
        state.status, state.status_since = status, today
        summary.transitions[status] = summary.transitions.get(status, 0) + 1
    # `suspended_on` marks a suspension this job made; comparing it (not the stored status, which
    # a certification write may already have moved) keeps the pension in step with the clock.
    if status == "suspended" and state.suspended_on is None:
        state.suspended_on = today
        _suspend_pension(retiree, state)
    elif status != "suspended" and state.suspended_on is not None:  # e.g. a region's cycle lengthened
        resume_pension(retiree, state, None)
        state.suspended_on = None
    if status in ("overdue", "suspended") and is_immobile(retiree, today) and _no_task_this_cycle(retiree, state,
                                                                                                  settings):
        create_home_certification_task(retiree, source_type="certification_overdue",
                                       note=f"逾期未认证（应于 {state.due_on} 前认证），行动不便，请上门认证")
        summary.home_visit_tasks += 1
    days_left = (state.due_on - today).days
    stage = reminder_stage(days_left)
    if (status == "due" and retiree.life_status == "alive"
            and (state.reminded_due_on, state.reminded_stage) != (state.due_on, stage)
            and not _has_active_booking(retiree)):
        state.reminded_due_on, state.reminded_stage = state.due_on, stage
        send_message(retiree, "certification_due",
                     {"name": retiree.name, "due_date": state.due_on, "place": _nearest_point_name(retiree),
                      "note": f"还有{days_left}天到期，可在小程序预约" if days_left else "今天到期，请尽快认证"},
                     f"cert-due:{retiree.id}:{state.due_on.isoformat()}:{stage}", retiree_id=retiree.id)
        summary.reminders += 1


def _nearest_point_name(retiree: Retiree) -> str:
    point = db.session.scalar(select(ServicePoint.name).where(ServicePoint.region_id == retiree.community_id)
                              .order_by(ServicePoint.id).limit(1))
    return point or f"{retiree.community.name}服务站"


def _suspend_pension(retiree: Retiree, state: CertificationState) -> None:
    changed = db.session.execute(update(Retiree).where(Retiree.id == retiree.id, Retiree.pension_status == "normal")
                                 .values(pension_status="suspended")).rowcount
    if changed:
        audit.record(None, "certification.pension_suspended", subject_type="retiree", subject_id=retiree.id,
                     region_id=retiree.community_id, detail={"due_on": state.due_on.isoformat()})


def _no_task_this_cycle(retiree: Retiree, state: CertificationState, settings: CycleSettings) -> bool:
    window_opened = state.due_on - timedelta(days=settings.due_window_days)
    return db.session.scalar(select(VisitTask.id).where(
        VisitTask.retiree_id == retiree.id, VisitTask.kind == "home_certification",
        (VisitTask.status == "open") | (VisitTask.created_at >= clock.start_of_local_day(window_opened)))
        .limit(1)) is None


def _has_active_booking(retiree: Retiree) -> bool:
    return db.session.scalar(select(Booking.id).where(Booking.retiree_id == retiree.id,
                                                      Booking.status == "booked").limit(1)) is not None
