"""The CLI and RQ entry points of the daily job, and bookings released by other events."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.domain import clock
from app.domain.certification import booking, certify, waitlist
from app.domain.certification import daily as certification_daily
from app.extensions import db
from app.models import Retiree
from app.models.certification import Booking, CertificationState, Slot, WaitlistEntry
from tests.support.api import account_with_binding
from tests.support.certification import TODAY, at, due_retiree, make_slot, retiree_in

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_certification_tick_command_is_idempotent(runner, tree):
    retiree = retiree_in(tree["community_a"], certified_on=date(2024, 3, 1))
    first = runner.invoke(args=["certification-tick"])
    assert first.exit_code == 0, first.output
    assert "checked 1" in first.output
    assert db.session.get(Retiree, retiree.id).pension_status == "suspended"
    with clock.frozen(at(1)):
        later = runner.invoke(args=["certification-tick"])
    assert "transitions: none" in later.output
    assert db.session.get(CertificationState, retiree.id).suspended_on == TODAY


def test_worker_jobs_run_the_domain(app, tree, point):
    import workers.certification as jobs

    retiree_in(tree["community_a"], certified_on=date(2024, 3, 1))
    with clock.frozen(date(2025, 2, 28)):
        certification_daily.daily_tick()  # still due the day before
    summary = jobs.daily_tick()
    assert summary["checked"] == 1 and summary["transitions"] == {"suspended": 1}
    assert jobs.expire_waitlist_offers() == {"expired": 0}
    assert {p["func"] for p in jobs.PERIODIC} == {"workers.certification.daily_tick",
                                                  "workers.certification.expire_waitlist_offers"}


def test_certification_elsewhere_releases_the_booking_to_the_waitlist(app, tree, point):
    booker, waiter = due_retiree(tree["community_a"]), due_retiree(tree["community_a"])
    account, _ = account_with_binding(waiter)
    slot = make_slot(point, at(3), capacity=1)
    held = booking.book(None, booker, slot.id)
    entry = waitlist.join_waitlist(account, waiter, slot.id)
    db.session.commit()
    certify.record_certification(booker, TODAY, "data_match")  # the 12333 file arrived first
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Booking, held.id).status == "cancelled"
    assert db.session.get(WaitlistEntry, entry.id).status == "offered"
    assert db.session.get(Slot, slot.id).booked == 1


def test_cancel_future_bookings_for_a_verified_death(app, tree, point):
    retiree = due_retiree(tree["community_a"])
    other = due_retiree(tree["community_a"])
    soon = make_slot(point, at(0, hour=10), capacity=2)  # inside the cut-off: still cancelled
    later = make_slot(point, at(5), capacity=1)
    found = booking.book(None, retiree, soon.id)
    booking.book(None, other, later.id)
    entry = waitlist.join_waitlist(None, retiree, later.id)
    db.session.commit()
    assert booking.cancel_future_bookings(retiree) == 1
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Booking, found.id).status == "cancelled"
    assert db.session.get(Slot, soon.id).booked == 0
    assert db.session.get(WaitlistEntry, entry.id).status == "left"


def test_expire_offers_offers_seats_freed_while_someone_waited(app, tree, point):
    r1, r2 = due_retiree(tree["community_a"]), due_retiree(tree["community_a"])
    slot = make_slot(point, at(3), capacity=1)
    held = booking.book(None, r1, slot.id)
    entry = waitlist.join_waitlist(None, r2, slot.id)
    db.session.commit()
    # The seat came free behind the waitlist's back (a staff correction, say).
    db.session.execute(Booking.__table__.update().where(Booking.id == held.id).values(status="cancelled"))
    db.session.execute(Slot.__table__.update().where(Slot.id == slot.id).values(booked=0))
    db.session.commit()
    waitlist.expire_offers()
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, entry.id).status == "offered"
    assert db.session.get(Slot, slot.id).booked == 1
    # Once the slot has begun, anyone still waiting is closed.
    r3 = due_retiree(tree["community_a"])
    late_entry = WaitlistEntry(slot_id=slot.id, retiree_id=r3.id, status="waiting")
    db.session.add(late_entry)
    db.session.commit()
    with clock.frozen(at(3, hour=9, minute=1)):
        waitlist.expire_offers()
        db.session.commit()
    assert db.session.get(WaitlistEntry, late_entry.id).status == "expired"
    assert db.session.scalar(select(CertificationState.status).where(
        CertificationState.retiree_id == r3.id)) == "due"
    assert TODAY + timedelta(days=3) == at(3).date()
