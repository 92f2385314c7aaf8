"""Certification bookings: book, cancel, reschedule, and the waitlist for full slots.

Zero overbooking is the database's job, not Python's: a seat is taken only by
`UPDATE slot SET booked = booked + 1 WHERE id = :id AND booked < capacity` (0 rows → full),
in the same transaction as the booking row; `CHECK (booked <= capacity)` backs it up, and a
partial unique index allows one active booking per retiree. On PostgreSQL the UPDATE's row
lock serializes the bookers of one slot only for the instant before commit; on SQLite every
write transaction starts with BEGIN IMMEDIATE (app/__init__.py). A check-then-insert in
Python overbooks under concurrency; never add one as the deciding check.

`slot.booked` counts seats taken by bookings *and* seats held for a waitlist offer: a freed
seat passes straight to the first in line (still counted), so nobody can grab it while the
offer runs, and an expired or declined offer passes it on or finally releases it.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.domain import clock
from app.domain.certification import cycle
from app.domain.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.models import Account, Retiree
from app.models.certification import Booking, Slot, WaitlistEntry

LIVE_WAITLIST = ("waiting", "offered")
SERVICE_LABEL = "养老金领取资格认证"


def get_slot(slot_id: int) -> Slot:
    slot = db.session.get(Slot, slot_id) if isinstance(slot_id, int) else None
    if slot is None:
        raise NotFound("未找到该时段", code="slot_not_found")
    return slot


def get_booking(booking_id: int) -> Booking:
    found = db.session.get(Booking, booking_id) if isinstance(booking_id, int) else None
    if found is None:
        raise NotFound("未找到该预约", code="booking_not_found")
    return found


def get_waitlist_entry(entry_id: int) -> WaitlistEntry:
    entry = db.session.get(WaitlistEntry, entry_id) if isinstance(entry_id, int) else None
    if entry is None:
        raise NotFound("未找到该候补记录", code="waitlist_not_found")
    return entry


def active_booking(retiree: Retiree) -> Booking | None:
    """The retiree's one booking with status `booked`, if any."""
    return db.session.scalar(select(Booking).where(Booking.retiree_id == retiree.id, Booking.status == "booked"))


def _cutoff() -> timedelta:
    return timedelta(minutes=int(cycle.config("BOOKING_CANCEL_CUTOFF_MINUTES", 120)))


def check_bookable(retiree: Retiree, slot: Slot) -> None:
    """422 unless the retiree may certify in this slot: alive, slot ahead, inside the due window.

    A slot on or after the day the window opens counts even if today is still before it.
    """
    _ensure_ahead(slot)
    if retiree.life_status == "deceased":
        raise Unprocessable("该退休人员已故，不能预约", code="retiree_deceased")
    view = cycle.clock_view(retiree)
    slot_day = slot.starts_at.astimezone(clock.SERVICE_ZONE).date()
    if view.status == "ok" and view.window_opens_on is not None and slot_day < view.window_opens_on:
        raise Unprocessable(f"近期已完成认证，{view.window_opens_on} 起可预约下次认证", code="not_due",
                            fields={"window_opens_on": view.window_opens_on.isoformat()})


def _ensure_ahead(slot: Slot) -> None:
    if slot.starts_at <= clock.now():
        raise Unprocessable("该时段已过，请选择其他时段", code="slot_past")


def _take_seat(slot_id: int) -> bool:
    """Take one seat if one is free. The WHERE clause is the whole overbooking guard."""
    result = db.session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _release_seat(slot_id: int) -> None:
    db.session.execute(update(Slot).where(Slot.id == slot_id, Slot.booked > 0)
                       .values(booked=Slot.booked - 1).execution_options(synchronize_session=False))


def _refresh(*objects) -> None:
    for obj in objects:
        db.session.expire(obj)


def _confirm(found: Booking) -> None:
    slot = found.slot
    cycle.send_message(
        found.retiree, "booking_confirmed",
        {"name": found.retiree.name, "service": SERVICE_LABEL, "time": slot.starts_at,
         "place": _place(slot), "booking_no": f"CERT{found.id:08d}"},
        f"booking-confirmed:{found.id}:{slot.id}", retiree_id=found.retiree_id)


def _place(slot: Slot) -> str:
    point = slot.service_point
    return f"{point.name}（{point.address}）" if point.address else point.name


def book(account: Account | None, retiree: Retiree, slot_id: int) -> Booking:
    """Book a seat for `retiree` (the caller has checked the binding). Caller commits.

    In this order: 404 slot_not_found, 422 slot_past, 409 slot_full, 422 retiree_deceased /
    not_due, 409 already_booked. Writes the `booking_confirmed` message in the same transaction.
    """
    slot = get_slot(slot_id)
    _ensure_ahead(slot)
    # A cheap early answer before the clock is read (a hot slot turns most attempts away here);
    # the conditional UPDATE below is what decides.
    if slot.booked >= slot.capacity:
        raise Conflict("该时段已约满", code="slot_full")
    check_bookable(retiree, slot)
    if active_booking(retiree) is not None:
        raise Conflict("已有一个有效预约，如需更改请改约", code="already_booked")
    try:
        with db.session.begin_nested():
            found = Booking(slot_id=slot.id, retiree_id=retiree.id, status="booked",
                            booked_by_account_id=account.id if account else None)
            db.session.add(found)
            db.session.flush()
            _confirm(found)  # rolled back with the savepoint if the seat is gone
            # Last: the slot row stays locked (PostgreSQL) from this UPDATE to the commit, and every
            # other booker of the slot waits on it, so nothing may follow it but the commit.
            if not _take_seat(slot.id):
                raise Conflict("该时段已约满", code="slot_full")
    except IntegrityError as exc:  # the partial unique index: a concurrent booking won
        raise Conflict("已有一个有效预约，如需更改请改约", code="already_booked") from exc
    _refresh(slot)
    return found


def _ensure_changeable(found: Booking) -> None:
    if found.status != "booked":
        raise Conflict("该预约已取消或已办理", code="booking_not_active")
    if clock.now() > found.slot.starts_at - _cutoff():
        minutes = int(_cutoff().total_seconds() // 60)
        raise Unprocessable(f"距预约时间不足 {minutes} 分钟，不能取消或改约", code="cutoff_passed")


def _mark_cancelled(found: Booking) -> None:
    moved = db.session.execute(update(Booking).where(Booking.id == found.id, Booking.status == "booked")
                               .values(status="cancelled", cancelled_at=clock.now())
                               .execution_options(synchronize_session=False)).rowcount
    if not moved:
        raise Conflict("该预约已取消或已办理", code="booking_not_active")


def cancel(found: Booking) -> Booking:
    """Cancel a booking before the cut-off; the seat goes to the waitlist or back. Caller commits."""
    _ensure_changeable(found)
    _mark_cancelled(found)
    pass_seat_on(found.slot)
    _refresh(found)
    return found


def reschedule(found: Booking, new_slot_id: int) -> Booking:
    """Move a booking to another slot atomically: take the new seat first, then free the old one.

    If the new slot is full (409 slot_full) the booking keeps its old seat. Caller commits.
    """
    _ensure_changeable(found)
    new_slot = get_slot(new_slot_id)
    old_slot = found.slot
    if new_slot.id == old_slot.id:
        return found
    check_bookable(found.retiree, new_slot)
    if new_slot.booked >= new_slot.capacity:
        raise Conflict("该时段已约满", code="slot_full")
    with db.session.begin_nested():
        if not _take_seat(new_slot.id):
            raise Conflict("该时段已约满", code="slot_full")
        moved = db.session.execute(
            update(Booking).where(Booking.id == found.id, Booking.status == "booked", Booking.slot_id == old_slot.id)
            .values(slot_id=new_slot.id).execution_options(synchronize_session=False)).rowcount
        if not moved:
            raise Conflict("该预约已取消或已办理", code="booking_not_active")
        pass_seat_on(old_slot)
    _refresh(found, new_slot, old_slot)
    _confirm(found)
    return found


# ---- the waitlist ----------------------------------------------------------------------------

def _hold() -> timedelta:
    return timedelta(minutes=int(cycle.config("WAITLIST_OFFER_HOLD_MINUTES", 120)))


def pass_seat_on(slot: Slot) -> WaitlistEntry | None:
    """A taken seat of `slot` was given up: offer it to the first in line, or release it.

    The seat stays counted in `slot.booked` while it is offered. Each claim is a conditional
    UPDATE, so two releases never offer the same entry. Flushes; caller commits.
    """
    now = clock.now()
    if slot.starts_at > now:
        expires = min(now + _hold(), slot.starts_at)
        while True:
            entry = db.session.scalar(select(WaitlistEntry).where(
                WaitlistEntry.slot_id == slot.id, WaitlistEntry.status == "waiting").order_by(WaitlistEntry.id)
                .limit(1))
            if entry is None:
                break
            if entry.retiree.life_status != "alive":
                _close_entry(entry, "left", from_status="waiting")
                continue
            claimed = db.session.execute(
                update(WaitlistEntry).where(WaitlistEntry.id == entry.id, WaitlistEntry.status == "waiting")
                .values(status="offered", offered_at=now, offer_expires_at=expires)
                .execution_options(synchronize_session=False)).rowcount
            if claimed:
                db.session.expire(entry)
                _offer_message(entry, expires)
                return entry
    _release_seat(slot.id)
    return None


def _offer_message(entry: WaitlistEntry, expires) -> None:
    slot = entry.slot
    recipient = db.session.get(Account, entry.account_id) if entry.account_id else entry.retiree
    cycle.send_message(
        recipient, "waitlist_offer",
        {"service": SERVICE_LABEL, "time": slot.starts_at, "place": _place(slot), "deadline": expires},
        f"waitlist-offer:{entry.id}", retiree_id=entry.retiree_id)


def _close_entry(entry: WaitlistEntry, status: str, *, from_status: str) -> bool:
    return db.session.execute(
        update(WaitlistEntry).where(WaitlistEntry.id == entry.id, WaitlistEntry.status == from_status)
        .values(status=status, closed_at=clock.now()).execution_options(synchronize_session=False)).rowcount == 1


def join_waitlist(account: Account | None, retiree: Retiree, slot_id: int) -> WaitlistEntry:
    """Queue for a full slot. 409 slot_available (book instead), already_booked, already_waiting."""
    slot = get_slot(slot_id)
    check_bookable(retiree, slot)
    if slot.booked < slot.capacity:
        raise Conflict("该时段还有空位，请直接预约", code="slot_available")
    current = active_booking(retiree)
    if current is not None and current.slot_id == slot.id:
        raise Conflict("已预约该时段", code="already_booked")
    try:
        with db.session.begin_nested():
            entry = WaitlistEntry(slot_id=slot.id, retiree_id=retiree.id, status="waiting",
                                  account_id=account.id if account else None)
            db.session.add(entry)
    except IntegrityError as exc:
        raise Conflict("已在该时段的候补队列中", code="already_waiting") from exc
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
        WaitlistEntry.retiree_id == retiree.id, WaitlistEntry.status.in_(LIVE_WAITLIST)).order_by(WaitlistEntry.id)))


def leave_waitlist(entry: WaitlistEntry) -> WaitlistEntry:
    """Leave the line; leaving with an offer in hand passes the held seat on. Caller commits."""
    if _close_entry(entry, "left", from_status="offered"):
        pass_seat_on(entry.slot)
    elif not _close_entry(entry, "left", from_status="waiting"):
        raise Conflict("该候补已结束", code="waitlist_not_active")
    _refresh(entry)
    return entry


def accept_offer(account: Account | None, entry: WaitlistEntry) -> Booking:
    """Take the held seat. An existing booking elsewhere moves here (its seat is passed on).

    409 offer_not_active when the offer expired, was declined or never made. Caller commits.
    """
    retiree = entry.retiree
    slot = entry.slot
    check_bookable(retiree, slot)
    current = active_booking(retiree)
    with db.session.begin_nested():
        claimed = db.session.execute(
            update(WaitlistEntry).where(WaitlistEntry.id == entry.id, WaitlistEntry.status == "offered",
                                        WaitlistEntry.offer_expires_at > clock.now())
            .values(status="accepted", closed_at=clock.now()).execution_options(synchronize_session=False)).rowcount
        if not claimed:
            raise Conflict("候补名额已过期或已失效", code="offer_not_active")
        if current is not None and current.slot_id == slot.id:
            pass_seat_on(slot)  # already holding a seat here: the held one goes to the next
            found = current
        elif current is not None:
            old_slot = current.slot
            moved = db.session.execute(
                update(Booking).where(Booking.id == current.id, Booking.status == "booked")
                .values(slot_id=slot.id).execution_options(synchronize_session=False)).rowcount
            if not moved:
                raise Conflict("原预约已变化，请重试", code="booking_not_active")
            pass_seat_on(old_slot)
            found = current
        else:
            found = Booking(slot_id=slot.id, retiree_id=retiree.id, status="booked",
                            booked_by_account_id=account.id if account else None)
            db.session.add(found)
            try:
                db.session.flush()
            except IntegrityError as exc:
                raise Conflict("已有一个有效预约", code="already_booked") from exc
        db.session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry.id)
                           .values(booking_id=found.id).execution_options(synchronize_session=False))
    _refresh(found, entry, slot)
    _confirm(found)
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
        if _close_entry(entry, "expired", from_status="offered"):
            expired += 1
            pass_seat_on(entry.slot)
    started = select(Slot.id).where(Slot.starts_at <= now).scalar_subquery()
    db.session.execute(update(WaitlistEntry).where(WaitlistEntry.status == "waiting",
                                                   WaitlistEntry.slot_id.in_(started))
                       .values(status="expired", closed_at=now).execution_options(synchronize_session=False))
    waiting_slots = select(WaitlistEntry.slot_id).where(WaitlistEntry.status == "waiting").distinct()
    for slot in db.session.scalars(select(Slot).where(Slot.id.in_(waiting_slots), Slot.booked < Slot.capacity,
                                                      Slot.starts_at > now)).all():
        while _take_seat(slot.id):
            if pass_seat_on(slot) is None:  # nobody left in line: pass_seat_on gave the seat back
                break
    db.session.flush()
    return expired


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
        pass_seat_on(found.slot)
        cancelled += 1
    for entry in db.session.scalars(select(WaitlistEntry).where(WaitlistEntry.retiree_id == retiree.id,
                                                                WaitlistEntry.status.in_(LIVE_WAITLIST))).all():
        if _close_entry(entry, "left", from_status="offered"):
            pass_seat_on(entry.slot)
        else:
            _close_entry(entry, "left", from_status="waiting")
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
            {"service": SERVICE_LABEL, "time": slot.starts_at, "place": _place(slot),
             "note": "请携带身份证，按时到场认证"},
            f"booking-reminder:{found.id}:{slot.id}", retiree_id=found.retiree_id)
        sent += 1
    db.session.flush()
    return sent
