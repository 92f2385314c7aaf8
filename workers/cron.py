"""Periodic jobs, declared as data, and the scheduler that enqueues them.

Every module in `workers/` may declare `PERIODIC`: a sequence of
`{"func": "workers.x.y", "queue": "default", "interval": seconds | "cron": "m h dom mon dow",
"timeout": seconds}`. Cron fields are UTC (00:10 Asia/Shanghai = "10 16 * * *").

Run them with `flask --app app cron` (RQ 3's cron scheduler, `rq.cron.CronScheduler`, with two
changes: jobs are enqueued with the JSON serializer — RQ 3.0.0's `CronJob.enqueue` always uses
pickle, which our JSON workers cannot read, so plain `rq cron` does not fit — and cron fields are
read in UTC rather than the machine's zone). In JOBS_MODE=inline, `flask --app app worker` runs
the same declarations in-process (`run_inline`).
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter
from flask import Flask
from rq.cron import CronJob, CronScheduler
from rq.queue import Queue
from rq.serializers import JSONSerializer

from app.jobs import resolve

log = logging.getLogger(__name__)

# Messaging: the outbox sweeper (see app/domain/sweeper.py). Its interval is a setting, so it is
# filled in by `periodic_jobs`.
PERIODIC = (
    {"func": "workers.messaging.sweep", "queue": "messages", "interval": "MESSAGING_SWEEP_INTERVAL", "timeout": 300},
)


@dataclass(frozen=True)
class Periodic:
    func: str
    queue: str
    interval: int | None
    cron: str | None
    timeout: int

    def next_after(self, moment: datetime) -> datetime:
        if self.cron:
            return croniter(self.cron, moment.astimezone(UTC)).get_next(datetime)
        return moment + timedelta(seconds=self.interval or 60)


def periodic_jobs(app: Flask) -> list[Periodic]:
    """Every `PERIODIC` declaration of every module in `workers/`."""
    import workers

    out: list[Periodic] = []
    for info in sorted(pkgutil.iter_modules(workers.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"workers.{info.name}")
        for spec in getattr(module, "PERIODIC", ()):
            interval = spec.get("interval")
            if isinstance(interval, str):
                interval = app.config[interval]
            out.append(Periodic(spec["func"], spec.get("queue", "default"), interval, spec.get("cron"),
                                int(spec.get("timeout", 300))))
    return out


# ---- RQ cron with JSON jobs ---------------------------------------------------------------------

class JSONCronJob(CronJob):
    """An RQ CronJob that enqueues with the JSON serializer and reads cron fields in UTC."""
    def enqueue(self, connection):
        from rq import cron_job_registry
        from rq.defaults import DEFAULT_CRON_JOB_HISTORY_LIMIT, DEFAULT_CRON_JOB_HISTORY_TTL

        queue = Queue(self.queue_name, connection=connection, serializer=JSONSerializer)
        with connection.pipeline() as pipeline:
            job = queue.enqueue(self.func, args=self.args, kwargs=self.kwargs, **self.job_options, pipeline=pipeline)
            pipeline.zadd(self.job_history_key, {job.id: job.enqueued_at.timestamp()})
            pipeline.zremrangebyrank(self.job_history_key, 0, -(DEFAULT_CRON_JOB_HISTORY_LIMIT + 1))
            pipeline.expire(self.job_history_key, DEFAULT_CRON_JOB_HISTORY_TTL)
            cron_job_registry.add(self.name, pipeline, enqueue_timestamp=job.enqueued_at.timestamp())
            pipeline.execute()
        log.info("cron enqueued %s on %s", self.func_name, self.queue_name)
        return job

    def get_next_enqueue_time(self) -> datetime:
        if self.cron:
            base = self.latest_enqueue_time or datetime.now(UTC)
            return croniter(self.cron, base.astimezone(UTC)).get_next(datetime)
        return super().get_next_enqueue_time()


class JSONCronScheduler(CronScheduler):
    def register(self, func, queue_name, args=None, kwargs=None, interval=None, cron=None, job_timeout=None,
                 result_ttl=500, ttl=None, failure_ttl=None, meta=None, webhooks=None, name=""):
        job = JSONCronJob(queue_name=queue_name, func=func, args=args, kwargs=kwargs, interval=interval, cron=cron,
                          job_timeout=job_timeout, result_ttl=result_ttl, ttl=ttl, failure_ttl=failure_ttl,
                          meta=meta, webhooks=webhooks, name=name)
        self._cron_jobs.append(job)
        return job


def build_scheduler(app: Flask, connection) -> JSONCronScheduler:
    scheduler = JSONCronScheduler(connection=connection)
    prefix = app.config["RQ_QUEUE_PREFIX"]
    for job in periodic_jobs(app):
        scheduler.register(resolve(job.func), f"{prefix}:{job.queue}", interval=job.interval, cron=job.cron,
                           job_timeout=job.timeout, failure_ttl=7 * 86400)
    return scheduler


# ---- inline mode --------------------------------------------------------------------------------

def run_inline(app: Flask, *, tick: float = 5.0, rounds: int | None = None) -> None:
    """Run the periodic jobs in this process (JOBS_MODE=inline): interval jobs at once, then on
    schedule. An error is logged and the loop goes on (the job raised; the next run retries)."""
    entries = periodic_jobs(app)
    now = datetime.now(UTC)
    due = {job: (now if job.interval else job.next_after(now)) for job in entries}
    done = 0
    while rounds is None or done < rounds:
        now = datetime.now(UTC)
        for job in entries:
            if now >= due[job]:
                try:
                    result = resolve(job.func)()
                    log.info("periodic %s: %s", job.func, result)
                except Exception:  # noqa: BLE001 — keep the loop alive; the failure is in the log
                    log.exception("periodic %s failed", job.func)
                due[job] = job.next_after(now)
        done += 1
        if rounds is not None and done >= rounds:
            break
        wait = min((moment - datetime.now(UTC)).total_seconds() for moment in due.values())
        time.sleep(max(0.1, min(tick, wait)))
