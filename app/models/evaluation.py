"""Service evaluation (服务评估): ratings of completed services and feedback tickets (反馈机制)."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Account
from app.models.base import UTCDateTime, check_in, utcnow
from app.models.org import Region
from app.models.people import Retiree
from app.models.staff import Staff

RATING_SUBJECTS = ("visit", "booking", "activity")
RATING_SUBJECT_LABELS = {"visit": "上门走访", "booking": "资格认证", "activity": "文体活动"}
FEEDBACK_CATEGORIES = ("complaint", "suggestion", "question")
FEEDBACK_CATEGORY_LABELS = {"complaint": "投诉", "suggestion": "建议", "question": "咨询"}
FEEDBACK_STATUSES = ("open", "replied", "closed")
FEEDBACK_STATUS_LABELS = {"open": "待回复", "replied": "已回复", "closed": "已关闭"}


class Rating(db.Model):
    """A 1–5 score for one completed service, once per subject per account."""

    __tablename__ = "rating"
    __table_args__ = (
        CheckConstraint(check_in("subject_type", RATING_SUBJECTS), name="subject_type"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        UniqueConstraint("subject_type", "subject_id", "account_id", name="uq_rating_subject_account"),
        Index("ix_rating_community_created", "community_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column()
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    # The retiree's community when rated: satisfaction per region is one indexed range query.
    community_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    score: Mapped[int] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    account: Mapped[Account] = relationship()
    retiree: Mapped[Retiree] = relationship()
    # The complaint a low score opened (FeedbackTicket.source_rating_id is unique: at most one).
    ticket: Mapped[FeedbackTicket | None] = relationship(
        primaryjoin="Rating.id == foreign(FeedbackTicket.source_rating_id)", uselist=False, viewonly=True)


class FeedbackTicket(db.Model):
    """A complaint, suggestion or question awaiting a staff reply by `reply_due_at`.

    `community_id` decides which staff see it: the retiree's community, else the community of
    the account's first bound retiree; NULL means no community is known and the ticket goes to
    agency admins at city or province level.
    """

    __tablename__ = "feedback_ticket"
    __table_args__ = (
        CheckConstraint(check_in("category", FEEDBACK_CATEGORIES), name="category"),
        CheckConstraint(check_in("status", FEEDBACK_STATUSES), name="status"),
        CheckConstraint("status <> 'replied' OR reply IS NOT NULL", name="replied_has_reply"),
        Index("ix_feedback_ticket_queue", "community_id", "status", "reply_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    retiree_id: Mapped[int | None] = mapped_column(ForeignKey("retiree.id", ondelete="SET NULL"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    category: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open", nullable=False)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    replied_at = mapped_column(UTCDateTime())
    reply_due_at = mapped_column(UTCDateTime(), nullable=False)
    closed_at = mapped_column(UTCDateTime())
    source_rating_id: Mapped[int | None] = mapped_column(
        ForeignKey("rating.id", ondelete="SET NULL"), unique=True)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    account: Mapped[Account] = relationship()
    retiree: Mapped[Retiree | None] = relationship()
    community: Mapped[Region | None] = relationship()
    replied_by: Mapped[Staff | None] = relationship()
    source_rating: Mapped[Rating | None] = relationship()
