"""Metadata of uploaded files (the bytes live under UPLOAD_DIR, outside the web root)."""
from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class StoredFile(db.Model):
    __tablename__ = "stored_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    storage_name: Mapped[str] = mapped_column(String(200), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column()
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
