"""Booking contention benchmark: N concurrent booking attempts for one slot through the HTTP API.

    .venv/bin/python bench/bench_booking.py [--attempts 2000] [--seats 100] [--clients 32]
                                            [--workers 2] [--threads 8]

Starts gunicorn (gthread workers, the same config for both measurements) on a free loopback port
against a fresh database (a private PostgreSQL database when DATABASE_URL points at PostgreSQL,
created and dropped here; else a SQLite file in a temp dir), seeds `attempts` due retirees, each
with an account, an active binding and an API token, and one slot with `seats` seats; then:
  1. the ceiling: `attempts` GETs of /healthz (a database SELECT 1 and a Redis PING) with the
     same client pool, req/s;
  2. `attempts` POST /api/v1/bookings, one per retiree, all for the one slot, fired by a pool of
     `clients` threads (keep-alive HTTP connections): bookings made (must equal `seats`), 5xx
     count (must be 0), the booked counter and rows in the database, attempts/s, p50/p99.
Prints the ratio bookings attempts/s ÷ no-op req/s. Gunicorn is stopped by its pid at the end.
Redis: REDIS_URL when set (jobs go to a private RQ queue prefix, emptied at the end), else the
in-process stand-in (each gunicorn worker has its own).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_PII_KEY = "YmVuY2gtcGlpLWtleS0zMi1ieXRlcy1sb25nLWVub3VnaCE="
BENCH_SECRET = "bench-secret-key-" + "x" * 32


from bench.common import Database, free_port  # noqa: E402,F401  (re-exported for the bench script)


def _id_number(serial: int) -> str:
    from app.domain.archives import idcard

    birth = datetime(1950, 1, 1) + timedelta(days=serial % 3650)
    first17 = f"510302{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + idcard.check_digit(first17)


def seed(env: dict[str, str], attempts: int, seats: int) -> tuple[int, list[tuple[int, str]]]:
    """Tables, a region tree, one slot tomorrow with `seats` seats, `attempts` due retirees with
    accounts, bindings and tokens. Returns (slot id, [(retiree id, token)])."""
    from app import create_app
    from app.domain import clock
    from app.domain.accounts import login
    from app.domain.archives import records
    from app.domain.certification import cycle
    from app.extensions import db
    from app.models import Account, Binding
    from app.models.certification import CertificationState, Slot
    from tests.support.factories import make_service_point, make_tree

    app = create_app("development", {k: v for k, v in env.items() if k in (
        "DATABASE_URL", "REDIS_URL", "PII_KEY", "SECRET_KEY", "JOBS_MODE", "RQ_QUEUE_PREFIX")})
    out: list[tuple[int, str]] = []
    with app.app_context():
        db.create_all()
        tree = make_tree()
        point = make_service_point(tree["community_a"], code="SP-BENCH")
        tomorrow = clock.today() + timedelta(days=1)
        starts = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, tzinfo=clock.SERVICE_ZONE)
        slot = Slot(service_point_id=point.id, starts_at=starts, ends_at=starts + timedelta(hours=1),
                    capacity=seats, booked=0)
        db.session.add(slot)
        today = clock.today()
        serials = iter(range(1, 10_000_000, 7))
        for i in range(attempts):
            retiree = records.create_retiree(name=f"测试{i:04d}", id_number=_id_number(next(serials)),
                                              community=tree["community_a"], retirement_date=date(2010, 1, 1))
            certified = today - timedelta(days=335)  # due in about a month: inside the window
            db.session.add(CertificationState(retiree_id=retiree.id, last_certified_on=certified,
                                              last_method="on_site", baseline_on=certified,
                                              due_on=cycle.add_months(certified, 12),
                                              status="due", status_since=today))
            account = Account(openid=f"bench-openid-{i}", last_login_at=datetime.now(UTC))
            db.session.add(account)
            db.session.flush()
            db.session.add(Binding(account_id=account.id, retiree_id=retiree.id, relation="self", status="active"))
            out.append((retiree.id, login.issue_token(account)))
            if i % 500 == 499:
                db.session.commit()
        db.session.commit()
        slot_id = slot.id
        db.session.remove()
        db.engine.dispose()
    return slot_id, out


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
    cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
           "--workers", str(workers), "--threads", str(threads), "--keep-alive", "30", "--backlog", "2048",
           "--log-level", "warning", "app:create_app()"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not become healthy in 60 s")


class Client:
    """One keep-alive HTTP connection per client thread."""

    _local = threading.local()

    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self._local.conn = None
            return 599, b"", time.perf_counter() - started
        return response.status, data, time.perf_counter() - started


def fire(client: Client, jobs: list, clients: int) -> tuple[list, float]:
    """Run every job (method, path, body, headers) from a pool; returns results and wall seconds."""
    barrier = threading.Barrier(clients)

    def warm(_):
        client.request("GET", "/healthz")  # each pool thread opens its connection before timing
        barrier.wait()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(warm, range(clients)))
        started = time.perf_counter()
        results = list(pool.map(lambda job: client.request(*job), jobs))
        wall = time.perf_counter() - started
    return results, wall


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=2000)
    parser.add_argument("--seats", type=int, default=100)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    database = Database("bench-booking")
    redis_url = os.environ.get("REDIS_URL") or "memory://bench"
    prefix = f"bench-booking-{secrets.token_hex(3)}"
    env = dict(os.environ, DATABASE_URL=database.url, REDIS_URL=redis_url, PII_KEY=BENCH_PII_KEY,
               SECRET_KEY=BENCH_SECRET, TUIGUAN_ENV="development", JOBS_MODE="rq", RQ_QUEUE_PREFIX=prefix,
               RATELIMIT_STORAGE_URI="memory://")
    proc = None
    try:
        t0 = time.perf_counter()
        slot_id, people = seed(env, args.attempts, args.seats)
        print(f"database {database.kind}; seeded {len(people)} retirees/accounts/tokens and one slot of "
              f"{args.seats} seats in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        proc = start_gunicorn(env, port, args.workers, args.threads)
        client = Client(port)
        print(f"gunicorn gthread --workers {args.workers} --threads {args.threads} on 127.0.0.1:{port} "
              f"(pid {proc.pid}); client pool {args.clients} threads")

        noop, noop_wall = fire(client, [("GET", "/healthz")] * args.attempts, args.clients)
        noop_ok = sum(1 for status, _, _ in noop if status == 200)
        noop_rate = len(noop) / noop_wall
        noop_lat = [t for _, _, t in noop]
        print(f"no-op  GET /healthz: {len(noop)} requests, {noop_ok} ok, {noop_rate:.0f} req/s, "
              f"p50 {percentile(noop_lat, 50) * 1000:.1f} ms, p99 {percentile(noop_lat, 99) * 1000:.1f} ms")

        jobs = [("POST", "/api/v1/bookings", json.dumps({"slot_id": slot_id, "retiree_id": rid}).encode(),
                 {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}) for rid, token in people]
        results, wall = fire(client, jobs, args.clients)
        made = sum(1 for status, _, _ in results if status == 201)
        errors_5xx = sum(1 for status, _, _ in results if status >= 500)
        codes: dict[str, int] = {}
        for status, body, _ in results:
            if status != 201:
                try:
                    code = json.loads(body)["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = f"http_{status}"
                codes[code] = codes.get(code, 0) + 1
        latencies = [t for _, _, t in results]
        rate = len(results) / wall
        print(f"booking POST /api/v1/bookings: {len(results)} attempts in {wall:.2f} s, {rate:.0f} attempts/s, "
              f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms, "
              f"mean {statistics.fmean(latencies) * 1000:.1f} ms")
        print(f"bookings made: {made} (seats {args.seats}); 5xx: {errors_5xx}; refusals: {codes}")
        for label, wanted in (("201 booked", True), ("409 refused", False)):
            part = [t for status, _, t in results if (status == 201) == wanted]
            if part:
                print(f"  {label}: {len(part)} responses, p50 {percentile(part, 50) * 1000:.1f} ms, "
                      f"p99 {percentile(part, 99) * 1000:.1f} ms")
        booked, rows = _check_database(env, slot_id)
        print(f"database: slot.booked = {booked}, active booking rows = {rows}")
        print(f"ratio booking attempts/s ÷ no-op req/s = {rate / noop_rate:.2f}")
        ok = made == args.seats and errors_5xx == 0 and booked == args.seats and rows == args.seats
        print("RESULT: " + ("OK" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        if proc is not None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        _empty_queues(redis_url, prefix)
        database.drop()


def _check_database(env: dict[str, str], slot_id: int) -> tuple[int, int]:
    from sqlalchemy import create_engine, text

    from config import normalize_database_url

    engine = create_engine(normalize_database_url(env["DATABASE_URL"]))
    with engine.connect() as conn:
        booked = conn.execute(text("SELECT booked FROM slot WHERE id = :id"), {"id": slot_id}).scalar_one()
        rows = conn.execute(text("SELECT count(*) FROM booking WHERE slot_id = :id AND status = 'booked'"),
                            {"id": slot_id}).scalar_one()
    engine.dispose()
    return booked, rows


def _empty_queues(redis_url: str, prefix: str) -> None:
    """Delete the run's RQ queues and their jobs (only this run's prefix is touched)."""
    if redis_url.startswith("memory://"):
        return
    from rq import Queue
    from rq.serializers import JSONSerializer

    from app.extensions import RedisStore

    connection = RedisStore.client_for_url(redis_url)
    for name in ("default", "messages", "imports"):
        Queue(f"{prefix}:{name}", connection=connection, serializer=JSONSerializer).empty()
    connection.close()


if __name__ == "__main__":
    sys.exit(main())
