"""Annual pension-eligibility certification (协助资格认证): records, the per-retiree clock,
service-point opening hours, bookable slots, bookings and the waitlist.

Overbooking is impossible by construction: `slot.booked` counts taken seats (bookings plus
seats held for a waitlist offer), it only moves through conditional UPDATEs, and the database
refuses `booked > capacity` (CHECK). One active booking per retiree is a partial unique index.
"""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, check_in, utcnow
from app.models.org import Region, ServicePoint
from app.models.people import Retiree
from app.models.staff import Staff

METHODS = ("on_site", "home_visit", "self_service_face", "data_match")
METHOD_LABELS = {
    "on_site": "现场认证",
    "home_visit": "上门认证",
    "self_service_face": "人脸识别",
    "data_match": "数据比对",
}
# `ended`: out of the cycle (deceased); the others follow the clock.
STATUSES = ("ok", "due", "overdue", "suspended", "ended")
STATUS_LABELS = {"ok": "正常", "due": "待认证", "overdue": "已逾期", "suspended": "已暂停发放",
                 "ended": "已退出认证"}
BOOKING_STATUSES = ("booked", "cancelled", "attended", "no_show")
BOOKING_STATUS_LABELS = {"booked": "已预约", "cancelled": "已取消", "attended": "已认证", "no_show": "未到"}
WAITLIST_STATUSES = ("waiting", "offered", "accepted", "expired", "left")


class CertificationRecord(db.Model):
    """One certification of one retiree. Unique per retiree, date and method (idempotent writes)."""

    __tablename__ = "certification_record"
    __table_args__ = (
        CheckConstraint(check_in("method", METHODS), name="method"),
        UniqueConstraint("retiree_id", "certified_on", "method", name="uq_certification_record_once"),
        Index("ix_certification_record_period", "certified_on", "retiree_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    certified_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # Where it came from: "booking:12", "walk_in", "import:<file>", "visit_task:9", ...
    source: Mapped[str | None] = mapped_column(String(120))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    retiree: Mapped[Retiree] = relationship()
    staff: Mapped[Staff | None] = relationship()


class CertificationState(db.Model):
    """The clock of one retiree, denormalized so lists and the daily job are indexed queries."""

    __tablename__ = "certification_state"
    __table_args__ = (
        CheckConstraint(check_in("status", STATUSES), name="status"),
        CheckConstraint("last_method IS NULL OR " + check_in("last_method", METHODS), name="last_method"),
        Index("ix_certification_state_status_due", "status", "due_on"),
    )

    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), primary_key=True)
    last_certified_on: Mapped[date | None] = mapped_column(Date)
    last_method: Mapped[str | None] = mapped_column(String(20))
    # The date the cycle counts from when never certified (see domain.certification.baseline_date).
    baseline_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(10), default="ok", nullable=False)
    status_since: Mapped[date] = mapped_column(Date)
    suspended_on: Mapped[date | None] = mapped_column(Date)
    # The last due reminder written (for which due date, which stage), so the daily job skips
    # the outbox for reminders already sent; the message's idempotency key is the real guard.
    reminded_due_on: Mapped[date | None] = mapped_column(Date)
    reminded_stage: Mapped[str | None] = mapped_column(String(8))
    updated_at = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    retiree: Mapped[Retiree] = relationship()


class CertificationSetting(db.Model):
    """Cycle settings of a region, inherited by everything below it unless overridden lower down."""

    __tablename__ = "certification_setting"
    __table_args__ = (
        CheckConstraint("cycle_months BETWEEN 1 AND 60", name="cycle_months"),
        CheckConstraint("due_window_days BETWEEN 0 AND 366", name="due_window_days"),
        CheckConstraint("grace_days BETWEEN 0 AND 366", name="grace_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"), unique=True)
    cycle_months: Mapped[int] = mapped_column(SmallInteger, default=12, nullable=False)
    due_window_days: Mapped[int] = mapped_column(SmallInteger, default=60, nullable=False)
    grace_days: Mapped[int] = mapped_column(SmallInteger, default=0, nullable=False)

    region: Mapped[Region] = relationship()


class PensionBackPay(db.Model):
    """Back-pay owed after a suspended pension resumes on certification (the agency settles it)."""

    __tablename__ = "pension_backpay"
    __table_args__ = (UniqueConstraint("retiree_id", "suspended_on", name="uq_pension_backpay_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    suspended_on: Mapped[date] = mapped_column(Date)
    resumed_on: Mapped[date] = mapped_column(Date)
    certification_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("certification_record.id", ondelete="SET NULL"))
    settled_at = mapped_column(UTCDateTime())
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class OpeningHours(db.Model):
    """A weekly opening range of a service point, cut into slots of `slot_minutes`."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("start_time < end_time", name="range"),
        CheckConstraint("slot_minutes BETWEEN 5 AND 480", name="slot_minutes"),
        CheckConstraint("capacity BETWEEN 1 AND 1000", name="capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_point.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # Monday = 0
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(SmallInteger, default=30, nullable=False)
    capacity: Mapped[int] = mapped_column(SmallInteger)


class ClosedDate(db.Model):
    """A day a service point is closed (holiday, staff training): no slots are generated."""

    __tablename__ = "closed_date"
    __table_args__ = (UniqueConstraint("service_point_id", "day", name="uq_closed_date_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_point.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(100))


class Slot(db.Model):
    """A bookable time at a service point. `booked` = bookings + seats held for waitlist offers."""

    __tablename__ = "slot"
    __table_args__ = (
        CheckConstraint("booked <= capacity AND booked >= 0", name="booked_within_capacity"),
        CheckConstraint("starts_at < ends_at", name="range"),
        UniqueConstraint("service_point_id", "starts_at", name="uq_slot_point_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_point.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column()
    booked: Mapped[int] = mapped_column(default=0, nullable=False)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    service_point: Mapped[ServicePoint] = relationship()

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)


class Booking(db.Model):
    """A retiree's seat in a slot. At most one `booked` booking per retiree (partial unique index)."""

    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint(check_in("status", BOOKING_STATUSES), name="status"),
        Index("uq_booking_active_retiree", "retiree_id", unique=True,
              sqlite_where=text("status = 'booked'"), postgresql_where=text("status = 'booked'")),
        Index("ix_booking_slot_status", "slot_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id", ondelete="RESTRICT"))
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    booked_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="booked", nullable=False)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    cancelled_at = mapped_column(UTCDateTime())
    checked_in_at = mapped_column(UTCDateTime())
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    slot: Mapped[Slot] = relationship()
    retiree: Mapped[Retiree] = relationship()


class WaitlistEntry(db.Model):
    """A place in line for a full slot. A freed seat is held for the first in line as an offer."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (
        CheckConstraint(check_in("status", WAITLIST_STATUSES), name="status"),
        Index("uq_waitlist_live_entry", "slot_id", "retiree_id", unique=True,
              sqlite_where=text("status IN ('waiting', 'offered')"),
              postgresql_where=text("status IN ('waiting', 'offered')")),
        Index("ix_waitlist_slot_status", "slot_id", "status", "id"),
        Index("ix_waitlist_offer_expiry", "status", "offer_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id", ondelete="CASCADE"))
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="waiting", nullable=False)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    offered_at = mapped_column(UTCDateTime())
    offer_expires_at = mapped_column(UTCDateTime())
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id", ondelete="SET NULL"))
    closed_at = mapped_column(UTCDateTime())

    slot: Mapped[Slot] = relationship()
    retiree: Mapped[Retiree] = relationship()


__all__ = [
    "Booking", "CertificationRecord", "CertificationSetting", "CertificationState", "ClosedDate",
    "OpeningHours", "PensionBackPay", "Slot", "WaitlistEntry",
]
