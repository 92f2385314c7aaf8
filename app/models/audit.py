"""Audit log of sensitive actions: death verification, risk lists, full ID views, exports."""
from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at = mapped_column(UTCDateTime(), default=utcnow, nullable=False, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))  # staff | account | system
    actor_id: Mapped[int | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column()
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    detail: Mapped[dict | None] = mapped_column(JSON)
