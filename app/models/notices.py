"""Notices (宣传推广): policy news and activity news published to a region subtree."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, check_in, utcnow
from app.models.org import Region
from app.models.staff import Staff

NOTICE_KINDS = ("policy", "activity")
NOTICE_KIND_LABELS = {"policy": "政策宣传", "activity": "活动资讯"}


class Notice(db.Model):
    """Shown to retirees whose community lies under `region`, newest first, until withdrawn."""

    __tablename__ = "notice"
    __table_args__ = (
        CheckConstraint(check_in("kind", NOTICE_KINDS), name="kind"),
        Index("ix_notice_region_published", "region_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    published_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    withdrawn_at = mapped_column(UTCDateTime())
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"), index=True)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    region: Mapped[Region] = relationship()
    created_by: Mapped[Staff] = relationship()
