"""Cases and visits: reports from the mini-program, visit records with costs, unit costs,
hardship cases and Spring Festival key-visit rosters (services 2–5 of the service package).

Money is kept in fen (分) as integers, never floats: 50 yuan = 5000.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Account
from app.models.base import UTCDateTime, check_in, utcnow
from app.models.files import StoredFile
from app.models.org import Region
from app.models.people import Retiree
from app.models.staff import Staff
from app.models.tasks import VisitTask

REPORT_TYPES = ("hospitalization", "death", "hardship", "home_certification")
REPORT_STATUSES = ("received", "verified", "rejected", "done", "cancelled")
REPORT_TYPE_LABELS = {"hospitalization": "住院", "death": "去世", "hardship": "生活困难",
                      "home_certification": "上门认证"}
REPORT_STATUS_LABELS = {"received": "已受理", "verified": "已核实", "rejected": "已驳回",
                        "done": "已办结", "cancelled": "已撤销"}

# not_home is the empty visit (空访); certified / not_certified only for home certification.
VISIT_OUTCOMES = ("completed", "certified", "not_certified", "not_home")
VISIT_OUTCOME_LABELS = {"completed": "已走访", "certified": "已认证", "not_certified": "未能认证",
                        "not_home": "空访（无人在家）"}

# Unit-cost categories (what the agency pays for) plus the categories only a cost line can have.
UNIT_COST_CATEGORIES = ("hospital_visit", "condolence_car", "condolence_wreath",
                        "festival_and_activities", "certification")
COST_CATEGORIES = UNIT_COST_CATEGORIES + ("hardship_help", "other")
COST_CATEGORY_LABELS = {
    "hospital_visit": "住院探视",
    "condolence_car": "吊唁车辆补助",
    "condolence_wreath": "花圈",
    "festival_and_activities": "节日走访及文体活动",
    "certification": "协助资格认证",
    "hardship_help": "特困帮扶金",
    "other": "其他",
}

HARDSHIP_STATUSES = ("open", "closed")
HELP_KINDS = ("money", "service")


class Report(db.Model):
    """Something a retiree or relative tells us through the mini-program."""

    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint(check_in("type", REPORT_TYPES), name="type"),
        CheckConstraint(check_in("status", REPORT_STATUSES), name="status"),
        CheckConstraint("type <> 'hospitalization' OR (hospital IS NOT NULL AND admitted_on IS NOT NULL)",
                        name="hospitalization_fields"),
        CheckConstraint("type <> 'death' OR died_on IS NOT NULL", name="death_fields"),
        CheckConstraint("type <> 'hardship' OR description IS NOT NULL", name="hardship_fields"),
        # The same key from the same account names one report, whatever else happens.
        UniqueConstraint("account_id", "idempotency_key", name="uq_report_account_idempotency_key"),
        Index("ix_report_retiree_type_status", "retiree_id", "type", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(12), default="received", nullable=False)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    # The record outlives an account deleted on request.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"), index=True)
    hospital: Mapped[str | None] = mapped_column(String(100))
    ward: Mapped[str | None] = mapped_column(String(50))
    admitted_on: Mapped[date | None] = mapped_column(Date)
    died_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    visit_task_id: Mapped[int | None] = mapped_column(ForeignKey("visit_task.id", ondelete="SET NULL"))
    hardship_case_id: Mapped[int | None] = mapped_column(ForeignKey("hardship_case.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    closed_at = mapped_column(UTCDateTime())

    retiree: Mapped[Retiree] = relationship()
    account: Mapped[Account | None] = relationship()
    visit_task: Mapped[VisitTask | None] = relationship()
    hardship_case: Mapped[HardshipCase | None] = relationship()
    decided_by: Mapped[Staff | None] = relationship()


class PensionStop(db.Model):
    """A verified death flags the pension as stopped; the agency works this list (停发名单)."""

    __tablename__ = "pension_stop"

    id: Mapped[int] = mapped_column(primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id", ondelete="SET NULL"))
    stopped_since: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(20), default="death", nullable=False)
    flagged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    flagged_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    acknowledged_at = mapped_column(UTCDateTime())

    retiree: Mapped[Retiree] = relationship()
    community: Mapped[Region] = relationship()


class VisitRecord(db.Model):
    """What happened when someone went to the door. One record closes one task."""

    __tablename__ = "visit_record"
    __table_args__ = (
        CheckConstraint(check_in("outcome", VISIT_OUTCOMES), name="outcome"),
        CheckConstraint("(empty_visit AND outcome = 'not_home' AND empty_reason IS NOT NULL)"
                        " OR (NOT empty_visit AND outcome <> 'not_home')", name="empty_visit_reason"),
        Index("ix_visit_record_community_visited", "community_id", "visited_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("visit_task.id", ondelete="CASCADE"), unique=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    visited_at = mapped_column(UTCDateTime(), nullable=False)
    visited_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    companions: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    empty_visit: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    empty_reason: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    task: Mapped[VisitTask] = relationship()
    retiree: Mapped[Retiree] = relationship()
    visited_by: Mapped[Staff] = relationship(foreign_keys=[visited_by_id])
    photo: Mapped[StoredFile | None] = relationship()
    cost_lines: Mapped[list[CostLine]] = relationship(back_populates="visit_record", lazy="selectin")


class CostLine(db.Model):
    """Money spent, by category, against a visit record or a hardship help record."""

    __tablename__ = "cost_line"
    __table_args__ = (
        CheckConstraint(check_in("category", COST_CATEGORIES), name="category"),
        CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        CheckConstraint("(visit_record_id IS NULL) <> (help_record_id IS NULL)", name="one_owner"),
        Index("ix_cost_line_community_spent", "community_id", "spent_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(Integer)
    # Denormalized so "spend under a region" is one indexed query.
    community_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    spent_on: Mapped[date] = mapped_column(Date)
    visit_record_id: Mapped[int | None] = mapped_column(ForeignKey("visit_record.id", ondelete="CASCADE"),
                                                        index=True)
    help_record_id: Mapped[int | None] = mapped_column(ForeignKey("help_record.id", ondelete="CASCADE"),
                                                       index=True)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    visit_record: Mapped[VisitRecord | None] = relationship(back_populates="cost_lines")


class UnitCost(db.Model):
    """A region's own unit cost for a category; regions below inherit it (defaults in code)."""

    __tablename__ = "unit_cost"
    __table_args__ = (
        CheckConstraint(check_in("category", UNIT_COST_CATEGORIES), name="category"),
        CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        UniqueConstraint("region_id", "category", name="uq_unit_cost_region_category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    updated_at = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    region: Mapped[Region] = relationship()


class HardshipCase(db.Model):
    """特困老人帮扶: one open case per retiree, assessed, helped, reviewed, closed with a reason."""

    __tablename__ = "hardship_case"
    __table_args__ = (
        CheckConstraint(check_in("status", HARDSHIP_STATUSES), name="status"),
        CheckConstraint("status = 'open' OR close_reason IS NOT NULL", name="closed_with_reason"),
        Index("uq_hardship_case_open_retiree", "retiree_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_hardship_case_queue", "community_id", "status", "review_due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(8), default="open", nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    assessment: Mapped[str | None] = mapped_column(Text)
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    assessed_at = mapped_column(UTCDateTime())
    review_due_on: Mapped[date | None] = mapped_column(Date)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    closed_at = mapped_column(UTCDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(200))

    retiree: Mapped[Retiree] = relationship()
    community: Mapped[Region] = relationship()
    helpers: Mapped[list[HardshipHelper]] = relationship(back_populates="case", lazy="selectin",
                                                         order_by="HardshipHelper.id")
    help_records: Mapped[list[HelpRecord]] = relationship(back_populates="case",
                                                          order_by="HelpRecord.helped_on.desc()")
    reviews: Mapped[list[HardshipReview]] = relationship(order_by="HardshipReview.id.desc()")


class HardshipHelper(db.Model):
    """A community backbone (楼院长/小组长) or worker assigned to a case."""

    __tablename__ = "hardship_helper"
    __table_args__ = (
        Index("uq_hardship_helper_live", "case_id", "staff_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hardship_case.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    assigned_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    ended_at = mapped_column(UTCDateTime())

    case: Mapped[HardshipCase] = relationship(back_populates="helpers")
    staff: Mapped[Staff] = relationship(foreign_keys=[staff_id])


class HelpRecord(db.Model):
    """Help given: money (with its cost line) or a service described in words."""

    __tablename__ = "help_record"
    __table_args__ = (
        CheckConstraint(check_in("kind", HELP_KINDS), name="kind"),
        CheckConstraint("(kind = 'money' AND amount_fen IS NOT NULL AND amount_fen > 0)"
                        " OR (kind = 'service' AND amount_fen IS NULL AND description IS NOT NULL)",
                        name="money_or_service"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hardship_case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    amount_fen: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    helped_on: Mapped[date] = mapped_column(Date)
    helper_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    case: Mapped[HardshipCase] = relationship(back_populates="help_records")
    helper: Mapped[Staff] = relationship(foreign_keys=[helper_id])


class HardshipReview(db.Model):
    """A periodic review of a case; each sets the next due date."""

    __tablename__ = "hardship_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hardship_case.id", ondelete="CASCADE"), index=True)
    reviewed_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    next_review_on: Mapped[date | None] = mapped_column(Date)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    staff: Mapped[Staff] = relationship()


class FestivalRoster(db.Model):
    """One community's Spring Festival key-visit roster (重点走访名单) for one year."""

    __tablename__ = "festival_roster"
    __table_args__ = (UniqueConstraint("year", "community_id", name="uq_festival_roster_year_community"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    community_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    festival_date: Mapped[date] = mapped_column(Date)
    lunar_date: Mapped[str] = mapped_column(String(40))
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    generated_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    community: Mapped[Region] = relationship()


class FestivalRosterEntry(db.Model):
    """A retiree on a roster, with the festival_visit task made for them. Once per year."""

    __tablename__ = "festival_roster_entry"
    __table_args__ = (UniqueConstraint("year", "retiree_id", name="uq_festival_roster_entry_year_retiree"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("festival_roster.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    # Set right after the entry is flushed (the task's source is the entry).
    task_id: Mapped[int | None] = mapped_column(ForeignKey("visit_task.id", ondelete="CASCADE"), unique=True)
    categories: Mapped[str] = mapped_column(String(120))

    retiree: Mapped[Retiree] = relationship()
    task: Mapped[VisitTask | None] = relationship()
