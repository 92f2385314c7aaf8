"""Worker processes through the Flask CLI, so they share the app's configuration.

- `flask --app app worker` — JOBS_MODE=rq: an RQ worker (JSON serializer, `--with-scheduler` by
  default: delayed retries need it) on the prefixed queues. JOBS_MODE=inline: runs the periodic
  jobs (`workers/cron.py`) in a loop, so `make run` still sweeps the outbox.
- `flask --app app cron` — enqueues the periodic jobs on schedule (RQ 3 cron, JSON jobs).
- `flask --app app sweep` — the outbox sweeper once (prints its counts).
"""
from __future__ import annotations

import json
import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from app.domain.messaging import sweeper
from app.extensions import RedisStore, db, redis_store
from app.jobs import QUEUES, jobs


@click.command("worker")
@click.option("--queues", default=",".join(("messages", *[q for q in QUEUES if q != "messages"])), show_default=True,
              help="Comma-separated queue names, highest priority first (the prefix is added).")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--scheduler/--no-scheduler", default=True, show_default=True,
              help="Also run RQ's scheduler (delayed retry jobs).")
@click.option("--maintenance-interval", type=int, default=60, show_default=True,
              help="Seconds between RQ maintenance passes (clean-up of jobs of dead workers).")
@click.option("--fork/--simple", "fork", default=None,
              help="A forked child per job, or jobs in this process. Default: fork only when serving `imports`.")
@click.option("--tick", type=float, default=5.0, show_default=True, help="Inline mode: loop granularity, seconds.")
@with_appcontext
def worker_command(queues: str, burst: bool, scheduler: bool, maintenance_interval: int, fork: bool | None,
                   tick: float) -> None:
    """Process jobs (RQ), or run the periodic jobs in-process when JOBS_MODE=inline."""
    import workers
    from workers import cron

    app = current_app._get_current_object()
    workers.set_app(app)
    if app.config["JOBS_MODE"] == "inline":
        click.echo("JOBS_MODE=inline: running periodic jobs in this process", err=True)
        cron.run_inline(app, tick=tick, rounds=1 if burst else None)
        return
    from rq import SimpleWorker, Worker
    from rq.serializers import JSONSerializer

    url = app.config["REDIS_URL"]
    names = [name.strip() for name in queues.split(",") if name.strip()]
    worker_class = Worker if forks(names, fork, url) else SimpleWorker
    connection = _worker_connection(url)
    rq_queues = [jobs.queue(name) for name in names]
    for queue in rq_queues:
        queue.connection = connection
    _warm_up()
    # The forked job process inherits the pool's open sockets: drop them so no two processes
    # ever share a database connection (the child opens its own on first use).

    db.engine.dispose(close=False)
    worker = worker_class(rq_queues, connection=connection, serializer=JSONSerializer,
                          maintenance_interval=maintenance_interval)
    worker.work(burst=burst, with_scheduler=scheduler, logging_level=logging.getLevelName(logging.INFO))


def forks(queue_names: list[str], fork: bool | None, redis_url: str) -> bool:
    """Does the worker fork a child per job? `fork` None: only when it serves `imports`.

    Send and campaign jobs are short and keep nothing between runs; a fork per job cost each
    500-message batch its warm caches (compiled SQL, prepared statements, connections): 0.1-0.2 ms
    more CPU per message, measured on the fan-out benchmark. An import forks, so a large file's
    memory goes back to the system when its job ends. With the in-process Redis stand-in
    (memory://) nothing forks: a child's writes to it would be lost.
    """
    if redis_url.startswith("memory://"):
        return False
    return "imports" in queue_names if fork is None else fork


def _warm_up() -> None:
    """Import every job module and configure the ORM mappers once, in the parent.

    A forking worker runs each job in a child of this process: whatever the parent has not
    loaded, every child loads again (measured: 0.4–0.5 s of CPU per job, a third of a
    100,000-message campaign's worker time).
    """
    import importlib
    import pkgutil

    from sqlalchemy.orm import configure_mappers

    import workers

    for info in pkgutil.iter_modules(workers.__path__):
        importlib.import_module(f"workers.{info.name}")
    configure_mappers()


def _worker_connection(url: str):
    if url.startswith("memory://"):
        return redis_store.client
    # No socket timeout: the worker blocks on BLPOP for minutes between jobs.
    return RedisStore.client_for_url(url, socket_timeout=None)


@click.command("cron")
@with_appcontext
def cron_command() -> None:
    """Enqueue the periodic jobs on schedule (needs JOBS_MODE=rq and workers)."""
    from workers import cron

    app = current_app._get_current_object()
    if app.config["JOBS_MODE"] == "inline":
        raise click.ClickException("JOBS_MODE=inline: `flask worker` runs the periodic jobs itself")
    scheduler = cron.build_scheduler(app, _worker_connection(app.config["REDIS_URL"]))
    scheduler.start()


@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Run the outbox sweeper once: resume campaigns, mark stale sends unknown, re-enqueue lost rows."""
    click.echo(json.dumps(sweeper.sweep()))


commands = [worker_command, cron_command, sweep_command]
