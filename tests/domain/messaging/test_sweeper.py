"""The sweeper: lost jobs re-enqueued, live jobs left alone, stale sends unknown, pauses expire."""
from __future__ import annotations

from datetime import timedelta

from rq.job import Job

from app.domain import clock
from app.domain.messaging import outbox, sweeper
from app.extensions import db, redis_store
from app.models.messaging import Campaign, Notification
from tests.support.messaging import make_audience, run_worker, status_counts


def test_queued_jobs_are_left_alone_lost_ones_are_reenqueued(rq_mode, wechat_sandbox):
    _, ids, _ = make_audience(30, consent_every=None)
    job_ids = outbox.enqueue_send(ids)
    db.session.commit()
    assert sweeper.sweep()["reenqueued"] == 0  # the job still waits in Redis: no second job
    redis_store.client.delete(Job.key_for(job_ids[0]))  # lost (flush, eviction, failed enqueue)
    assert sweeper.sweep()["reenqueued"] == 30
    run_worker(rq_mode)
    assert status_counts() == {"sent": 30}
    assert wechat_sandbox.stats()["accepted"] == 30  # two jobs for the same rows, one send each


def test_young_pending_rows_wait_for_their_job(rq_mode):
    rq_mode.config["MESSAGING_PENDING_STALE_SECONDS"] = 3600
    _, ids, _ = make_audience(5)
    assert sweeper.sweep()["reenqueued"] == 0  # created a moment ago: not stale yet
    with clock.frozen(clock.now() + timedelta(hours=2)):
        assert sweeper.sweep()["reenqueued"] == 5


def test_stale_sending_rows_become_unknown_and_are_never_resent(app, wechat_sandbox):
    _, ids, _ = make_audience(4, consent_every=None)
    db.session.execute(Notification.__table__.update().where(Notification.id.in_(ids[:2]))
                       .values(status="sending", claimed_at=clock.now() - timedelta(hours=1)))
    db.session.commit()
    app.config["MESSAGING_PENDING_STALE_SECONDS"] = 0
    try:
        stats = sweeper.sweep()
    finally:
        app.config.pop("MESSAGING_PENDING_STALE_SECONDS")
    assert stats["unknown"] == 2 and stats["reenqueued"] == 2
    assert status_counts() == {"unknown": 2, "sent": 2}
    assert wechat_sandbox.stats()["accepted"] == 2


def test_cancelled_campaign_rows_are_cancelled(app):
    campaign_id, ids, _ = make_audience(3, campaign_status="cancelled")
    assert sweeper.sweep()["cancelled"] == 3
    assert status_counts() == {"cancelled": 3}


def test_manual_pause_is_not_resumed_and_its_rows_wait(app, wechat_sandbox):
    campaign_id, ids, _ = make_audience(3, campaign_status="paused")
    app.config["MESSAGING_PENDING_STALE_SECONDS"] = 0
    try:
        stats = sweeper.sweep()
    finally:
        app.config.pop("MESSAGING_PENDING_STALE_SECONDS")
    assert stats["resumed_campaigns"] == 0 and stats["reenqueued"] == 0
    assert db.session.get(Campaign, campaign_id).status == "paused"
    assert outbox.status_counts(campaign_id) == {"pending": 3}


def test_a_dead_claims_unstarted_rows_are_sent_again_begun_ones_never(app, wechat_sandbox):
    from sqlalchemy import select

    from app.domain.messaging import consent, send_starts, templates
    from app.models.messaging import SubscriptionCredit

    _, ids, _ = make_audience(4, consent_every=None)
    rows = {r.id: r for r in db.session.scalars(select(Notification).where(Notification.id.in_(ids)))}
    template_id = templates.get("holiday_greeting").template_id
    # A job died holding one claim of three rows (credits reserved) after beginning the first;
    # the fourth row belongs to a claim whose start set is gone (Redis flushed).
    assert consent.reserve_many([(rows[i].account_id, template_id) for i in ids[:3]]) == [True] * 3
    key = send_starts.open_claim("dead-claim")
    assert send_starts.mark_started(redis_store.client, key, ids[0])
    an_hour_ago = clock.now() - timedelta(hours=1)
    for i in ids:
        db.session.execute(Notification.__table__.update().where(Notification.id == i).values(
            status="sending", claimed_at=an_hour_ago, credit_reserved=i in ids[:3],
            claim_token="dead-claim" if i in ids[:3] else "flushed-claim"))
    db.session.commit()
    app.config["MESSAGING_PENDING_STALE_SECONDS"] = 0
    try:
        stats = sweeper.sweep()   # inline jobs: the re-enqueued rows are sent at once
    finally:
        app.config.pop("MESSAGING_PENDING_STALE_SECONDS")
    assert (stats["unknown"], stats["unstarted"], stats["reenqueued"]) == (2, 2, 2)
    db.session.expire_all()
    assert [db.session.get(Notification, i).status for i in ids] == ["unknown", "sent", "sent", "unknown"]
    assert wechat_sandbox.stats()["accepted"] == 2 and wechat_sandbox.stats()["duplicates"] == 0
    credits = {c.account_id: c.credits for c in db.session.scalars(select(SubscriptionCredit))}
    # Begun: its credit stays spent. Unstarted: given back, then spent on the real send.
    # The flushed claim's row had reserved nothing.
    assert [credits[rows[i].account_id] for i in ids] == [0, 0, 0, 1]
