"""CLI: `flask worker` (inline loop), `flask sweep`, and the JSON cron scheduler."""
from __future__ import annotations

import json
import zlib

from rq.serializers import JSONSerializer

from app.extensions import redis_store
from tests.support.messaging import make_audience, run_worker, status_counts
from workers import cron


def test_sweep_command_prints_counts(runner, app):
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"resumed_campaigns": 0, "unknown": 0, "unstarted": 0, "reenqueued": 0,
                                          "cancelled": 0}


def test_inline_worker_runs_the_periodic_jobs_once(runner, app, wechat_sandbox):
    app.config["MESSAGING_PENDING_STALE_SECONDS"] = 0
    try:
        make_audience(3, consent_every=None)
        result = runner.invoke(args=["worker", "--burst"])
    finally:
        app.config.pop("MESSAGING_PENDING_STALE_SECONDS")
    assert result.exit_code == 0, result.output
    assert status_counts() == {"sent": 3}  # the sweeper found the never-enqueued rows


def test_periodic_jobs_are_declared_as_data(app):
    jobs = {job.func: job for job in cron.periodic_jobs(app)}
    assert jobs["workers.messaging.sweep"].interval == 30
    assert jobs["workers.messaging.sweep"].queue == "messages"


def test_cron_enqueues_json_jobs_a_json_worker_runs(rq_mode, wechat_sandbox):
    make_audience(2, consent_every=None)
    scheduler = cron.build_scheduler(rq_mode, redis_store.client)
    enqueued = scheduler.enqueue_jobs()  # interval jobs are due at once
    sweep = next(job for job in enqueued if job.func_name == "workers.messaging.sweep")
    assert sweep.queue_name == f"{rq_mode.config['RQ_QUEUE_PREFIX']}:messages"
    from app.jobs import jobs

    [job] = [j for j in jobs.queue("messages").get_jobs() if j.func_name == "workers.messaging.sweep"]
    payload = zlib.decompress(redis_store.client.hget(job.key, "data"))
    assert JSONSerializer.loads(payload)[0] == "workers.messaging.sweep"  # JSON, not pickle
    run_worker(rq_mode)  # the sweep job, then the send job it enqueued
    run_worker(rq_mode)
    assert status_counts() == {"sent": 2}


def test_send_workers_run_jobs_in_process_and_import_workers_fork():
    from app.commands.worker import forks

    redis_url = "redis://127.0.0.1:6379/0"
    assert forks(["messages", "default"], None, redis_url) is False
    assert forks(["messages", "default", "imports"], None, redis_url) is True
    assert forks(["messages"], True, redis_url) is True          # --fork
    assert forks(["imports"], False, redis_url) is False         # --simple
    assert forks(["imports"], True, "memory://x") is False       # the stand-in lives in this process
