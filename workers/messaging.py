"""Messaging jobs (queue `messages`). Thin: app context, one call to `app.domain.sending`.

They raise on unexpected errors (RQ then records the failure and applies the job's `Retry`);
a retried batch re-claims only rows still `pending`, so a retry never sends twice.
"""
from __future__ import annotations

import logging

from app.domain.messaging import sending, sweeper
from workers import app_context

log = logging.getLogger(__name__)


def _job_id() -> str:
    from rq import get_current_job

    job = get_current_job()
    return job.id if job else "-"


def send_batch(notification_ids: list[int]) -> dict:
    """Send the notifications this job can claim; returns counts per outcome."""
    with app_context():
        counts = sending.send_batch(notification_ids)
    log.info("job=%s func=send_batch ids=%d %s", _job_id(), len(notification_ids),
             " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return counts


def sweep() -> dict:
    """Periodic: re-enqueue lost pending rows, mark stale sending rows unknown, resume campaigns."""
    with app_context():
        counts = sweeper.sweep()
    log.info("job=%s func=sweep %s", _job_id(), " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return counts
