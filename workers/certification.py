"""Certification jobs (queue `default`). Thin: app context, one domain call, counts returned.

Both are idempotent (statuses move by conditional updates, messages carry idempotency keys),
so a job run twice, or retried after a crash, changes nothing the first run did not.
"""
from __future__ import annotations

from dataclasses import asdict

from app.domain.certification import daily, waitlist
from app.extensions import db
from workers import app_context

# Periodic jobs as data, for the `rq cron` registration: the daily clock shortly after local
# midnight (00:10 Asia/Shanghai = 16:10 UTC) and the waitlist offer expiry every 5 minutes.
PERIODIC = (
    {"func": "workers.certification.daily_tick", "queue": "default", "cron": "10 16 * * *", "timeout": 3600},
    {"func": "workers.certification.expire_waitlist_offers", "queue": "default", "interval": 300, "timeout": 300},
)


def daily_tick() -> dict:
    """The clock for every retiree today: transitions, suspensions, home-visit tasks, reminders."""
    with app_context():
        return asdict(daily.daily_tick())


def expire_waitlist_offers() -> dict:
    """Expire waitlist offers past their hold; the seats pass to the next in line or are freed."""
    with app_context():
        expired = waitlist.expire_offers()
        db.session.commit()
        return {"expired": expired}
