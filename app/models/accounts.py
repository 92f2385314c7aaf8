"""Mini-program accounts (one per WeChat openid), API tokens and bindings to retirees."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, check_in, utcnow
from app.models.people import Retiree

RELATIONS = ("self", "spouse", "child", "other")
BINDING_STATUSES = ("pending", "active", "revoked", "rejected")


class Account(db.Model):
    """A WeChat user of the mini-program. The session_key is kept encrypted and never leaves."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    session_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The number WeChat verified for this user (getPhoneNumber), encrypted like archive phones.
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    phone_verified_at = mapped_column(UTCDateTime())
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_login_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    bindings: Mapped[list[Binding]] = relationship(back_populates="account", lazy="selectin",
                                                   foreign_keys="Binding.account_id")


class ApiToken(db.Model):
    """A revocable bearer token. Only its SHA-256 is stored; the raw value is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime(), nullable=False)
    revoked_at = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship()


class Binding(db.Model):
    """An account's link to a retiree: the retiree themself, or a relative awaiting approval."""

    __tablename__ = "binding"
    __table_args__ = (
        CheckConstraint(check_in("relation", RELATIONS), name="relation"),
        CheckConstraint(check_in("status", BINDING_STATUSES), name="status"),
        # One archive has at most one active self binding.
        Index("uq_binding_active_self", "retiree_id", unique=True,
              sqlite_where=text("relation = 'self' AND status = 'active'"),
              postgresql_where=text("relation = 'self' AND status = 'active'")),
        # An account is `self` of at most one archive (closes the race the Python check leaves).
        Index("uq_binding_active_self_account", "account_id", unique=True,
              sqlite_where=text("relation = 'self' AND status = 'active'"),
              postgresql_where=text("relation = 'self' AND status = 'active'")),
        # An account holds at most one live (pending or active) binding per retiree.
        Index("uq_binding_live_account_retiree", "account_id", "retiree_id", unique=True,
              sqlite_where=text("status IN ('pending', 'active')"),
              postgresql_where=text("status IN ('pending', 'active')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), index=True)
    approved_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    approved_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    decided_at = mapped_column(UTCDateTime())
    revoked_at = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship(back_populates="bindings", foreign_keys=[account_id])
    retiree: Mapped[Retiree] = relationship()
