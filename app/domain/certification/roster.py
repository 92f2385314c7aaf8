"""The service point's day: the roster of bookings and the check-in desk (staff side)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from app.domain import clock
from app.domain.archives import idcard, records
from app.domain.certification import certify
from app.domain.certification.errors import BookingNotActive, SlotNotStarted
from app.domain.errors import (
    IdNumberNotFound,
    OutOfScope,
    ValidationFailed,
)
from app.domain.org import regions
from app.domain.org.staff import ensure_in_scope
from app.extensions import db
from app.models import ServicePoint, Staff
from app.models.certification import Booking, CertificationRecord, Slot

DESK_METHODS = ("on_site", "home_visit")
OUTCOMES = ("certified", "no_show")


def roster(staff: Staff, point: ServicePoint, day: date) -> list[Booking]:
    """Bookings at `point` on `day` (every status), by time. 403 outside the staff's subtree."""
    ensure_in_scope(staff, point.region)
    start, end = clock.start_of_local_day(day), clock.start_of_local_day(day + timedelta(days=1))
    return list(db.session.scalars(
        select(Booking).join(Slot, Slot.id == Booking.slot_id)
        .where(Slot.service_point_id == point.id, Slot.starts_at >= start, Slot.starts_at < end,
               Booking.status != "cancelled")
        .order_by(Slot.starts_at, Booking.id)
        .options(selectinload(Booking.slot), selectinload(Booking.retiree))))


def walk_ins(staff: Staff, point: ServicePoint, day: date) -> list[CertificationRecord]:
    """Certifications recorded at the desk of `point` on `day` without a booking."""
    ensure_in_scope(staff, point.region)
    return list(db.session.scalars(select(CertificationRecord).where(
        CertificationRecord.source == f"walk_in:{point.code}", CertificationRecord.certified_on == day)
        .order_by(CertificationRecord.id)))


def check_in(staff: Staff, booking: Booking, outcome: str, method: str = "on_site") -> Booking:
    """Record the outcome of a booking: `certified` (attended; a certification record) or `no_show`.

    Only for a slot that has begun today or earlier; a no-show may later be corrected to
    certified (the retiree came late). 403 outside the staff's subtree. Caller commits.
    """
    point = booking.slot.service_point
    ensure_in_scope(staff, point.region)
    if outcome not in OUTCOMES:
        raise ValidationFailed(fields={"outcome": "结果应为 certified 或 no_show"})
    if method not in DESK_METHODS:
        raise ValidationFailed(fields={"method": "认证方式应为现场认证或上门认证"})
    if booking.slot.starts_at.astimezone(clock.SERVICE_ZONE).date() > clock.today():
        raise SlotNotStarted()
    allowed_from = ("booked", "no_show") if outcome == "certified" else ("booked",)
    changed = db.session.execute(
        update(Booking).where(Booking.id == booking.id, Booking.status.in_(allowed_from))
        .values(status="attended" if outcome == "certified" else "no_show", checked_in_at=clock.now(),
                checked_in_by_id=staff.id).execution_options(synchronize_session=False)).rowcount
    if not changed:
        raise BookingNotActive()
    if outcome == "certified":
        certify.record_certification(booking.retiree, clock.today(), method, staff=staff,
                                           source=f"booking:{booking.id}")
    db.session.expire(booking)
    return booking


def walk_in(staff: Staff, point: ServicePoint, id_number: str, method: str = "on_site") -> CertificationRecord:
    """Certify a retiree who came without a booking (found by ID number). Caller commits.

    If the retiree holds a booking at this point today, it is marked attended instead of being
    cancelled. 404 unknown ID number; 403 retiree or point outside the staff's subtree.
    """
    ensure_in_scope(staff, point.region)
    if method not in DESK_METHODS:
        raise ValidationFailed(fields={"method": "认证方式应为现场认证或上门认证"})
    try:
        idcard.parse(id_number)
    except idcard.InvalidIdNumber as exc:
        raise ValidationFailed(fields={"id_number": str(exc)}) from exc
    retiree = records.find_by_id_number(id_number)
    if retiree is None:
        raise IdNumberNotFound()
    if not regions.contains(staff.region, retiree.community):
        raise OutOfScope()
    today = clock.today()
    start, end = clock.start_of_local_day(today), clock.start_of_local_day(today + timedelta(days=1))
    booked_here = db.session.scalar(select(Booking).join(Slot, Slot.id == Booking.slot_id).where(
        Booking.retiree_id == retiree.id, Booking.status == "booked", Slot.service_point_id == point.id,
        Slot.starts_at >= start, Slot.starts_at < end))
    if booked_here is not None:
        db.session.execute(update(Booking).where(Booking.id == booked_here.id, Booking.status == "booked")
                           .values(status="attended", checked_in_at=clock.now(), checked_in_by_id=staff.id)
                           .execution_options(synchronize_session=False))
        source = f"booking:{booked_here.id}"
    else:
        source = f"walk_in:{point.code}"
    return certify.record_certification(retiree, today, method, staff=staff, source=source)
