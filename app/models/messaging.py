"""Messaging: consent credits, the notification outbox (also the in-app inbox), campaigns and the
offline list. Templates themselves are configuration (`app/domain/templates.py`), not rows.
"""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Account
from app.models.base import UTCDateTime, check_in, utcnow
from app.models.org import Region
from app.models.people import Retiree

# pending → sending → sent | no_consent | invalid_data | failed | unknown; a transient WeChat error
# puts a row back to pending (attempts + 1, next_attempt_at); `cancelled` = the recipient may no
# longer receive it (binding revoked, retiree deceased) when its turn came.
NOTIFICATION_STATUSES = ("pending", "sending", "sent", "no_consent", "invalid_data", "failed",
                         "unknown", "cancelled")
FINAL_STATUSES = ("sent", "no_consent", "invalid_data", "failed", "unknown", "cancelled")
CAMPAIGN_STATUSES = ("draft", "approved", "sending", "paused", "done", "cancelled")
OFFLINE_REASONS = ("no_wechat_binding", "no_consent", "send_failed")
CONSENT_SOURCES = ("api", "popup", "change")


class SubscriptionCredit(db.Model):
    """How many sends an account has allowed for one WeChat template.

    One-time templates: `credits` counts accepts not yet used (never negative: a CHECK, and every
    spend is a conditional UPDATE). Long-term templates: `long_term_active` is standing consent.
    Keyed by the WeChat template id, because WeChat's consent is per template id.
    """

    __tablename__ = "subscription_credit"
    __table_args__ = (
        UniqueConstraint("account_id", "template_id", name="uq_subscription_credit_account_template"),
        CheckConstraint("credits >= 0", name="credits_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[str] = mapped_column(String(64))
    credits: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    long_term_active: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    updated_at = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class ConsentEvent(db.Model):
    """One consent report, from the mini-program (`api`) or a WeChat push (`popup`, `change`).

    Push events carry a natural key (`event_key`, unique) so WeChat's re-deliveries count once.
    An `api` accept and a `popup` accept of the same dialog are paired (`paired_with_id`) so the
    same accept reported by both sides gives one credit.
    """

    __tablename__ = "consent_event"
    __table_args__ = (
        CheckConstraint(check_in("source", CONSENT_SOURCES), name="source"),
        Index("ix_consent_event_pairing", "account_id", "template_id", "source", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(32))
    event_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    occurred_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    paired_with_id: Mapped[int | None] = mapped_column(ForeignKey("consent_event.id", ondelete="SET NULL"))
    credited: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Campaign(db.Model):
    """A message to an audience (holiday greetings). Minimal here; progress is counted from the
    notification rows (`campaign_id`), never kept in counters that every worker would contend on."""

    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint(check_in("status", CAMPAIGN_STATUSES), name="status"),
        # Campaigns (app/domain/campaigns.py): one automatic holiday draft per holiday, year and
        # region, so planning twice is a no-op. Manual campaigns have no holiday (NULLs never clash).
        UniqueConstraint("holiday_key", "holiday_year", "region_id", name="uq_campaign_holiday_region"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    template_key: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="draft", nullable=False, index=True)
    # 45009 (daily quota) pauses until the next service-zone midnight; the sweeper resumes.
    paused_until = mapped_column(UTCDateTime())
    pause_reason: Mapped[str | None] = mapped_column(String(100))
    total_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    offline_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    # ---- audience, schedule and review (campaigns: app/domain/campaigns.py) --------------------
    # Audience: living retirees of the region subtree, with any of `categories` (None/[] = all;
    # `elderly` is computed from the birth date), reached through active bindings of the chosen kinds.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    categories: Mapped[list | None] = mapped_column(JSON)
    include_retirees: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    include_relatives: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    send_at = mapped_column(UTCDateTime())  # None: as soon as approved
    holiday_key: Mapped[str | None] = mapped_column(String(20))
    holiday_year: Mapped[int | None] = mapped_column(Integer)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    approved_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    approved_at = mapped_column(UTCDateTime())
    # Dispatch streams the audience by retiree id; the cursor makes a re-run continue, not restart.
    dispatch_cursor: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    dispatch_started_at = mapped_column(UTCDateTime())
    dispatched_at = mapped_column(UTCDateTime())

    region: Mapped[Region | None] = relationship()


class Notification(db.Model):
    """One message to one account: the outbox row the sender works from AND the inbox item.

    Written in the transaction of the event that causes it; (idempotency_key, account_id) is
    unique, so repeating the event never makes a second message.
    """

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint(check_in("status", NOTIFICATION_STATUSES), name="status"),
        UniqueConstraint("idempotency_key", "account_id", name="uq_notification_key_account"),
        # The sweeper's scans: stale pending / stale sending rows, oldest first.
        Index("ix_notification_status_created", "status", "created_at"),
        # The inbox: an account's items newest first, and its unread count.
        Index("ix_notification_inbox", "account_id", "id"),
        Index("ix_notification_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    # The retiree the message is about (None for a message to an account as such).
    retiree_id: Mapped[int | None] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"))
    template_key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSON)
    link: Mapped[str | None] = mapped_column(String(300))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="pending", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at = mapped_column(UTCDateTime())
    # The RQ job expected to pick the row up; the sweeper checks it still exists.
    job_id: Mapped[str | None] = mapped_column(String(64))
    # Names the claim's start set in Redis (send_starts); read back with the row, never searched
    # on, so it has no index (each claim would only pay to write one).
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at = mapped_column(UTCDateTime())
    credit_reserved: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    sent_at = mapped_column(UTCDateTime())
    msgid: Mapped[str | None] = mapped_column(String(64), index=True)
    errcode: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    delivery_status: Mapped[str | None] = mapped_column(String(40))
    read_at = mapped_column(UTCDateTime())
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    account: Mapped[Account] = relationship()
    retiree: Mapped[Retiree | None] = relationship()


class OfflineContact(db.Model):
    """A retiree staff must reach by phone or at the door: no WeChat binding, no consent, or the
    send failed. `dedupe_key` makes entering the same case twice a no-op."""

    __tablename__ = "offline_contact"
    __table_args__ = (
        CheckConstraint(check_in("reason", OFFLINE_REASONS), name="reason"),
        Index("ix_offline_contact_campaign", "campaign_id", "reason"),
        Index("ix_offline_contact_open", "resolved_at", "created_at",
              sqlite_where=text("resolved_at IS NULL"), postgresql_where=text("resolved_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"))
    template_key: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(20))
    # What caused it: the notify idempotency key (e.g. "booking:12:confirmed").
    source: Mapped[str] = mapped_column(String(200))
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    resolved_at = mapped_column(UTCDateTime())

    retiree: Mapped[Retiree] = relationship()
