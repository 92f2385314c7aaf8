"""Staff accounts for the staff pages, each scoped to a region subtree."""
from __future__ import annotations

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, check_in, utcnow
from app.models.org import Region

STAFF_ROLES = ("helper", "community_worker", "street_admin", "agency_admin")
ROLE_LABELS = {
    "helper": "楼院长/小组长",
    "community_worker": "社区专干",
    "street_admin": "街道管理员",
    "agency_admin": "社保经办机构",
}


class Staff(UserMixin, db.Model):
    __tablename__ = "staff"
    __table_args__ = (CheckConstraint(check_in("role", STAFF_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    # Bumped on password change or deactivation so existing sessions stop working.
    session_version: Mapped[int] = mapped_column(default=1, nullable=False)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    region: Mapped[Region] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: the version makes old sessions invalid
        return f"{self.id}:{self.session_version}"
