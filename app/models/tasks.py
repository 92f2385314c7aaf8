"""Visit tasks: the staff work queue shared by every service that sends someone to a door.

Hospital visits, condolence visits, home-visit certification, Spring Festival key visits,
hardship follow-ups and revisits after an empty visit are all tasks of one shape.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, check_in, utcnow
from app.models.org import Region
from app.models.people import Retiree
from app.models.staff import Staff

TASK_KINDS = ("hospital_visit", "condolence_visit", "home_certification", "festival_visit",
              "hardship_visit", "revisit")
TASK_STATUSES = ("open", "done", "cancelled")
TASK_KIND_LABELS = {
    "hospital_visit": "住院探视",
    "condolence_visit": "吊唁抚慰",
    "home_certification": "上门认证",
    "festival_visit": "春节重点走访",
    "hardship_visit": "特困帮扶走访",
    "revisit": "再次走访",
}


class VisitTask(db.Model):
    __tablename__ = "visit_task"
    __table_args__ = (
        CheckConstraint(check_in("kind", TASK_KINDS), name="kind"),
        CheckConstraint(check_in("status", TASK_STATUSES), name="status"),
        # A source event creates at most one live task of a kind (idempotent task creation).
        Index("uq_visit_task_source", "kind", "source_type", "source_id", unique=True,
              sqlite_where=text("source_id IS NOT NULL AND status = 'open'"),
              postgresql_where=text("source_id IS NOT NULL AND status = 'open'")),
        Index("ix_visit_task_queue", "community_id", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    # Denormalized from the retiree so the queue of a region is one indexed query.
    community_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(10), default="open", nullable=False)
    due_on: Mapped[date] = mapped_column(Date)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    # What caused it: ("report", 12), ("booking", 3), ("hardship_case", 7), ("visit_task", 9)...
    source_type: Mapped[str | None] = mapped_column(String(32))
    source_id: Mapped[int | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    closed_at = mapped_column(UTCDateTime())

    retiree: Mapped[Retiree] = relationship()
    community: Mapped[Region] = relationship()
    assignee: Mapped[Staff | None] = relationship()
