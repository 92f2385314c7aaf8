"""The waitlist of a full slot: join, leave, the held offer of a freed seat, and its expiry."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.domain import clock, inputs
from app.domain.certification import booking, seats
from app.domain.certification.errors import (
    AlreadyBooked,
    AlreadyWaiting,
    BookingNotActive,
    OfferNotActive,
    SlotAvailable,
    WaitlistNotActive,
    WaitlistNotFound,
)
from app.extensions import db
from app.models import Account, Retiree
from app.models.certification import Booking, Slot, WaitlistEntry


def get_waitlist_entry(entry_id: int) -> WaitlistEntry:
    entry = inputs.get(WaitlistEntry, entry_id)
    if entry is None:
        raise WaitlistNotFound()
    return entry


def join_waitlist(account: Account | None, retiree: Retiree, slot_id: int) -> WaitlistEntry:
    """Queue for a full slot. 409 slot_available (book instead), already_booked, already_waiting."""
    slot = seats.get_slot(slot_id)
    booking.check_bookable(retiree, slot)
    if slot.booked < slot.capacity:
        raise SlotAvailable()
    current = booking.active_booking(retiree)
    if current is not None and current.slot_id == slot.id:
        raise AlreadyBooked()
    try:
        with db.session.begin_nested():
            entry = WaitlistEntry(slot_id=slot.id, retiree_id=retiree.id, status="waiting",
                                  account_id=account.id if account else None)
            db.session.add(entry)
    except IntegrityError as exc:
        raise AlreadyWaiting() from exc
    return entry


def waitlist_position(entry: WaitlistEntry) -> int | None:
    """1-based place in line while waiting; None once offered or closed."""
    if entry.status != "waiting":
        return None
    return db.session.scalar(select(db.func.count()).select_from(WaitlistEntry).where(
        WaitlistEntry.slot_id == entry.slot_id, WaitlistEntry.status == "waiting", WaitlistEntry.id <= entry.id))


def live_waitlist(retiree: Retiree) -> list[WaitlistEntry]:
    """The retiree's waiting and offered entries, oldest first."""
    return list(db.session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.retiree_id == retiree.id, WaitlistEntry.status.in_(seats.LIVE_WAITLIST))
        .order_by(WaitlistEntry.id)))


def leave_waitlist(entry: WaitlistEntry) -> WaitlistEntry:
    """Leave the line; leaving with an offer in hand passes the held seat on. Caller commits."""
    if seats.close_entry(entry, "left", from_status="offered"):
        seats.pass_seat_on(entry.slot)
    elif not seats.close_entry(entry, "left", from_status="waiting"):
        raise WaitlistNotActive()
    booking.refresh(entry)
    return entry


def accept_offer(account: Account | None, entry: WaitlistEntry) -> Booking:
    """Take the held seat. An existing booking elsewhere moves here (its seat is passed on).

    409 offer_not_active when the offer expired, was declined or never made. Caller commits.
    """
    retiree = entry.retiree
    slot = entry.slot
    booking.check_bookable(retiree, slot)
    current = booking.active_booking(retiree)
    with db.session.begin_nested():
        claimed = db.session.execute(
            update(WaitlistEntry).where(WaitlistEntry.id == entry.id, WaitlistEntry.status == "offered",
                                        WaitlistEntry.offer_expires_at > clock.now())
            .values(status="accepted", closed_at=clock.now()).execution_options(synchronize_session=False)).rowcount
        if not claimed:
            raise OfferNotActive()
        if current is not None and current.slot_id == slot.id:
            seats.pass_seat_on(slot)  # already holding a seat here: the held one goes to the next
            found = current
        elif current is not None:
            old_slot = current.slot
            moved = db.session.execute(
                update(Booking).where(Booking.id == current.id, Booking.status == "booked")
                .values(slot_id=slot.id).execution_options(synchronize_session=False)).rowcount
            if not moved:
                raise BookingNotActive()
            seats.pass_seat_on(old_slot)
            found = current
        else:
            found = Booking(slot_id=slot.id, retiree_id=retiree.id, status="booked",
                            booked_by_account_id=account.id if account else None)
            db.session.add(found)
            try:
                db.session.flush()
            except IntegrityError as exc:
                raise AlreadyBooked() from exc
        db.session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry.id)
                           .values(booking_id=found.id).execution_options(synchronize_session=False))
    booking.refresh(found, entry, slot)
    booking.confirm(found)
    return found


def expire_offers() -> int:
    """Expire offers past their hold (passing the seat on) and close lines of started slots.

    Also offers seats that are free while people wait (a seat freed while someone was joining).
    Returns the number of offers expired. Flushes; caller commits.
    """
    now = clock.now()
    expired = 0
    for entry in db.session.scalars(select(WaitlistEntry).where(
            WaitlistEntry.status == "offered", WaitlistEntry.offer_expires_at <= now).order_by(WaitlistEntry.id)).all():
        if seats.close_entry(entry, "expired", from_status="offered"):
            expired += 1
            seats.pass_seat_on(entry.slot)
    started = select(Slot.id).where(Slot.starts_at <= now).scalar_subquery()
    db.session.execute(update(WaitlistEntry).where(WaitlistEntry.status == "waiting",
                                                   WaitlistEntry.slot_id.in_(started))
                       .values(status="expired", closed_at=now).execution_options(synchronize_session=False))
    waiting_slots = select(WaitlistEntry.slot_id).where(WaitlistEntry.status == "waiting").distinct()
    for slot in db.session.scalars(select(Slot).where(Slot.id.in_(waiting_slots), Slot.booked < Slot.capacity,
                                                      Slot.starts_at > now)).all():
        while seats.take_seat(slot.id):
            if seats.pass_seat_on(slot) is None:  # nobody left in line: pass_seat_on gave the seat back
                break
    db.session.flush()
    return expired
