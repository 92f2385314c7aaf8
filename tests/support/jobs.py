"""Running jobs through real RQ in tests: queue mode on the test Redis, and burst workers."""
from __future__ import annotations

import pytest
from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from app.extensions import db, redis_store
from app.jobs import jobs


def real_redis(app) -> bool:
    return not app.config["REDIS_URL"].startswith("memory://")


@pytest.fixture
def rq_mode(app):
    """Jobs go to RQ queues (the test Redis); run them with `run_worker`. Short sweeper thresholds."""
    app.config.update(JOBS_MODE="rq", MESSAGING_PENDING_STALE_SECONDS=0)
    yield app
    app.config["JOBS_MODE"] = "inline"
    for key in ("MESSAGING_PENDING_STALE_SECONDS", "MESSAGING_SENDING_STALE_SECONDS", "MESSAGING_RETRY_BASE_SECONDS",
                "MESSAGING_SEND_CONCURRENCY", "MESSAGING_BATCH_SIZE"):
        app.config.pop(key, None)


def run_worker(app, *, queues=("messages", "default"), scheduler: bool = False, max_jobs: int | None = None) -> None:
    """A burst RQ worker: forking on real Redis (as in production), in-process on fakeredis."""
    db.session.commit()  # SQLite: no transaction of ours may hold the write lock meanwhile
    worker_class = Worker if real_redis(app) else SimpleWorker
    worker = worker_class([jobs.queue(q) for q in queues], connection=redis_store.client,
                          serializer=JSONSerializer)
    worker.work(burst=True, with_scheduler=scheduler, max_jobs=max_jobs)
