"""Fixtures for messaging tests: a community, retirees with bound accounts, credits."""
from __future__ import annotations

import pytest

from app.domain.messaging import templates
from app.extensions import db
from app.models.messaging import SubscriptionCredit
from tests.support import jobs
from tests.support.api import bind, make_account
from tests.support.factories import make_retiree
from tests.support.jobs import real_redis  # noqa: F401 — messaging tests import it from here


@pytest.fixture
def bound_family(tree):
    """A retiree bound to their own account and to one relative's account."""
    retiree = make_retiree(tree["community_a"], name="王秀英")
    me = make_account()
    son = make_account()
    bind(me, retiree, "self")
    bind(son, retiree, "child")
    db.session.commit()
    return retiree, me, son


def give_credits(account, template_key: str, credits: int = 1, long_term: bool = False) -> SubscriptionCredit:
    template_id = templates.get(template_key).template_id
    row = db.session.query(SubscriptionCredit).filter_by(account_id=account.id, template_id=template_id).first()
    if row is None:
        row = SubscriptionCredit(account_id=account.id, template_id=template_id, credits=0, long_term_active=False)
        db.session.add(row)
    row.credits += credits
    row.long_term_active = row.long_term_active or long_term
    db.session.commit()
    return row


BOOKING_DATA = {"name": "王秀英", "service": "养老金资格认证", "time": "2025年3月1日 09:30",
                "place": "光大街社区服务站", "booking_no": "BK20250301001"}


# ---- RQ helpers ---------------------------------------------------------------------------------

GREETING = {"festival": "春节", "greeting": "新春快乐，阖家幸福", "sender": "光大街社区", "date": "2026年2月17日"}


def run_worker(app, *, scheduler: bool = False, max_jobs: int | None = None) -> None:
    """A burst RQ worker on the messages queue only."""
    jobs.run_worker(app, queues=("messages",), scheduler=scheduler, max_jobs=max_jobs)


def make_audience(n: int, *, consent_every: int | None = 3,
                  campaign_status: str = "sending") -> tuple[int, list[int], set[str]]:
    """n accounts, a campaign and one pending notification each (bulk, as a campaign would write
    them); every `consent_every`-th account has NO credit (None: all have one).
    Returns (campaign id, notification ids, consenting openids)."""
    from sqlalchemy import insert, select

    from app.models import Account
    from app.models.messaging import Campaign, Notification

    tag = f"bulk{n}"
    db.session.execute(insert(Account), [{"openid": f"openid-{tag}-{i}"} for i in range(n)])
    accounts = db.session.execute(select(Account.id, Account.openid).where(
        Account.openid.like(f"openid-{tag}-%")).order_by(Account.id)).all()
    template_id = templates.get("holiday_greeting").template_id
    consenting = [(a, o) for i, (a, o) in enumerate(accounts) if consent_every is None or i % consent_every != 0]
    db.session.execute(insert(SubscriptionCredit), [
        {"account_id": a, "template_id": template_id, "credits": 1, "long_term_active": False} for a, _ in consenting])
    campaign = Campaign(name="春节问候", template_key="holiday_greeting", status=campaign_status, total_count=n)
    db.session.add(campaign)
    db.session.flush()
    campaign_id = campaign.id
    db.session.execute(insert(Notification), [
        {"account_id": a, "campaign_id": campaign_id, "template_key": "holiday_greeting", "title": "节日慰问",
         "data": GREETING, "idempotency_key": f"campaign:{campaign_id}", "status": "pending"} for a, _ in accounts])
    ids = list(db.session.scalars(select(Notification.id).where(Notification.campaign_id == campaign_id)
                                  .order_by(Notification.id)))
    db.session.commit()
    return campaign_id, ids, {o for _, o in consenting}


def status_counts() -> dict[str, int]:
    from sqlalchemy import func, select

    from app.models.messaging import Notification

    db.session.expire_all()
    rows = db.session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all()
    db.session.commit()
    return dict(rows)
