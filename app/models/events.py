"""Activities (重阳节文体活动 and others) with registrations, and policy meetings (社保政策例会)."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, check_in, utcnow
from app.models.files import StoredFile
from app.models.org import Region
from app.models.people import Retiree
from app.models.staff import Staff

ACTIVITY_KINDS = ("double_ninth", "spring_festival", "other")
ACTIVITY_KIND_LABELS = {"double_ninth": "重阳节文体活动", "spring_festival": "春节活动", "other": "其他活动"}
REGISTRATION_STATUSES = ("registered", "waitlisted", "cancelled", "attended", "absent")
# Statuses that hold a seat (counted in activity.registered).
SEATED_STATUSES = ("registered", "attended", "absent")
REGISTRATION_STATUS_LABELS = {"registered": "已报名", "waitlisted": "候补", "cancelled": "已取消",
                              "attended": "已出席", "absent": "缺席"}


class Activity(db.Model):
    """An activity open to retirees whose community lies under `region`.

    `registered` is the number of seats taken. It only moves through conditional UPDATEs
    (`registered < capacity`) and the CHECK makes overbooking impossible even for a buggy caller.
    """

    __tablename__ = "activity"
    __table_args__ = (
        CheckConstraint(check_in("kind", ACTIVITY_KINDS), name="kind"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("registered >= 0 AND registered <= capacity", name="registered_within_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("signup_closes_at > signup_opens_at", name="signup_window"),
        Index("ix_activity_region_starts", "region_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="other", nullable=False)
    starts_at = mapped_column(UTCDateTime(), nullable=False)
    ends_at = mapped_column(UTCDateTime(), nullable=False)
    place: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(nullable=False)
    registered: Mapped[int] = mapped_column(default=0, nullable=False)
    signup_opens_at = mapped_column(UTCDateTime(), nullable=False)
    signup_closes_at = mapped_column(UTCDateTime(), nullable=False)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"), index=True)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    region: Mapped[Region] = relationship()
    created_by: Mapped[Staff] = relationship()

    @property
    def remaining(self) -> int:
        return self.capacity - self.registered


class ActivityRegistration(db.Model):
    """One retiree's place (or place in line) for an activity."""

    __tablename__ = "activity_registration"
    __table_args__ = (
        CheckConstraint(check_in("status", REGISTRATION_STATUSES), name="status"),
        # One live (not cancelled) registration per retiree per activity; a cancelled one may re-register.
        Index("uq_activity_registration_live", "activity_id", "retiree_id", unique=True,
              sqlite_where=text("status <> 'cancelled'"),
              postgresql_where=text("status <> 'cancelled'")),
        Index("ix_activity_registration_activity_status", "activity_id", "status", "id"),
        Index("ix_activity_registration_community", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    # The retiree's community when they registered: participation per community for indicators.
    community_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    registered_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    promoted_at = mapped_column(UTCDateTime())
    cancelled_at = mapped_column(UTCDateTime())
    reminded_at = mapped_column(UTCDateTime())
    attendance_marked_at = mapped_column(UTCDateTime())
    attendance_marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))

    activity: Mapped[Activity] = relationship()
    retiree: Mapped[Retiree] = relationship()


class Meeting(db.Model):
    """A policy meeting for the community staff under `region`."""

    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_region_starts", "region_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    agenda: Mapped[str | None] = mapped_column(Text)
    starts_at = mapped_column(UTCDateTime(), nullable=False)
    place: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"), index=True)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    region: Mapped[Region] = relationship()
    created_by: Mapped[Staff] = relationship()


class MeetingMaterial(db.Model):
    __tablename__ = "meeting_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="RESTRICT"), unique=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    file: Mapped[StoredFile] = relationship()


class MeetingInvitation(db.Model):
    """An invited staff member and whether they attended (None until recorded)."""

    __tablename__ = "meeting_invitation"
    __table_args__ = (
        UniqueConstraint("meeting_id", "staff_id", name="uq_meeting_invitation_meeting_staff"),
        Index("ix_meeting_invitation_community", "community_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    # The staff member's community when invited, so the rate per community survives transfers.
    community_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    attended: Mapped[bool | None] = mapped_column(Boolean)
    recorded_at = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    meeting: Mapped[Meeting] = relationship()
    staff: Mapped[Staff] = relationship(foreign_keys=[staff_id])
    community: Mapped[Region] = relationship()
