"""Helpers of bench/bench_fanout.py: the private database, seeding, the processes it starts
(sandbox, workers) and how it watches them (CPU, RSS), and the bare-requests ceiling."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(ROOT / ".venv" / "bin" / "flask")


from bench.common import Database, free_port  # noqa: E402,F401  (re-exported for the bench script)

# ---- seeding -------------------------------------------------------------------------------------

def seed(app, recipients: int, chunk: int = 5000) -> dict:
    """Tables, a tree with one street of 20 communities, `recipients` retirees each with an
    account, an active self binding and one credit. Core inserts in chunks (no ORM objects)."""

    from app.domain.messaging import templates
    from app.domain.org import staff as staff_domain
    from app.extensions import db
    from app.models import Region

    with app.app_context():
        db.create_all()

        def region(code, name, level, parent):
            row = Region(code=code, name=name, level=level, parent_id=parent.id if parent else None,
                         path=(parent.path if parent else "") + code + "/")
            db.session.add(row)
            db.session.flush()
            return row

        province = region("510000000000", "四川省", "province", None)
        city = region("510300000000", "自贡市", "city", province)
        district = region("510302000000", "自流井区", "district", city)
        street = region("510302001000", "五星街街道", "street", district)
        communities = [region(f"510302001{i:03d}", f"第{i}社区", "community", street) for i in range(1, 21)]
        staff = staff_domain.create_staff("bench-street", "bench-password-1", "street_admin", street.code)
        db.session.commit()
        template_id = templates.get("holiday_greeting").template_id
        community_ids = [c.id for c in communities]
        if db.engine.dialect.name == "postgresql":
            _seed_postgresql(db, recipients, community_ids, template_id)
        else:
            _seed_portable(db, recipients, community_ids, template_id, chunk)
        result = {"staff_id": staff.id, "street_id": street.id}
        db.session.remove()
    return result


def _seed_postgresql(db, recipients: int, community_ids: list[int], template_id: str) -> None:
    """Server-side INSERT … SELECT over generate_series: 100 k rows per table in seconds."""
    from sqlalchemy import text

    params = {"n": recipients, "tid": template_id, "c0": min(community_ids), "nc": len(community_ids)}
    for statement in (
        """INSERT INTO retiree (name, id_number_enc, id_hash, id_masked, gender, birth_date, community_id,
               mobility_limited, life_status, pension_status, created_at, updated_at)
           SELECT '退休' || g, '\\x01'::bytea, 'bench-' || g, '510302********0000', 'female', DATE '1950-01-01',
                  :c0 + (g % :nc), false, 'alive', 'normal', now(), now() FROM generate_series(1, :n) g""",
        """INSERT INTO account (openid, created_at, last_login_at)
           SELECT 'openid-bench-' || g, now(), now() FROM generate_series(1, :n) g""",
        # Fresh database: retiree g and account g have id g.
        """INSERT INTO binding (account_id, retiree_id, relation, status, created_at)
           SELECT g, g, 'self', 'active', now() FROM generate_series(1, :n) g""",
        """INSERT INTO subscription_credit (account_id, template_id, credits, long_term_active, updated_at)
           SELECT g, :tid, 1, false, now() FROM generate_series(1, :n) g""",
    ):
        db.session.execute(text(statement), params)
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def _seed_portable(db, recipients: int, community_ids: list[int], template_id: str, chunk: int) -> None:
    """Core executemany inserts in chunks (SQLite)."""
    from sqlalchemy import insert

    from app.models import Account, Binding, Retiree
    from app.models.messaging import SubscriptionCredit

    now = datetime.now(UTC)
    for start in range(0, recipients, chunk):
        n = min(chunk, recipients - start)
        retiree_ids = db.session.scalars(insert(Retiree).returning(Retiree.id, sort_by_parameter_order=True), [
            {"name": f"退休{start + i}", "id_number_enc": b"\x01bench", "id_hash": f"bench-{start + i}",
             "id_masked": "510302********0000", "gender": "female", "birth_date": date(1950, 1, 1),
             "community_id": community_ids[(start + i) % len(community_ids)], "mobility_limited": False,
             "life_status": "alive", "pension_status": "normal", "created_at": now, "updated_at": now}
            for i in range(n)]).all()
        account_ids = db.session.scalars(insert(Account).returning(Account.id, sort_by_parameter_order=True), [
            {"openid": f"openid-bench-{start + i}", "created_at": now, "last_login_at": now}
            for i in range(n)]).all()
        db.session.execute(insert(Binding), [
            {"account_id": a, "retiree_id": r, "relation": "self", "status": "active", "created_at": now}
            for a, r in zip(account_ids, retiree_ids, strict=True)])
        db.session.execute(insert(SubscriptionCredit), [
            {"account_id": a, "template_id": template_id, "credits": 1, "long_term_active": False,
             "updated_at": now} for a in account_ids])
        db.session.commit()


# ---- processes -----------------------------------------------------------------------------------

def start_sandbox(env: dict, port: int, delay_ms: int) -> subprocess.Popen:
    import requests

    proc = subprocess.Popen([FLASK, "--app", "app", "wechat-sandbox", "--port", str(port), "--delay-ms",
                             str(delay_ms), "--log-limit", "1000"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/__sandbox__/stats", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("sandbox did not start")


def start_workers(env: dict, count: int, log_dir: Path, extra: list[str], command: list[str]) -> list[subprocess.Popen]:
    """`count` x `flask --app app worker` (the project's worker command), returned once all are
    registered with Redis and listening."""
    from rq import Worker

    from app.extensions import RedisStore

    procs = []
    for i in range(count):
        log = open(log_dir / f"worker-{i}.log", "wb")  # noqa: SIM115 — closed with the process
        procs.append(subprocess.Popen([*command, "--queues", "messages,default", *extra],
                                      cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))
    connection = RedisStore.client_for_url(env["REDIS_URL"])
    prefix = env["RQ_QUEUE_PREFIX"]
    deadline = time.time() + 120
    while time.time() < deadline:
        mine = [w for w in Worker.all(connection=connection) if any(q.startswith(prefix) for q in w.queue_names())]
        if len(mine) >= count:
            break
        time.sleep(0.2)
    connection.close()
    return procs


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop one process we started, by its pid (then its work horse, if RQ left one)."""
    if proc.poll() is not None:
        return
    children = _children(proc.pid)
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children it has reaped (RQ work horses), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(name: str) -> float:
    """CPU time of every process called `name` on this machine (e.g. "postgres": the server and
    its backends; backends that have exited are counted in the postmaster's reaped children)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm = stat.read_text().split(" (", 1)[1].rsplit(")", 1)[0]
        except (OSError, IndexError):
            continue
        if comm == name:
            total += cpu_seconds(int(stat.parent.name))
    return total


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler(threading.Thread):
    """Peak RSS of the worker processes (parent and work horse separately), sampled every 0.2 s;
    `mark()` snapshots the peaks so far (e.g. when 10 k messages are out)."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak_worker = self.peak_horse = 0.0
        self.marks: dict[str, tuple[float, float]] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.2):
            for pid in self.pids:
                self.peak_worker = max(self.peak_worker, _rss_mb(pid))
                for child in _children(pid):
                    self.peak_horse = max(self.peak_horse, _rss_mb(child))

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, (self.peak_worker, self.peak_horse))


# ---- the ceiling ---------------------------------------------------------------------------------

CEILING_CHILD = r"""
import json, sys, threading, time, requests
base, token, start, count, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
data = json.loads(sys.argv[6])
lock = threading.Lock(); nxt = [start]; end = start + count; errors = [0]
def loop():
    s = requests.Session()
    url = base + "cgi-bin/message/subscribe/send"
    while True:
        with lock:
            i = nxt[0]
            if i >= end: return
            nxt[0] += 1
        body = json.dumps({"touser": f"openid-ceiling-{i}", "template_id": "tpl-holiday-greeting",
                           "data": data, "lang": "zh_CN"}, ensure_ascii=False).encode()
        r = s.post(url, params={"access_token": token}, data=body,
                   headers={"Content-Type": "application/json"}, timeout=10)
        if r.json().get("errcode") != 0: errors[0] += 1
sys.stdout.write("ready\n"); sys.stdout.flush(); sys.stdin.readline()
ts = [threading.Thread(target=loop) for _ in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
print(errors[0])
"""


def ceiling(base_url: str, processes: int, threads: int, messages: int) -> tuple[float, int, float]:
    """Bare requests.Session loops: `processes` x `threads` keep-alive senders.
    Returns (msgs/s, errors, client CPU ms per message)."""
    import resource

    import requests

    token = requests.post(base_url + "cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": "wx-sandbox-appid", "secret": "sandbox-secret"},
        timeout=10).json()["access_token"]
    data = {"phrase1": {"value": "春节"}, "thing2": {"value": "新春快乐，阖家幸福"},
            "thing3": {"value": "五星街街道"}, "date4": {"value": "2026年2月17日"}}
    per = messages // processes
    procs = [subprocess.Popen([sys.executable, "-c", CEILING_CHILD, base_url, token, str(i * per), str(per),
                               str(threads), json.dumps(data)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True) for i in range(processes)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        for p in procs:
            p.stdout.readline()
        started = time.perf_counter()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        errors = sum(int(p.stdout.readline() or 0) for p in procs)
        wall = time.perf_counter() - started
    finally:
        for p in procs:
            stop(p)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return per * processes / wall, errors, cpu / (per * processes) * 1000


def delete_keys(redis_url: str, prefix: str) -> None:
    """Only this run's RQ keys (queues and jobs under the private prefix, and its job hashes)."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    from app.extensions import RedisStore

    connection = RedisStore.client_for_url(redis_url)
    for name in ("default", "messages", "imports"):
        Queue(f"{prefix}:{name}", connection=connection, serializer=JSONSerializer).empty()
    for key in connection.scan_iter(f"*{prefix}*"):
        connection.delete(key)
    connection.close()
