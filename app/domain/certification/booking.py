"""Certification bookings: book, cancel, reschedule (the waitlist is `waitlist`, seats `seats`).

Zero overbooking is the database's job, not Python's: a seat is taken only by
`UPDATE slot SET booked = booked + 1 WHERE id = :id AND booked < capacity` (0 rows → full),
in the same transaction as the booking row; `CHECK (booked <= capacity)` backs it up, and a
partial unique index allows one active booking per retiree. On PostgreSQL the UPDATE's row
lock serializes the bookers of one slot only for the instant before commit; on SQLite every
write transaction starts with BEGIN IMMEDIATE (app/__init__.py). A check-then-insert in
Python overbooks under concurrency; never add one as the deciding check.

`slot.booked` counts seats taken by bookings *and* seats held for a waitlist offer (see `seats`).
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.domain import clock, inputs
from app.domain.certification import cycle, seats
from app.domain.certification.errors import (
    AlreadyBooked,
    BookingNotActive,
    BookingNotFound,
    CutoffPassed,
    NotDue,
    SlotFull,
    SlotPast,
)
from app.domain.errors import RetireeDeceased
from app.extensions import db
from app.models import Account, Retiree
from app.models.certification import Booking, Slot, WaitlistEntry


def get_booking(booking_id: int) -> Booking:
    found = inputs.get(Booking, booking_id)
    if found is None:
        raise BookingNotFound()
    return found


def active_booking(retiree: Retiree) -> Booking | None:
    """The retiree's one booking with status `booked`, if any."""
    return db.session.scalar(select(Booking).where(Booking.retiree_id == retiree.id, Booking.status == "booked"))


def _cutoff() -> timedelta:
    return timedelta(minutes=current_app.config["BOOKING_CANCEL_CUTOFF_MINUTES"])


def check_bookable(retiree: Retiree, slot: Slot) -> None:
    """422 unless the retiree may certify in this slot: alive, slot ahead, inside the due window.

    A slot on or after the day the window opens counts even if today is still before it.
    """
    _ensure_ahead(slot)
    if retiree.life_status == "deceased":
        raise RetireeDeceased()
    view = cycle.current(retiree)
    slot_day = slot.starts_at.astimezone(clock.SERVICE_ZONE).date()
    if view.status == "ok" and view.window_opens_on is not None and slot_day < view.window_opens_on:
        raise NotDue(opens_on=view.window_opens_on, fields={"window_opens_on": view.window_opens_on.isoformat()})


def _ensure_ahead(slot: Slot) -> None:
    if slot.starts_at <= clock.now():
        raise SlotPast()


def refresh(*objects) -> None:
    for obj in objects:
        db.session.expire(obj)


def confirm(found: Booking) -> None:
    slot = found.slot
    cycle.send_message(
        found.retiree, "booking_confirmed",
        {"name": found.retiree.name, "service": seats.SERVICE_LABEL, "time": slot.starts_at,
         "place": seats.place(slot), "booking_no": f"CERT{found.id:08d}"},
        f"booking-confirmed:{found.id}:{slot.id}", retiree_id=found.retiree_id)


def book(account: Account | None, retiree: Retiree, slot_id: int) -> Booking:
    """Book a seat for `retiree` (the caller has checked the binding). Caller commits.

    In this order: 404 slot_not_found, 422 slot_past, 409 slot_full, 422 retiree_deceased /
    not_due, 409 already_booked. Writes the `booking_confirmed` message in the same transaction.
    """
    slot = seats.get_slot(slot_id)
    _ensure_ahead(slot)
    # A cheap early answer before the clock is read (a hot slot turns most attempts away here);
    # the conditional UPDATE below is what decides.
    if slot.booked >= slot.capacity:
        raise SlotFull()
    check_bookable(retiree, slot)
    if active_booking(retiree) is not None:
        raise AlreadyBooked()
    try:
        with db.session.begin_nested():
            found = Booking(slot_id=slot.id, retiree_id=retiree.id, status="booked",
                            booked_by_account_id=account.id if account else None)
            db.session.add(found)
            db.session.flush()
            confirm(found)  # rolled back with the savepoint if the seat is gone
            # Last: the slot row stays locked (PostgreSQL) from this UPDATE to the commit, and every
            # other booker of the slot waits on it, so nothing may follow it but the commit.
            if not seats.take_seat(slot.id):
                raise SlotFull()
    except IntegrityError as exc:  # the partial unique index: a concurrent booking won
        raise AlreadyBooked() from exc
    refresh(slot)
    return found


def _ensure_changeable(found: Booking) -> None:
    if found.status != "booked":
        raise BookingNotActive()
    if clock.now() > found.slot.starts_at - _cutoff():
        minutes = int(_cutoff().total_seconds() // 60)
        raise CutoffPassed(minutes=minutes)


def _mark_cancelled(found: Booking) -> None:
    moved = db.session.execute(update(Booking).where(Booking.id == found.id, Booking.status == "booked")
                               .values(status="cancelled", cancelled_at=clock.now())
                               .execution_options(synchronize_session=False)).rowcount
    if not moved:
        raise BookingNotActive()


def cancel(found: Booking) -> Booking:
    """Cancel a booking before the cut-off; the seat goes to the waitlist or back. Caller commits."""
    _ensure_changeable(found)
    _mark_cancelled(found)
    seats.pass_seat_on(found.slot)
    refresh(found)
    return found


def reschedule(found: Booking, new_slot_id: int) -> Booking:
    """Move a booking to another slot atomically: take the new seat first, then free the old one.

    If the new slot is full (409 slot_full) the booking keeps its old seat. Caller commits.
    """
    _ensure_changeable(found)
    new_slot = seats.get_slot(new_slot_id)
    old_slot = found.slot
    if new_slot.id == old_slot.id:
        return found
    check_bookable(found.retiree, new_slot)
    if new_slot.booked >= new_slot.capacity:
        raise SlotFull()
    with db.session.begin_nested():
        if not seats.take_seat(new_slot.id):
            raise SlotFull()
        moved = db.session.execute(
            update(Booking).where(Booking.id == found.id, Booking.status == "booked", Booking.slot_id == old_slot.id)
            .values(slot_id=new_slot.id).execution_options(synchronize_session=False)).rowcount
        if not moved:
            raise BookingNotActive()
        seats.pass_seat_on(old_slot)
    refresh(found, new_slot, old_slot)
    confirm(found)
    return found


# ---- effects of other events -----------------------------------------------------------------

def release_after_certification(retiree: Retiree, keep_booking_id: int | None = None) -> int:
    """The retiree was certified: cancel the active booking (unless it is the one attended) and
    leave every waitlist. Returns bookings cancelled. Flushes; caller commits."""
    return _withdraw(retiree, keep_booking_id=keep_booking_id)


def cancel_future_bookings(retiree: Retiree) -> int:
    """For a verified death: cancel active bookings (no cut-off) and leave every waitlist, passing
    the seats on. Returns bookings cancelled. Flushes; caller commits (same transaction)."""
    return _withdraw(retiree)


def _withdraw(retiree: Retiree, keep_booking_id: int | None = None) -> int:
    cancelled = 0
    for found in db.session.scalars(select(Booking).where(Booking.retiree_id == retiree.id,
                                                          Booking.status == "booked")).all():
        if found.id == keep_booking_id:
            continue
        _mark_cancelled(found)
        seats.pass_seat_on(found.slot)
        cancelled += 1
    for entry in db.session.scalars(select(WaitlistEntry).where(WaitlistEntry.retiree_id == retiree.id,
                                                                WaitlistEntry.status.in_(seats.LIVE_WAITLIST))).all():
        if seats.close_entry(entry, "left", from_status="offered"):
            seats.pass_seat_on(entry.slot)
        else:
            seats.close_entry(entry, "left", from_status="waiting")
    db.session.flush()
    return cancelled


def send_booking_reminders(day: date) -> int:
    """The day-before reminder for every active booking on `day` (once per booking and slot)."""
    start, end = clock.start_of_local_day(day), clock.start_of_local_day(day + timedelta(days=1))
    sent = 0
    for found in db.session.scalars(select(Booking).join(Slot, Slot.id == Booking.slot_id).where(
            Booking.status == "booked", Slot.starts_at >= start, Slot.starts_at < end)).all():
        if found.retiree.life_status != "alive":
            continue
        slot = found.slot
        cycle.send_message(
            found.retiree, "booking_reminder",
            {"service": seats.SERVICE_LABEL, "time": slot.starts_at, "place": seats.place(slot),
             "note": "请携带身份证，按时到场认证"},
            f"booking-reminder:{found.id}:{slot.id}", retiree_id=found.retiree_id)
        sent += 1
    db.session.flush()
    return sent
