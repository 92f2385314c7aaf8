"""Campaign jobs. Thin: app context, one domain call, counts returned.

All are idempotent: dispatch resumes from the campaign's cursor and skips rows already written
(unique idempotency key), planning skips holiday drafts that exist, the tick only moves
campaigns by conditional updates.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from app.domain.campaigns import dispatch, holidays, lifecycle
from app.extensions import db
from app.jobs import jobs
from workers import app_context

# The holiday planner once a day at 08:00 Asia/Shanghai (00:00 UTC); the tick every minute
# (scheduled sends, finished campaigns, stalled dispatchers).
PERIODIC = (
    {"func": "workers.campaigns.plan_holiday_campaigns", "queue": "default", "cron": "0 0 * * *", "timeout": 600},
    {"func": "workers.campaigns.tick", "queue": "default", "interval": 60, "timeout": 300},
)
STALLED_DISPATCH = timedelta(minutes=10)
LOST_BATCH = timedelta(minutes=2)


def dispatch_campaign(campaign_id: int) -> dict:
    """Walk the campaign's audience by retiree id and enqueue one slice job per batch."""
    with app_context():
        return asdict(dispatch.dispatch(campaign_id))


def send_campaign_batch(batch_id: int) -> dict:
    """One slice: write its notification and offline-list rows, then send them."""
    with app_context():
        return dispatch.run_batch(batch_id)


def requeue_campaign(campaign_id: int) -> dict:
    """After a resume: send jobs for the campaign's pending rows."""
    with app_context():
        return {"requeued": dispatch.requeue_pending(campaign_id)}


def plan_holiday_campaigns() -> dict:
    """Draft the greeting campaigns of holidays within HOLIDAY_CAMPAIGN_LEAD_DAYS."""
    with app_context():
        result = holidays.plan_holiday_campaigns()
        db.session.commit()
        return {"created": len(result.created), "existing": result.existing,
                "holidays": [f"{key}:{year}" for key, year, _ in result.holidays]}


def tick() -> dict:
    """Start campaigns whose send time came, close finished ones, restart stalled dispatchers,
    enqueue again slices whose job was lost."""
    with app_context():
        started = lifecycle.dispatch_due()
        done = dispatch.finish_done_campaigns()
        db.session.commit()
        stalled = dispatch.stalled_dispatch_ids(STALLED_DISPATCH)
        db.session.rollback()
        for campaign_id in stalled:
            jobs.enqueue(lifecycle.DISPATCH_JOB, campaign_id, queue="default", **lifecycle.job_options())
        relaunched = dispatch.relaunch_lost_batches(LOST_BATCH)
        return {"started": started, "done": done, "restarted": len(stalled), "relaunched": relaunched}
