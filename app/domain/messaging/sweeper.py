"""The outbox sweeper (a periodic job, `workers.messaging.sweep`): the safety net under the send jobs.

1. Campaigns paused by WeChat's daily quota (45009) whose pause has expired go back to `sending`.
2. Rows left in `sending` longer than MESSAGING_SENDING_STALE_SECONDS (a killed worker, a job
   timeout): those whose send had begun become `unknown` — never re-sent blindly, because WeChat
   has no idempotency key; those no sender had picked up go back to `pending` with their credit
   (app/domain/send_starts.py tells them apart; when it cannot, all become `unknown`).
3. Rows `pending` for longer than MESSAGING_PENDING_STALE_SECONDS whose send job no longer waits
   in Redis (enqueue failed while Redis was down, Redis flushed, job failed) are re-enqueued in
   new batch jobs. A job still queued, deferred or scheduled (and not overdue) is left alone, so
   a long campaign backlog is not doubled. Pending rows of cancelled campaigns are cancelled.

Cheap: every scan uses the (status, created_at) index, and pending rows are first grouped by
job id (one Redis round trip for all groups) before any id is read.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from app.domain import clock
from app.domain.messaging import consent, send_starts, templates
from app.domain.messaging import outbox as messaging
from app.extensions import db, redis_store
from app.models.messaging import Campaign, Notification

log = logging.getLogger(__name__)

ALIVE_STATUSES = {"queued", "deferred", "scheduled"}


def sweep() -> dict[str, int]:
    """Run the three passes once; commits after each. Returns counts."""
    now = clock.now()
    stats = {"resumed_campaigns": 0, "unknown": 0, "unstarted": 0, "reenqueued": 0, "cancelled": 0}

    stats["resumed_campaigns"] = db.session.execute(
        update(Campaign).where(Campaign.status == "paused", Campaign.paused_until.is_not(None),
                               Campaign.paused_until <= now)
        .values(status="sending", paused_until=None, pause_reason=None, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()

    stats["unknown"], stats["unstarted"] = _settle_stale_sending(now)

    cancelled_campaigns = select(Campaign.id).where(Campaign.status == "cancelled")
    stats["cancelled"] = db.session.execute(
        update(Notification).where(Notification.status == "pending",
                                   Notification.campaign_id.in_(cancelled_campaigns))
        .values(status="cancelled", error="活动已取消", updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()

    stats["reenqueued"] = _reenqueue_lost(now)
    if any(stats.values()):
        log.info("sweep %s", " ".join(f"{k}={v}" for k, v in stats.items()))
    return stats


def _settle_stale_sending(now, chunk: int = 1000) -> tuple[int, int]:
    """Stale `sending` rows → `unknown`, or back to `pending` if their send never began.
    COMMITS per chunk. Returns (unknown, unstarted)."""
    stale = now - timedelta(seconds=current_app.config["MESSAGING_SENDING_STALE_SECONDS"])
    unknown = unstarted = 0
    while True:
        rows = db.session.execute(
            select(Notification.id, Notification.claim_token, Notification.credit_reserved,
                   Notification.account_id, Notification.template_key)
            .where(Notification.status == "sending", Notification.claimed_at < stale)
            .order_by(Notification.id).limit(chunk)).all()
        if not rows:
            db.session.rollback()
            return unknown, unstarted
        started = send_starts.started_ids({r.claim_token for r in rows if r.claim_token})
        never = [r for r in rows if started.get(r.claim_token) is not None and r.id not in started[r.claim_token]]
        never_ids = {r.id for r in never}
        maybe = [r.id for r in rows if r.id not in never_ids]
        unknown += db.session.execute(
            update(Notification).where(Notification.id.in_(maybe), Notification.status == "sending")
            .values(status="unknown", updated_at=now,
                    error="发送中断（进程退出或超时），无法确认微信是否已收到，不再自动重发")
            .execution_options(synchronize_session=False)).rowcount if maybe else 0
        if never:
            unstarted += db.session.execute(
                update(Notification).where(Notification.id.in_(never_ids), Notification.status == "sending")
                .values(status="pending", claim_token=None, claimed_at=None, credit_reserved=False,
                        error="发送中断，尚未发出：将重新发送", updated_at=now)
                .execution_options(synchronize_session=False)).rowcount
            credits: dict[tuple[int, str], int] = defaultdict(int)
            for r in never:
                if r.credit_reserved:
                    credits[(r.account_id, templates.get(r.template_key).template_id)] += 1
            consent.release_many(credits)
        db.session.commit()


def _due_pending(now, threshold):
    paused = select(Campaign.id).where(Campaign.status == "paused")
    return (Notification.status == "pending", Notification.created_at < threshold,
            or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
            or_(Notification.campaign_id.is_(None), Notification.campaign_id.not_in(paused)))


def _reenqueue_lost(now) -> int:
    threshold = now - timedelta(seconds=current_app.config["MESSAGING_PENDING_STALE_SECONDS"])
    conditions = _due_pending(now, threshold)
    groups = db.session.execute(
        select(Notification.job_id, func.min(Notification.next_attempt_at))
        .where(*conditions).group_by(Notification.job_id)).all()
    db.session.rollback()  # end the read transaction before talking to Redis
    if not groups:
        return 0
    statuses = _job_statuses([job_id for job_id, _ in groups])
    lost = [job_id for (job_id, due), status in zip(groups, statuses, strict=True)
            if not _alive(status, due, threshold)]
    total = 0
    size = current_app.config["MESSAGING_BATCH_SIZE"]
    for job_id in lost:
        last_id = 0
        while True:
            job_filter = Notification.job_id.is_(None) if job_id is None else Notification.job_id == job_id
            ids = list(db.session.scalars(select(Notification.id).where(*conditions, job_filter,
                                                                       Notification.id > last_id)
                                          .order_by(Notification.id).limit(size)))
            if not ids:
                db.session.rollback()
                break
            messaging.enqueue_send(ids)
            db.session.commit()   # the enqueue happens on commit, with the rows' new job id
            total += len(ids)
            last_id = ids[-1]
    return total


def _alive(status: str | None, due, threshold) -> bool:
    """Is the row group's job still going to run? (A delayed retry long overdue: no scheduler.)"""
    if status not in ALIVE_STATUSES:
        return False
    return status != "scheduled" or due is None or due > threshold


def _job_statuses(job_ids: list[str | None]) -> list[str | None]:
    """RQ status of each job id (None: no such job, or no job id), in one pipeline."""
    from rq.job import Job

    if current_app.config["JOBS_MODE"] == "inline":
        return [None] * len(job_ids)
    client = redis_store.client
    with client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(Job.key_for(job_id or "-"), "status")
        raw = pipe.execute()
    return [value.decode() if isinstance(value, bytes) else value for value in raw]
