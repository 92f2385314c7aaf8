"""Campaigns through real RQ jobs (burst workers; forking on real Redis) and the sandbox: exactly
one message per consenting recipient, pause/resume, WeChat's 45009 quota pause, lost jobs."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.domain import clock
from app.domain.campaigns import lifecycle
from app.domain.messaging import sweeper
from app.extensions import db, redis_store
from app.models.campaigns import CampaignBatch
from app.models.messaging import Campaign, OfflineContact
from tests.support.campaigns import bulk_audience, new_campaign, run_worker, status_counts
from tests.support.factories import make_staff


@pytest.fixture
def admin(tree):
    staff = make_staff("street_admin", tree["street_a"])
    db.session.commit()
    return staff


def _assert_exactly_once(sandbox, consenting: set[str]) -> None:
    stats = sandbox.stats()
    assert stats["duplicates"] == 0 and stats.get("duplicate_sends", 0) == 0
    assert stats["accepted"] == len(consenting)
    assert [o for o in consenting if sandbox.sent_count(touser=o) != 1] == []


@pytest.mark.slow
def test_a_few_thousand_recipients_exactly_once(rq_mode, tree, admin, wechat_sandbox):
    consenting = bulk_audience(tree["community_a"], 3000)
    campaign = new_campaign(admin, tree["street_a"], include_relatives=False)
    lifecycle.approve(admin, campaign)
    db.session.commit()  # the dispatch job goes to Redis
    run_worker(rq_mode)
    counts = status_counts(campaign.id)
    assert counts == {"sent": 2000, "no_consent": 1000}
    _assert_exactly_once(wechat_sandbox, consenting)
    assert db.session.query(CampaignBatch).count() == 6  # slices of 500, one job each
    assert db.session.query(OfflineContact).filter_by(campaign_id=campaign.id, reason="no_consent").count() == 1000
    # A duplicate dispatch (a retried job, a restart from scratch) sends nothing more.
    db.session.execute(update(Campaign).where(Campaign.id == campaign.id).values(dispatched_at=None,
                                                                                 dispatch_cursor=0))
    db.session.commit()
    from app.jobs import jobs

    jobs.enqueue(lifecycle.DISPATCH_JOB, campaign.id, queue="default")
    run_worker(rq_mode)
    assert status_counts(campaign.id) == {"sent": 2000, "no_consent": 1000}
    assert wechat_sandbox.stats()["accepted"] == 2000
    from workers import campaigns as campaign_jobs

    assert campaign_jobs.tick()["done"] == 1


def test_pause_stops_sending_and_resume_sends_the_rest_once(rq_mode, tree, admin, wechat_sandbox):
    consenting = bulk_audience(tree["community_a"], 600, consent_every=None)
    rq_mode.config["MESSAGING_BATCH_SIZE"] = 200
    campaign = new_campaign(admin, tree["street_a"], include_relatives=False)
    lifecycle.approve(admin, campaign)
    db.session.commit()
    run_worker(rq_mode, queues=("default",))  # dispatch only: three slice jobs wait
    lifecycle.pause(admin, db.session.get(Campaign, campaign.id))
    db.session.commit()
    run_worker(rq_mode)  # the slices are written, but nothing of a paused campaign is sent
    assert status_counts(campaign.id) == {"pending": 600}
    assert wechat_sandbox.stats()["accepted"] == 0
    progress = lifecycle.progress(db.session.get(Campaign, campaign.id))
    assert (progress.status, progress.queued, progress.sent) == ("paused", 600, 0)
    lifecycle.resume(admin, db.session.get(Campaign, campaign.id))
    db.session.commit()  # the requeue job goes to Redis
    run_worker(rq_mode)
    assert status_counts(campaign.id) == {"sent": 600}
    _assert_exactly_once(wechat_sandbox, consenting)


def test_quota_45009_pauses_until_midnight_then_resumes(rq_mode, tree, admin, wechat_sandbox):
    consenting = bulk_audience(tree["community_a"], 300, consent_every=None)
    start = clock.now()
    with clock.frozen(start):
        campaign = new_campaign(admin, tree["street_a"], include_relatives=False)
        wechat_sandbox.set_quota_exhausted(True)
        lifecycle.approve(admin, campaign)
        db.session.commit()
        run_worker(rq_mode)
        db.session.expire_all()
        campaign = db.session.get(Campaign, campaign.id)
        assert campaign.status == "paused" and "45009" in campaign.pause_reason
        midnight = campaign.paused_until.astimezone(clock.SERVICE_ZONE)
        assert (midnight.hour, midnight.minute) == (0, 0) and midnight.date() == clock.today() + timedelta(days=1)
        assert status_counts(campaign.id) == {"pending": 300}
        wechat_sandbox.set_quota_exhausted(False)
        sweeper.sweep()  # before midnight: still paused, nothing re-enqueued
        run_worker(rq_mode)
        assert wechat_sandbox.stats()["accepted"] == 0
    with clock.frozen(campaign.paused_until + timedelta(minutes=5)):
        stats = sweeper.sweep()
        assert stats["resumed_campaigns"] == 1 and stats["reenqueued"] == 300
        run_worker(rq_mode)
        assert status_counts(campaign.id) == {"sent": 300}
    _assert_exactly_once(wechat_sandbox, consenting)


def test_slices_lost_with_redis_are_enqueued_again_by_the_tick(rq_mode, tree, admin, wechat_sandbox):
    from workers import campaigns as campaign_jobs

    consenting = bulk_audience(tree["community_a"], 400, consent_every=None)
    rq_mode.config["MESSAGING_BATCH_SIZE"] = 100
    start = clock.now()
    with clock.frozen(start):
        campaign = new_campaign(admin, tree["street_a"], include_relatives=False)
        lifecycle.approve(admin, campaign)
        db.session.commit()
        run_worker(rq_mode, queues=("default",))  # dispatched: four slice jobs in Redis
        redis_store.client.flushdb()               # … and gone
        run_worker(rq_mode)
        assert status_counts(campaign.id) == {}
        assert campaign_jobs.tick()["relaunched"] == 0  # not stale yet
    with clock.frozen(start + timedelta(minutes=5)):
        assert campaign_jobs.tick()["relaunched"] == 4
        run_worker(rq_mode)
        assert status_counts(campaign.id) == {"sent": 400}
        assert campaign_jobs.tick() == {"started": 0, "done": 1, "restarted": 0, "relaunched": 0}
    assert db.session.scalar(select(CampaignBatch.id).where(CampaignBatch.written_at.is_(None))) is None
    _assert_exactly_once(wechat_sandbox, consenting)
