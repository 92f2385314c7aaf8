"""Regions (province → community) and service points."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, check_in, utcnow

REGION_LEVELS = ("province", "city", "district", "street", "community")


class Region(db.Model):
    """A node of the administrative tree, keyed by its 12-digit statistical division code.

    `path` is the chain of codes from the root, each followed by '/', e.g.
    '510000000000/510300000000/510302000000/'. "Everything under X" is
    `path LIKE X.path || '%'`, one range scan on the path index.
    """

    __tablename__ = "region"
    __table_args__ = (
        CheckConstraint(check_in("level", REGION_LEVELS), name="level"),
        CheckConstraint("length(code) = 12", name="code_length"),
        Index("ix_region_path", "path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    path: Mapped[str] = mapped_column(String(400))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    parent: Mapped[Region | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"


class ServicePoint(db.Model):
    """A community service station (社区服务站) where retirees come for certification."""

    __tablename__ = "service_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    region: Mapped[Region] = relationship()
