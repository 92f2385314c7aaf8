"""The certification clock across dates (frozen clock), pensions, home visits and reminders."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.domain import clock
from app.domain.certification import certify
from app.domain.certification import cycle as certification
from app.domain.certification import daily as certification_daily
from app.domain.errors import Unprocessable, ValidationFailed
from app.extensions import db
from app.models import AuditEntry, Retiree
from app.models.certification import CertificationRecord, CertificationState, PensionBackPay
from app.models.messaging import Notification
from app.models.tasks import VisitTask
from tests.support.api import account_with_binding
from tests.support.certification import TODAY, at, make_slot, retiree_in
from tests.support.factories import make_retiree

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _state(retiree) -> CertificationState:
    db.session.expire_all()
    return db.session.get(CertificationState, retiree.id)


def _tick_on(day: date) -> certification_daily.TickSummary:
    with clock.frozen(day):
        return certification_daily.daily_tick()


def test_status_boundaries():
    s = certification.CycleSettings(12, 60, 0)
    due = date(2025, 3, 20)
    assert certification.status_on(due, date(2025, 1, 18), s) == "ok"
    assert certification.status_on(due, date(2025, 1, 19), s) == "due"
    assert certification.status_on(due, due, s) == "due"
    assert certification.status_on(due, date(2025, 3, 21), s) == "suspended"
    graced = certification.CycleSettings(12, 60, 10)
    assert certification.status_on(due, date(2025, 3, 30), graced) == "overdue"
    assert certification.status_on(due, date(2025, 3, 31), graced) == "suspended"
    assert certification.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert certification.add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)


def test_clock_transitions_suspend_and_resume_with_back_pay(tree):
    retiree = retiree_in(tree["community_a"], certified_on=date(2024, 3, 20))
    assert _state(retiree).due_on == date(2025, 3, 20)
    _tick_on(date(2025, 1, 10))
    assert _state(retiree).status == "ok"
    _tick_on(date(2025, 1, 19))
    assert _state(retiree).status == "due"
    _tick_on(date(2025, 3, 20))
    assert _state(retiree).status == "due"
    summary = _tick_on(date(2025, 3, 21))
    assert summary.transitions == {"suspended": 1}
    state = _state(retiree)
    assert (state.status, state.suspended_on) == ("suspended", date(2025, 3, 21))
    assert db.session.get(Retiree, retiree.id).pension_status == "suspended"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "certification.pension_suspended")) == 1
    _tick_on(date(2025, 3, 22))  # idempotent: no second suspension entry
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "certification.pension_suspended")) == 1

    with clock.frozen(date(2025, 3, 25)):
        certify.record_certification(retiree, date(2025, 3, 25), "on_site")
        db.session.commit()
    state = _state(retiree)
    assert (state.status, state.due_on, state.last_method) == ("ok", date(2026, 3, 25), "on_site")
    assert db.session.get(Retiree, retiree.id).pension_status == "normal"
    owed = db.session.scalars(select(PensionBackPay)).all()
    assert [(b.suspended_on, b.resumed_on, b.settled_at) for b in owed] == [
        (date(2025, 3, 21), date(2025, 3, 25), None)]


def test_grace_and_cycle_inherited_from_the_street(tree):
    certification.set_region_settings(tree["street_a"], cycle_months=6, due_window_days=30, grace_days=10)
    db.session.commit()
    here = retiree_in(tree["community_a"], certified_on=date(2024, 9, 20))  # due 2025-03-20 with 6 months
    elsewhere = retiree_in(tree["community_b"], certified_on=date(2024, 9, 20))  # default: due 2025-09-20
    _tick_on(date(2025, 3, 25))
    assert (_state(here).status, _state(here).due_on) == ("overdue", date(2025, 3, 20))
    assert (_state(elsewhere).status, _state(elsewhere).due_on) == ("ok", date(2025, 9, 20))
    _tick_on(date(2025, 3, 31))
    assert _state(here).status == "suspended"
    # A closer setting wins over the street's.
    certification.set_region_settings(tree["community_a"], cycle_months=12, due_window_days=60, grace_days=0)
    db.session.commit()
    _tick_on(date(2025, 4, 1))
    assert (_state(here).status, _state(here).due_on) == ("ok", date(2025, 9, 20))
    assert db.session.get(Retiree, here.id).pension_status == "normal"  # resumed, back-pay recorded
    assert db.session.scalar(select(func.count()).select_from(PensionBackPay)) == 1
    with pytest.raises(ValidationFailed):
        certification.set_region_settings(tree["street_a"], cycle_months=0, due_window_days=30, grace_days=0)


def test_never_certified_counts_from_retirement_or_archiving(tree):
    recent = make_retiree(tree["community_a"])
    recent.retirement_date = date(2024, 6, 1)
    recent.created_at = datetime(2020, 1, 1, tzinfo=UTC)
    imported = make_retiree(tree["community_a"])
    imported.retirement_date = date(2010, 6, 1)
    imported.created_at = datetime(2025, 2, 1, 12, tzinfo=UTC)
    db.session.commit()
    assert certification.current(recent).due_on == date(2025, 6, 1)
    assert certification.current(imported).due_on == date(2026, 2, 1)
    certification_daily.daily_tick()
    assert _state(recent).baseline_on == date(2024, 6, 1) and _state(recent).status == "ok"
    assert _state(imported).status == "ok"


def test_deceased_leave_the_cycle(tree):
    retiree = retiree_in(tree["community_a"], certified_on=date(2024, 1, 5))
    _, _ = account_with_binding(retiree)
    retiree.life_status, retiree.died_on = "deceased", date(2025, 2, 1)
    db.session.commit()
    certification_daily.daily_tick()
    assert _state(retiree).status == "ended"
    assert certification.current(retiree).status == "ended"
    assert db.session.get(Retiree, retiree.id).pension_status == "normal"  # never suspended by us
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
    with pytest.raises(Unprocessable):
        certify.record_certification(retiree, date(2025, 3, 1), "data_match")
    # A certification from before the death is history and may still be recorded.
    certify.record_certification(retiree, date(2025, 1, 20), "data_match")


def test_record_certification_is_idempotent(tree):
    retiree = retiree_in(tree["community_a"])
    first = certify.record_certification(retiree, TODAY, "self_service_face")
    again = certify.record_certification(retiree, TODAY, "self_service_face")
    db.session.commit()
    assert first.id == again.id
    assert db.session.scalar(select(func.count()).select_from(CertificationRecord)) == 1
    older = certify.record_certification(retiree, TODAY - timedelta(days=30), "on_site")
    db.session.commit()
    assert older.id != first.id
    assert (_state(retiree).last_certified_on, _state(retiree).last_method) == (TODAY, "self_service_face")
    with pytest.raises(ValidationFailed):
        certify.record_certification(retiree, TODAY + timedelta(days=1), "on_site")
    with pytest.raises(ValidationFailed):
        certify.record_certification(retiree, TODAY, "telepathy")


def test_overdue_immobile_get_one_home_visit_task_per_cycle(tree):
    immobile = retiree_in(tree["community_a"], certified_on=date(2024, 3, 1), mobility_limited=True)
    aged = retiree_in(tree["community_a"], certified_on=date(2024, 3, 1), birth=date(1940, 1, 1))
    lonely = retiree_in(tree["community_a"], certified_on=date(2024, 3, 1), categories=["lonely"])
    mobile = retiree_in(tree["community_a"], certified_on=date(2024, 3, 1), birth=date(1960, 1, 1))
    summary = certification_daily.daily_tick()  # TODAY is past 2025-03-01: all four suspended
    assert summary.home_visit_tasks == 3
    certification_daily.daily_tick()
    tasks = db.session.scalars(select(VisitTask).order_by(VisitTask.retiree_id)).all()
    assert [t.retiree_id for t in tasks] == [immobile.id, aged.id, lonely.id]
    assert all(t.kind == "home_certification" and t.source_type == "certification_overdue" for t in tasks)
    assert tasks[0].due_on == TODAY + timedelta(days=7)
    assert mobile.id not in {t.retiree_id for t in tasks}
    # Done without a certification (nobody home): the daily job does not recreate it this cycle.
    tasks[0].status = "done"
    db.session.commit()
    certification_daily.daily_tick()
    assert db.session.scalar(select(func.count()).select_from(VisitTask)) == 3
    # Certified on the visit: the task named as source stays for its own flow; others are cancelled.
    certify.record_certification(aged, TODAY, "home_visit", source=f"visit_task:{tasks[1].id}")
    certify.record_certification(lonely, TODAY, "data_match")
    db.session.commit()
    db.session.expire_all()
    assert [db.session.get(VisitTask, t.id).status for t in tasks] == ["done", "open", "cancelled"]


def test_request_home_certification(tree):
    immobile = retiree_in(tree["community_a"], certified_on=TODAY - timedelta(days=340), mobility_limited=True)
    account, _ = account_with_binding(immobile, relation="child")
    task = certify.request_home_certification(account, immobile, "腿脚不便，请上门")
    again = certify.request_home_certification(account, immobile, "再次申请")
    db.session.commit()
    assert task.id == again.id and task.kind == "home_certification" and task.status == "open"
    assert (task.source_type, task.source_id) == ("certification_request", immobile.id)
    assert task.due_on == TODAY + timedelta(days=7) and "腿脚不便" in task.note
    fresh = retiree_in(tree["community_a"], certified_on=TODAY - timedelta(days=10))
    with pytest.raises(Unprocessable) as caught:
        certify.request_home_certification(account, fresh, None)
    assert caught.value.code == "not_due"


def _due_notes(retiree):
    return sorted(db.session.scalars(select(Notification.idempotency_key).where(
        Notification.template_key == "certification_due", Notification.retiree_id == retiree.id)))


def test_due_reminders_each_exactly_once(tree):
    retiree = retiree_in(tree["community_a"], certified_on=date(2024, 5, 9))  # due 2025-05-09
    account, _ = account_with_binding(retiree)
    silent = retiree_in(tree["community_a"], certified_on=date(2024, 5, 9))
    _, _ = account_with_binding(silent)
    silent.life_status = "death_reported"
    db.session.commit()
    key = f"cert-due:{retiree.id}:2025-05-09"
    _tick_on(date(2025, 3, 9))  # 61 days before: window not open
    assert _due_notes(retiree) == []
    _tick_on(date(2025, 3, 10))
    _tick_on(date(2025, 3, 10))  # the job run twice on a day
    _tick_on(date(2025, 3, 11))
    assert _due_notes(retiree) == [f"{key}:window"]
    _tick_on(date(2025, 4, 9))
    _tick_on(date(2025, 4, 9))
    _tick_on(date(2025, 5, 2))
    _tick_on(date(2025, 5, 2))
    _tick_on(date(2025, 5, 9))
    assert _due_notes(retiree) == [f"{key}:30", f"{key}:7", f"{key}:window"]
    note = db.session.scalar(select(Notification).where(Notification.idempotency_key == f"{key}:7"))
    assert note.account_id == account.id and f"retiree_id={retiree.id}" in note.link
    assert _due_notes(silent) == []


def test_day_before_booking_reminder_once(tree, point):
    from app.domain.certification import booking

    retiree = retiree_in(tree["community_a"], certified_on=TODAY - timedelta(days=335))
    account, _ = account_with_binding(retiree)
    slot = make_slot(point, at(1, hour=10))
    booking.book(account, retiree, slot.id)
    db.session.commit()
    certification_daily.daily_tick()
    certification_daily.daily_tick()
    keys = db.session.scalars(select(Notification.idempotency_key).where(
        Notification.template_key == "booking_reminder")).all()
    assert len(keys) == 1 and keys[0].startswith("booking-reminder:")
    # No "please certify" reminder while a booking is in hand.
    assert _due_notes(retiree) == []
