"""Service points' opening hours, closed dates, and the certification slots cut from them."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, select

from app.domain import clock, inputs
from app.domain.certification.errors import ClosedDateNotFound, HoursNotFound, HoursOverlap, ServicePointNotFound
from app.domain.errors import ValidationFailed
from app.domain.org import regions
from app.extensions import db
from app.models import Region, Retiree, ServicePoint, Staff
from app.models.certification import ClosedDate, OpeningHours, Slot

MAX_DAYS = 92
WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def point_by_code(code: str) -> ServicePoint:
    point = db.session.scalar(select(ServicePoint).where(ServicePoint.code == code))
    if point is None:
        raise ServicePointNotFound()
    return point


def get_point(point_id: int) -> ServicePoint:
    point = inputs.get(ServicePoint, point_id)
    if point is None:
        raise ServicePointNotFound()
    return point


def points_in_scope(staff: Staff) -> list[ServicePoint]:
    """The service points in the staff member's region subtree, by name."""
    return list(db.session.scalars(select(ServicePoint).join(Region, Region.id == ServicePoint.region_id)
                                   .where(regions.subtree_condition(staff.region)).order_by(ServicePoint.name)))


def points_for_retiree(retiree: Retiree) -> list[ServicePoint]:
    """Service points in the retiree's district, nearest first: own community, own street, the rest."""
    community = retiree.community
    codes = [c for c in community.path.split("/") if c]
    district_path = "/".join(codes[:3]) + "/" if len(codes) >= 3 else community.path
    points = list(db.session.scalars(select(ServicePoint).join(Region, Region.id == ServicePoint.region_id)
                                     .where(Region.path.startswith(district_path, autoescape=True))))

    def closeness(point: ServicePoint) -> tuple[int, str]:
        shared = 0
        for mine, theirs in zip(codes, [c for c in point.region.path.split("/") if c], strict=False):
            if mine != theirs:
                break
            shared += 1
        return (-shared, point.name)

    return sorted(points, key=closeness)


def hours_of(point: ServicePoint) -> list[OpeningHours]:
    return list(db.session.scalars(select(OpeningHours).where(OpeningHours.service_point_id == point.id)
                                   .order_by(OpeningHours.weekday, OpeningHours.start_time)))


def add_opening_hours(point: ServicePoint, *, weekday: int, start: time, end: time, slot_minutes: int,
                      capacity: int) -> OpeningHours:
    """Add a weekly opening range (no overlap with another range that weekday). Caller commits."""
    fields = {}
    if not 0 <= weekday <= 6:
        fields["weekday"] = "星期应为 0（周一）到 6（周日）"
    if start >= end:
        fields["end"] = "结束时间应晚于开始时间"
    if not 5 <= slot_minutes <= 480:
        fields["slot_minutes"] = "每个时段应为 5–480 分钟"
    if not 1 <= capacity <= 1000:
        fields["capacity"] = "每个时段名额应为 1–1000"
    if fields:
        raise ValidationFailed(fields=fields)
    for other in hours_of(point):
        if other.weekday == weekday and other.start_time < end and start < other.end_time:
            raise HoursOverlap(fields={"start": "时间重叠"})
    row = OpeningHours(service_point_id=point.id, weekday=weekday, start_time=start, end_time=end,
                       slot_minutes=slot_minutes, capacity=capacity)
    db.session.add(row)
    db.session.flush()
    return row


def remove_opening_hours(point: ServicePoint, hours_id: int) -> None:
    """Remove an opening range (slots already opened stay). Caller commits."""
    deleted = db.session.execute(delete(OpeningHours).where(OpeningHours.id == hours_id,
                                                            OpeningHours.service_point_id == point.id)).rowcount
    if not deleted:
        raise HoursNotFound()


def closed_dates(point: ServicePoint, since: date) -> list[ClosedDate]:
    return list(db.session.scalars(select(ClosedDate).where(ClosedDate.service_point_id == point.id,
                                                            ClosedDate.day >= since).order_by(ClosedDate.day)))


def add_closed_date(point: ServicePoint, day: date, reason: str | None = None) -> int:
    """Mark a day closed and delete that day's slots nobody has taken. Returns slots deleted.

    Slots with bookings stay (staff contact those retirees); caller commits.
    """
    exists = db.session.scalar(select(ClosedDate.id).where(ClosedDate.service_point_id == point.id,
                                                           ClosedDate.day == day))
    if exists is None:
        db.session.add(ClosedDate(service_point_id=point.id, day=day, reason=(reason or None)))
    start, end = clock.start_of_local_day(day), clock.start_of_local_day(day + timedelta(days=1))
    deleted = db.session.execute(delete(Slot).where(Slot.service_point_id == point.id, Slot.starts_at >= start,
                                                    Slot.starts_at < end, Slot.booked == 0)).rowcount
    db.session.flush()
    return deleted


def remove_closed_date(point: ServicePoint, closed_id: int) -> None:
    deleted = db.session.execute(delete(ClosedDate).where(ClosedDate.id == closed_id,
                                                          ClosedDate.service_point_id == point.id)).rowcount
    if not deleted:
        raise ClosedDateNotFound()


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=clock.SERVICE_ZONE)


def open_slots(point: ServicePoint, start: date, days: int) -> int:
    """Generate slots from the opening hours for `days` days from `start`, skipping closed dates.

    Idempotent: a slot already there (same point and start) is left alone. Returns slots
    created. Caller commits.
    """
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(fields={"days": f"天数应为 1–{MAX_DAYS}"})
    if start < clock.today():
        raise ValidationFailed(fields={"from": "开始日期不能早于今天"})
    end = start + timedelta(days=days)
    hours = hours_of(point)
    if not hours:
        raise ValidationFailed(fields={"hours": "该服务点还没有开放时间"})
    closed = set(db.session.scalars(select(ClosedDate.day).where(
        ClosedDate.service_point_id == point.id, ClosedDate.day >= start, ClosedDate.day < end)))
    existing = set(db.session.scalars(select(Slot.starts_at).where(
        Slot.service_point_id == point.id, Slot.starts_at >= clock.start_of_local_day(start),
        Slot.starts_at < clock.start_of_local_day(end))))
    now = clock.now()
    created = 0
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day in closed:
            continue
        for row in (h for h in hours if h.weekday == day.weekday()):
            begins, closes = _local(day, row.start_time), _local(day, row.end_time)
            step = timedelta(minutes=row.slot_minutes)
            while begins + step <= closes:
                if begins > now and begins not in existing:
                    db.session.add(Slot(service_point_id=point.id, starts_at=begins, ends_at=begins + step,
                                        capacity=row.capacity, booked=0))
                    existing.add(begins)
                    created += 1
                begins += step
    db.session.flush()
    return created


def slots_query(point: ServicePoint, date_from: date, date_to: date):
    """The ordered query of a point's slots starting on `date_from` … `date_to` (inclusive, local
    dates, at most MAX_DAYS apart)."""
    if date_to < date_from:
        raise ValidationFailed(fields={"to": "结束日期不能早于开始日期"})
    if (date_to - date_from).days > MAX_DAYS:
        raise ValidationFailed(fields={"to": f"查询范围最多 {MAX_DAYS} 天"})
    return select(Slot).where(
        Slot.service_point_id == point.id, Slot.starts_at >= clock.start_of_local_day(date_from),
        Slot.starts_at < clock.start_of_local_day(date_to + timedelta(days=1))).order_by(Slot.starts_at, Slot.id)


def list_slots(point: ServicePoint, date_from: date, date_to: date) -> list[Slot]:
    """Slots of a point starting on `date_from` … `date_to` (inclusive, local dates), in order."""
    return list(db.session.scalars(slots_query(point, date_from, date_to)))


def upcoming_summary(point: ServicePoint, days: int = 14) -> list[tuple[date, int, int, int]]:
    """(day, slots, seats, taken) per day for the staff page."""
    today = clock.today()
    out: dict[date, list[int]] = {}
    for slot in list_slots(point, today, today + timedelta(days=days)):
        row = out.setdefault(slot.starts_at.astimezone(clock.SERVICE_ZONE).date(), [0, 0, 0])
        row[0] += 1
        row[1] += slot.capacity
        row[2] += slot.booked
    return [(day, *values) for day, values in sorted(out.items())]


def count_slots(point: ServicePoint) -> int:
    return db.session.scalar(select(func.count()).select_from(Slot).where(Slot.service_point_id == point.id))
