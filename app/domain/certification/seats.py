"""A slot's seats: taking one, giving one back, and passing a freed one to the first in line.

`slot.booked` counts seats taken by bookings *and* seats held for a waitlist offer: a freed
seat passes straight to the first in line (still counted), so nobody can grab it while the
offer runs, and an expired or declined offer passes it on or finally releases it. Bookings
(`booking`) and the waitlist (`waitlist`) both stand on these primitives.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from app.domain import clock, inputs
from app.domain.certification import cycle
from app.domain.certification.errors import SlotNotFound
from app.extensions import db
from app.models import Account
from app.models.certification import Slot, WaitlistEntry

LIVE_WAITLIST = ("waiting", "offered")
SERVICE_LABEL = "养老金领取资格认证"


def get_slot(slot_id: int) -> Slot:
    slot = inputs.get(Slot, slot_id)
    if slot is None:
        raise SlotNotFound()
    return slot


def take_seat(slot_id: int) -> bool:
    """Take one seat if one is free. The WHERE clause is the whole overbooking guard."""
    result = db.session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1).execution_options(synchronize_session=False))
    return result.rowcount == 1


def release_seat(slot_id: int) -> None:
    db.session.execute(update(Slot).where(Slot.id == slot_id, Slot.booked > 0)
                       .values(booked=Slot.booked - 1).execution_options(synchronize_session=False))


def place(slot: Slot) -> str:
    point = slot.service_point
    return f"{point.name}（{point.address}）" if point.address else point.name


def offer_hold() -> timedelta:
    return timedelta(minutes=current_app.config["WAITLIST_OFFER_HOLD_MINUTES"])


def pass_seat_on(slot: Slot) -> WaitlistEntry | None:
    """A taken seat of `slot` was given up: offer it to the first in line, or release it.

    The seat stays counted in `slot.booked` while it is offered. Each claim is a conditional
    UPDATE, so two releases never offer the same entry. Flushes; caller commits.
    """
    now = clock.now()
    if slot.starts_at > now:
        expires = min(now + offer_hold(), slot.starts_at)
        while True:
            entry = db.session.scalar(select(WaitlistEntry).where(
                WaitlistEntry.slot_id == slot.id, WaitlistEntry.status == "waiting").order_by(WaitlistEntry.id)
                .limit(1))
            if entry is None:
                break
            if entry.retiree.life_status != "alive":
                close_entry(entry, "left", from_status="waiting")
                continue
            claimed = db.session.execute(
                update(WaitlistEntry).where(WaitlistEntry.id == entry.id, WaitlistEntry.status == "waiting")
                .values(status="offered", offered_at=now, offer_expires_at=expires)
                .execution_options(synchronize_session=False)).rowcount
            if claimed:
                db.session.expire(entry)
                _offer_message(entry, expires)
                return entry
    release_seat(slot.id)
    return None


def _offer_message(entry: WaitlistEntry, expires) -> None:
    slot = entry.slot
    recipient = db.session.get(Account, entry.account_id) if entry.account_id else entry.retiree
    cycle.send_message(
        recipient, "waitlist_offer",
        {"service": SERVICE_LABEL, "time": slot.starts_at, "place": place(slot), "deadline": expires},
        f"waitlist-offer:{entry.id}", retiree_id=entry.retiree_id)


def close_entry(entry: WaitlistEntry, status: str, *, from_status: str) -> bool:
    return db.session.execute(
        update(WaitlistEntry).where(WaitlistEntry.id == entry.id, WaitlistEntry.status == from_status)
        .values(status=status, closed_at=clock.now()).execution_options(synchronize_session=False)).rowcount == 1
