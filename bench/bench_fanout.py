"""Fan-out benchmark: one campaign to N consenting recipients through the REAL path, and its ceiling.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \\
    .venv/bin/python bench/bench_fanout.py [--recipients 100000] [--workers 3] [--concurrency 32]
                                           [--batch-size 500] [--delay-ms 50] [--ceiling-messages N]
                                           [--no-ceiling] [--worker-args=--fork] [--logs DIR]

1. A private database (PostgreSQL when DATABASE_URL points at one: created and dropped here;
   else a SQLite file: one writer at a time, and the database's CPU is then counted in the
   workers' — indicative only, production runs on PostgreSQL),
   seeded with Core bulk inserts: a region tree, N living retirees in one street, one account each
   with an active self binding and one credit for the `holiday_greeting` template.
2. The WeChat sandbox in a subprocess (`flask --app app wechat-sandbox --delay-ms 50`).
3. The ceiling: bare `requests.Session` loops, `workers` processes x `concurrency` threads (the
   same total concurrency as the real path), posting subscribe sends to the same sandbox.
4. The real path: a street admin creates and approves a campaign (app/domain/campaigns.py) → the
   dispatch job walks the audience by keyset and enqueues one job per slice of
   MESSAGING_BATCH_SIZE retirees → `workers` x `flask --app app worker --queues messages,default`
   processes (RQ, JSON; jobs in-process as in production, `--worker-args=--fork` to compare)
   → each slice job writes its outbox rows and runs `sending.send_batch` → WeChat client
   (concurrent sends on one keep-alive session) → sandbox. Measured: time to enqueue every batch
   (approve → campaign.dispatched_at), total time (approve → last row settled), messages/s,
   worker peak RSS (worker, and its child: work horse or scheduler, sampled every 0.2 s) while the first 10 k were
   sent and over the whole run, and the sandbox's own counts (accepted must equal N,
   duplicates 0) beside the database's.
5. The ceiling again (the machine is shared: the mean of the two ceiling runs is the reference).
Also printed: CPU per message of the workers (with their work horses) and of the sandbox, and
of the ceiling's senders — on this CPU-bound 2-core machine the ratio is mostly a CPU ratio.

Redis: REDIS_URL, default redis://127.0.0.1:6379/11; the run uses a private queue prefix and
deletes only its own keys. Every process started here is stopped by its pid.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fanout_support import (  # noqa: E402 — after the path is set
    FLASK,
    Database,
    RssSampler,
    ceiling,
    cpu_seconds,
    delete_keys,
    free_port,
    seed,
    server_cpu_seconds,
    start_sandbox,
    start_workers,
    stop,
)

BENCH_PII_KEY = "YmVuY2gtcGlpLWtleS0zMi1ieXRlcy1sb25nLWVub3VnaCE="
BENCH_SECRET = "bench-secret-key-" + "x" * 32
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
GREETING = {"festival": "春节", "greeting": "新春快乐，阖家幸福", "sender": "五星街街道", "date": "2026年2月17日"}


# ---- the real path -------------------------------------------------------------------------------

def run_campaign(app, seeded: dict, sandbox, total: int, sampler: RssSampler) -> dict:
    """Create + approve a campaign like a street admin; wait until every row is settled."""
    from sqlalchemy import func, select

    from app.domain.campaigns import lifecycle
    from app.extensions import db
    from app.models import Region, Staff
    from app.models.messaging import Campaign, Notification

    with app.app_context():
        staff = db.session.get(Staff, seeded["staff_id"])
        campaign = lifecycle.create_campaign(
            staff, name="基准测试春节慰问", template_key="holiday_greeting", data=GREETING,
            region=db.session.get(Region, seeded["street_id"]), categories=[], include_retirees=True,
            include_relatives=False, send_at=None)
        db.session.commit()
        campaign_id = campaign.id
        t0 = time.perf_counter()
        wall0 = datetime.now(UTC)
        lifecycle.approve(staff, campaign)
        db.session.commit()  # the dispatch job is enqueued now; a worker runs it
        enqueued_at = None
        last_accepted, last_change = -1, time.perf_counter()
        while True:
            time.sleep(0.25)
            accepted = sandbox.stats()["accepted"]
            if accepted >= 10_000:
                sampler.mark("10k")
            if enqueued_at is None:
                db.session.expire_all()
                dispatched = db.session.scalar(select(Campaign.dispatched_at).where(Campaign.id == campaign_id))
                db.session.rollback()
                if dispatched is not None:
                    enqueued_at = (dispatched - wall0).total_seconds()
            if accepted != last_accepted:
                last_accepted, last_change = accepted, time.perf_counter()
            if accepted >= total or time.perf_counter() - last_change > 30:
                break
        # Every row settled (the last flush follows the last accept by at most ~0.5 s).
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:
            open_rows = db.session.scalar(select(func.count()).select_from(Notification).where(
                Notification.campaign_id == campaign_id, Notification.status.in_(("pending", "sending"))))
            db.session.rollback()
            if open_rows == 0:
                break
            time.sleep(0.25)
        elapsed = time.perf_counter() - t0
        sampler.mark("100k")
        counts = dict(db.session.execute(select(Notification.status, func.count()).where(
            Notification.campaign_id == campaign_id).group_by(Notification.status)).all())
        db.session.remove()
    return {"campaign_id": campaign_id, "seconds": elapsed, "enqueue_seconds": enqueued_at, "counts": counts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=3, help="RQ worker processes (and ceiling processes)")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent sends per batch job")
    parser.add_argument("--batch-size", type=int, default=500, help="notifications per send job")
    parser.add_argument("--delay-ms", type=int, default=50, help="sandbox reply delay (WeChat's round trip)")
    parser.add_argument("--ceiling-messages", type=int, default=0, help="per ceiling run (default: N/2, ≤ 50 k)")
    parser.add_argument("--no-ceiling", action="store_true")
    parser.add_argument("--logs", help="keep the worker logs in this directory")
    parser.add_argument("--worker-args", default="", help="extra options for `flask worker`, e.g. '--fork'")
    parser.add_argument("--worker-cmd", default=f"{FLASK} --app app worker",
                        help="the worker command (default: the project's `flask --app app worker`)")
    args = parser.parse_args()

    from app import create_app
    from app.wechat.sandbox import RemoteSandbox

    database = Database("bench-fanout")
    if database.kind == "sqlite":
        print("NOTE: SQLite (DATABASE_URL unset): one writer at a time, its CPU counted in the workers'; "
              "indicative only — production runs on PostgreSQL.")
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    prefix = f"bench-fanout-{secrets.token_hex(3)}"
    sandbox_port = free_port()
    base_url = f"http://127.0.0.1:{sandbox_port}/"
    env = dict(os.environ, DATABASE_URL=database.url, REDIS_URL=redis_url, PII_KEY=BENCH_PII_KEY,
               SECRET_KEY=BENCH_SECRET, TUIGUAN_ENV="development", JOBS_MODE="rq", RQ_QUEUE_PREFIX=prefix,
               RATELIMIT_STORAGE_URI="memory://", WECHAT_API_BASE=base_url,
               MESSAGING_SEND_CONCURRENCY=str(args.concurrency), MESSAGING_BATCH_SIZE=str(args.batch_size),
               PYTHONPATH=str(ROOT))
    for key in ("DATABASE_URL", "REDIS_URL", "PII_KEY", "SECRET_KEY", "JOBS_MODE", "RQ_QUEUE_PREFIX",
                "WECHAT_API_BASE", "MESSAGING_SEND_CONCURRENCY", "MESSAGING_BATCH_SIZE", "RATELIMIT_STORAGE_URI"):
        os.environ[key] = env[key]
    app = create_app("development")
    procs: list[subprocess.Popen] = []
    logs = tempfile.TemporaryDirectory(prefix="bench-fanout-logs-")
    log_dir = Path(args.logs or logs.name)
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        seeded = seed(app, args.recipients)
        print(f"database {database.kind}; seeded {args.recipients} retirees + accounts + bindings + credits "
              f"in {time.perf_counter() - t0:.1f} s")
        sandbox_proc = start_sandbox(env, sandbox_port, args.delay_ms)
        procs.append(sandbox_proc)
        sandbox = RemoteSandbox(base_url)
        total_concurrency = args.workers * args.concurrency
        print(f"sandbox pid {sandbox_proc.pid} on {base_url} (reply delay {args.delay_ms} ms); "
              f"{args.workers} workers x {args.concurrency} concurrent sends = {total_concurrency}")
        ceiling_n = args.ceiling_messages or min(50_000, max(args.recipients // 2, 1000))
        ceilings = []
        if not args.no_ceiling:
            sandbox_cpu = cpu_seconds(sandbox_proc.pid)
            rate, errors, client_ms = ceiling(base_url, args.workers, args.concurrency, ceiling_n)
            sandbox_ms = (cpu_seconds(sandbox_proc.pid) - sandbox_cpu) / ceiling_n * 1000
            ceilings.append(rate)
            print(f"ceiling run 1: {ceiling_n} bare requests.Session sends, {rate:.0f} msg/s, errors {errors}; "
                  f"CPU per message: senders {client_ms:.2f} ms, sandbox {sandbox_ms:.2f} ms")
            sandbox.reset()

        workers = start_workers(env, args.workers, log_dir, args.worker_args.split(), args.worker_cmd.split())
        procs.extend(workers)
        sampler = RssSampler([w.pid for w in workers])
        sampler.start()
        worker_cpu = sum(cpu_seconds(w.pid) for w in workers)
        sandbox_cpu = cpu_seconds(sandbox_proc.pid)
        server_cpu = {name: server_cpu_seconds(name) for name in ("postgres", "redis-server")}
        result = run_campaign(app, seeded, sandbox, args.recipients, sampler)
        sampler.halt.set()
        stats = sandbox.stats()
        worker_ms = (sum(cpu_seconds(w.pid) for w in workers) - worker_cpu) / args.recipients * 1000
        sandbox_ms = (cpu_seconds(sandbox_proc.pid) - sandbox_cpu) / args.recipients * 1000
        server_ms = {name: (server_cpu_seconds(name) - before) / args.recipients * 1000
                     for name, before in server_cpu.items()}
        for w in workers:
            stop(w)
        rate = args.recipients / result["seconds"]
        print(f"real path: {args.recipients} recipients in {result['seconds']:.1f} s = {rate:.0f} msg/s; "
              f"all batches enqueued {result['enqueue_seconds'] or float('nan'):.2f} s after approval")
        print(f"rows by status: {result['counts']}")
        database_ms = (f"PostgreSQL {server_ms['postgres']:.2f} ms" if database.kind == "postgresql"
                       else "SQLite inside the workers")
        print(f"CPU per message: workers (incl. work horses) {worker_ms:.2f} ms, sandbox {sandbox_ms:.2f} ms, "
              f"{database_ms}, Redis {server_ms['redis-server']:.2f} ms")
        print(f"sandbox: accepted {stats['accepted']}, duplicates {stats['duplicates']}, "
              f"same-openid overlaps {stats.get('same_openid_overlaps')}, token fetches {stats.get('token_fetches')}")
        w10, h10 = sampler.marks.get("10k", (0.0, 0.0))
        wall, hall = sampler.marks.get("100k", (sampler.peak_worker, sampler.peak_horse))
        first = (f"first 10 k messages worker {w10:.0f} MB / child {h10:.0f} MB; "
                 if "10k" in sampler.marks and args.recipients > 10_000 else "")
        print(f"worker peak RSS: {first}all {args.recipients} worker {wall:.0f} MB / child (work horse or scheduler) "
              f"{hall:.0f} MB")

        if not args.no_ceiling:
            sandbox.reset()
            second, errors, client_ms = ceiling(base_url, args.workers, args.concurrency, ceiling_n)
            ceilings.append(second)
            print(f"ceiling run 2: {ceiling_n} bare requests.Session sends, {second:.0f} msg/s, errors {errors}; "
                  f"CPU per message: senders {client_ms:.2f} ms")
            reference = sum(ceilings) / len(ceilings)
            print(f"ratio real / ceiling = {rate:.0f} / {reference:.0f} = {rate / reference:.0%} (target ≥ 70 %)")
        ok = (stats["accepted"] == args.recipients and stats["duplicates"] == 0
              and result["counts"].get("sent") == args.recipients)
        print(f"targets: 100 k < 180 s: {'yes' if result['seconds'] * 100_000 / args.recipients < 180 else 'no'} "
              f"(scaled); enqueue < 5 s: {'yes' if (result['enqueue_seconds'] or 99) < 5 else 'no'}; "
              f"zero duplicates and losses: {'yes' if ok else 'NO'}")
        print(json.dumps({"recipients": args.recipients, "seconds": round(result["seconds"], 2),
                          "msgs_per_s": round(rate), "enqueue_s": result["enqueue_seconds"],
                          "ceiling_msgs_per_s": [round(c) for c in ceilings], "accepted": stats["accepted"],
                          "duplicates": stats["duplicates"], "rss_mb_10k": [round(w10), round(h10)],
                          "rss_mb_all": [round(wall), round(hall)]}))
        return 0 if ok else 1
    finally:
        for proc in reversed(procs):
            stop(proc)
        with app.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()
        delete_keys(redis_url, prefix)
        database.drop()
        logs.cleanup()


if __name__ == "__main__":
    sys.exit(main())
