"""Retiree archives (档案) and their categories (分类管理)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, check_in, utcnow
from app.models.org import Region

# Stored categories. 高龄 (aged 80+) is computed from the birth date, never stored.
STORED_CATEGORIES = ("lonely", "disabled", "hardship", "model_worker", "serious_illness")
CATEGORY_LABELS = {
    "elderly": "高龄",
    "lonely": "孤寡",
    "disabled": "残疾",
    "hardship": "特困",
    "model_worker": "劳模",
    "serious_illness": "重病",
}
LIFE_STATUSES = ("alive", "death_reported", "deceased")
PENSION_STATUSES = ("normal", "suspended", "stopped")
GENDERS = ("male", "female")
ELDERLY_AGE = 80


class Retiree(db.Model):
    """One retiree's archive. The ID number is encrypted; `id_hash` finds it, `id_masked` shows it."""

    __tablename__ = "retiree"
    __table_args__ = (
        CheckConstraint(check_in("life_status", LIFE_STATUSES), name="life_status"),
        CheckConstraint(check_in("pension_status", PENSION_STATUSES), name="pension_status"),
        CheckConstraint(check_in("gender", GENDERS), name="gender"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_masked: Mapped[str] = mapped_column(String(18), index=True)
    gender: Mapped[str] = mapped_column(String(6))
    birth_date: Mapped[date] = mapped_column(Date, index=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    # When the retiree's own WeChat account last confirmed (or changed) the phone above.
    phone_confirmed_at = mapped_column(UTCDateTime())
    address: Mapped[str | None] = mapped_column(String(200))
    community_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    former_employer: Mapped[str | None] = mapped_column(String(200))
    retirement_date: Mapped[date | None] = mapped_column(Date)
    mobility_limited: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    life_status: Mapped[str] = mapped_column(String(16), default="alive", nullable=False, index=True)
    died_on: Mapped[date | None] = mapped_column(Date)
    pension_status: Mapped[str] = mapped_column(String(16), default="normal", nullable=False)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    community: Mapped[Region] = relationship()
    category_rows: Mapped[list[RetireeCategory]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="retiree"
    )

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    def categories_on(self, day: date) -> list[str]:
        """Stored categories plus `elderly` when aged 80 or more on `day`."""
        cats = sorted(row.category for row in self.category_rows)
        if self.age_on(day) >= ELDERLY_AGE:
            cats.insert(0, "elderly")
        return cats


class RetireeCategory(db.Model):
    __tablename__ = "retiree_category"
    __table_args__ = (CheckConstraint(check_in("category", STORED_CATEGORIES), name="category"),)

    retiree_id: Mapped[int] = mapped_column(
        ForeignKey("retiree.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)

    retiree: Mapped[Retiree] = relationship(back_populates="category_rows")
