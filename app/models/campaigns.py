"""Campaign batches: the slices of a campaign's audience, each written into the outbox and sent
by one job (the Campaign row itself is in app/models/messaging.py)."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class CampaignBatch(db.Model):
    """Retirees `low_id < id <= high_id` of a campaign's audience, handled by the job `job_id`.

    The dispatcher only records slices (keyset boundaries) and enqueues one job per slice; the
    job writes the slice's notification and offline-list rows, then sends them. The row is the
    slice's durable record: a slice whose job was lost (Redis flushed, enqueue failed) is found
    by `written_at IS NULL` and enqueued again; writing it twice changes nothing (unique keys).
    """

    __tablename__ = "campaign_batch"
    __table_args__ = (
        UniqueConstraint("campaign_id", "seq", name="uq_campaign_batch_seq"),
        Index("ix_campaign_batch_unwritten", "campaign_id", "written_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    low_id: Mapped[int] = mapped_column(Integer)      # exclusive
    high_id: Mapped[int] = mapped_column(Integer)     # inclusive
    job_id: Mapped[str] = mapped_column(String(64), unique=True)
    notifications: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    offline: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    written_at = mapped_column(UTCDateTime())
