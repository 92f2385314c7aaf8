"""Through real RQ jobs (burst workers) and the sandbox: exactly once, crashes, Redis outages.

On real Redis (REDIS_URL set) the crash test SIGKILLs a `flask worker` process group (worker and
its forked work horse) mid-batch. With the in-memory Redis the workers run
in-process (fakeredis cannot be shared with another process), and the crash test SIGKILLs a
subprocess that runs the send batch itself.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.domain.messaging import outbox, send_starts, sweeper
from app.extensions import db, redis_store
from app.models import Account
from app.models.messaging import Notification
from tests.support.messaging import BOOKING_DATA, give_credits, make_audience, real_redis, run_worker, status_counts

ROOT = Path(__file__).resolve().parents[2]


def _assert_exactly_once(sandbox, consenting: set[str], rows_sent: int) -> None:
    stats = sandbox.stats()
    assert stats["duplicates"] == 0 and stats["duplicate_sends"] == 0
    assert stats["accepted"] == len(consenting) == rows_sent
    assert stats["same_openid_overlaps"] == 0
    missing = [o for o in consenting if sandbox.sent_count(touser=o) != 1]
    assert missing == []


@pytest.mark.slow
def test_a_few_thousand_through_rq_exactly_once(rq_mode, wechat_sandbox):
    messaging_ids = make_audience(3000)
    campaign_id, ids, consenting = messaging_ids
    job_ids = outbox.enqueue_send(ids)
    db.session.commit()
    assert len(job_ids) == 6  # batches of 500, never one job per message
    run_worker(rq_mode)
    counts = status_counts()
    assert counts == {"sent": 2000, "no_consent": 1000}
    _assert_exactly_once(wechat_sandbox, consenting, counts["sent"])
    # A second pass (duplicate jobs, sweeper) sends nothing more.
    outbox.enqueue_send(ids)
    db.session.commit()
    run_worker(rq_mode)
    sweeper.sweep()
    assert wechat_sandbox.stats()["accepted"] == 2000


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redis_down_while_events_are_written_then_the_sweeper_delivers(rq_mode, bound_family, base_overrides,
                                                                      wechat_sandbox, caplog):
    retiree, me, son = bound_family
    give_credits(me, "booking_confirmed", 1)
    give_credits(son, "booking_confirmed", 1)
    retiree_id = retiree.id
    db.session.commit()
    down = create_app("testing", dict(base_overrides, REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/5",
                                      RATELIMIT_STORAGE_URI="memory://", JOBS_MODE="rq"))
    with down.app_context():
        from app.models import Retiree

        outbox.notify(db.session.get(Retiree, retiree_id), "booking_confirmed", BOOKING_DATA, "booking:77")
        db.session.commit()  # the event's transaction commits; the enqueue fails after it
        db.session.remove()
    assert "enqueue after commit failed" in caplog.text
    assert status_counts() == {"pending": 2}
    assert wechat_sandbox.stats()["accepted"] == 0
    # Redis is back (the test app's Redis): one sweep re-enqueues, a worker sends.
    assert sweeper.sweep()["reenqueued"] == 2
    run_worker(rq_mode)
    assert status_counts() == {"sent": 2}
    assert wechat_sandbox.stats()["accepted"] == 2


@pytest.mark.slow
def test_redis_flushed_mid_campaign_ends_sent_or_unknown_after_two_sweeps(rq_mode, wechat_sandbox):
    rq_mode.config["MESSAGING_SEND_CONCURRENCY"] = 8
    campaign_id, ids, consenting = make_audience(1500, consent_every=None)  # everyone consents
    wechat_sandbox.set_delay(2)
    outbox.enqueue_send(ids)
    db.session.commit()
    client = redis_store.client
    flushed = threading.Event()

    def flush_when_busy():
        deadline = time.monotonic() + 60
        while wechat_sandbox.stats()["accepted"] < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        client.flushdb()
        flushed.set()

    thread = threading.Thread(target=flush_when_busy)
    thread.start()
    run_worker(rq_mode)
    thread.join()
    assert flushed.is_set()
    assert status_counts().get("pending", 0) > 0  # the flush took queued jobs with it
    for _ in range(2):  # two sweeper periods
        sweeper.sweep()
        run_worker(rq_mode)
    counts = status_counts()
    assert set(counts) <= {"sent", "unknown"}
    assert counts["sent"] + counts.get("unknown", 0) == 1500
    stats = wechat_sandbox.stats()
    assert stats["duplicates"] == 0 and stats["accepted"] >= counts["sent"]


def _subprocess_env(app, base_overrides) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "TUIGUAN_ENV": "testing", "DATABASE_URL": base_overrides["DATABASE_URL"],
        "REDIS_URL": app.config["REDIS_URL"], "RATELIMIT_STORAGE_URI": "memory://",
        "PII_KEY": base_overrides["PII_KEY"], "SECRET_KEY": "test-secret", "JOBS_MODE": "rq",
        "RQ_QUEUE_PREFIX": app.config["RQ_QUEUE_PREFIX"], "WECHAT_API_BASE": app.config["WECHAT_API_BASE"],
        "MESSAGING_SEND_CONCURRENCY": "4", "PYTHONPATH": str(ROOT),
    })
    return env


def _descendants(pid: int) -> list[int]:
    """Child processes of `pid` (and theirs), from /proc."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = []
    for child in map(int, children):
        out += [child, *_descendants(child)]
    return out


def _signal_tree(pid: int, sig: int) -> None:
    for child in _descendants(pid):
        os.kill(child, sig)
    os.killpg(pid, sig)


def _claims_split() -> tuple[int, int]:
    """(begun, unstarted) among rows in `sending` whose claim's start set exists."""
    db.session.expire_all()
    rows = db.session.execute(select(Notification.id, Notification.claim_token)
                              .where(Notification.status == "sending")).all()
    db.session.commit()
    started = send_starts.started_ids({token for _, token in rows if token})
    known = [(id_, started[token]) for id_, token in rows if token and started.get(token) is not None]
    begun = sum(1 for id_, ids in known if id_ in ids)
    return begun, len(known) - begun


def _freeze_with_unstarted_claims(pid: int, attempts: int = 200) -> None:
    """SIGSTOP the worker's processes (every thread stops at once); unless the dead job would
    hold both begun and unstarted claimed rows at that instant, let it run a few ms and retry."""
    for _ in range(attempts):
        _signal_tree(pid, signal.SIGSTOP)
        if all(_claims_split()):
            return
        _signal_tree(pid, signal.SIGCONT)
        time.sleep(0.003)
    raise AssertionError("never caught the worker holding both begun and unstarted claimed rows")


@pytest.mark.slow
def test_sigkill_mid_batch_then_new_worker_and_sweeper(rq_mode, wechat_sandbox, base_overrides, tmp_path):
    campaign_id, ids, consenting = make_audience(600, consent_every=None)
    wechat_sandbox.set_delay(20)  # 600 sends x 20 ms / 4 threads ≈ 3 s: time to kill it midway
    env = _subprocess_env(rq_mode, base_overrides)
    if real_redis(rq_mode):
        outbox.enqueue_send(ids)
        db.session.commit()
        command = [str(ROOT / ".venv/bin/flask"), "--app", "app", "worker", "--burst", "--no-scheduler"]
    else:
        (tmp_path / "ids.txt").write_text(",".join(map(str, ids)))
        env["REDIS_URL"] = "memory://crash"
        command = [sys.executable, "-c", (
            "from app import create_app\nfrom app.domain.messaging import sending\n"
            f"ids=[int(x) for x in open({str(tmp_path / 'ids.txt')!r}).read().split(',')]\n"
            "app=create_app()\nwith app.app_context(): sending.send_batch(ids)\n")]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while wechat_sandbox.stats()["accepted"] < 100 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        if real_redis(rq_mode):
            # Kill at a moment when the dead job holds rows it claimed but had not begun, so the
            # sweeper's "send those again" path runs (most moments, not all: senders drain fast).
            _freeze_with_unstarted_claims(proc.pid)
        # The work horse (if RQ forked one) and the worker, mid-batch.
        _signal_tree(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    accepted_at_kill = wechat_sandbox.stats()["accepted"]
    assert 100 <= accepted_at_kill < 600
    wechat_sandbox.set_delay(0)
    before = status_counts()
    assert before.get("sending", 0) > 0  # the claim the dead process held
    rq_mode.config["MESSAGING_SENDING_STALE_SECONDS"] = 1
    time.sleep(1.1)
    stats = sweeper.sweep()
    # Rows a sender had begun (in flight, or answered but not yet recorded) become unknown; rows
    # claimed but never picked up go back to pending, to be sent after the restart.
    assert stats["unknown"] + stats["unstarted"] == before["sending"] and stats["unknown"] > 0
    run_worker(rq_mode)
    sweeper.sweep()
    counts = status_counts()
    assert set(counts) <= {"sent", "unknown"} and sum(counts.values()) == 600
    sandbox_stats = wechat_sandbox.stats()
    assert sandbox_stats["duplicates"] == 0                       # never twice
    rows = db.session.execute(select(Notification.status, Account.openid)
                              .join(Account, Account.id == Notification.account_id)).all()
    db.session.commit()
    delivered = {o for o in consenting if wechat_sandbox.sent_count(touser=o) == 1}
    assert all(openid in delivered for status, openid in rows if status == "sent")
    # Delivered once, every one: the only messages that can be missing are sends the kill cut off
    # between recording their start and writing the request (at most one per sender thread).
    missing = consenting - delivered
    assert missing <= {openid for status, openid in rows if status == "unknown"}
    assert sandbox_stats["accepted"] == len(delivered)
    if real_redis(rq_mode):
        assert len(missing) <= 4 and stats["unstarted"] > 0
    else:
        # The stand-in Redis died with the killed process, and the starts with it: every stale
        # row is taken as begun (unknown), the safe side.
        assert stats["unstarted"] == 0


def test_transient_error_is_retried_by_a_delayed_job(rq_mode, bound_family, wechat_sandbox):
    if not real_redis(rq_mode):
        pytest.skip("RQ's scheduler runs Lua scripts (EVALSHA), which fakeredis lacks without lupa")
    _, me, _ = bound_family
    give_credits(me, "booking_confirmed", 1)
    rq_mode.config["MESSAGING_RETRY_BASE_SECONDS"] = 1
    wechat_sandbox.fail("subscribe_send", -1, times=1)
    outbox.notify(me, "booking_confirmed", BOOKING_DATA, "k-retry")
    db.session.commit()
    run_worker(rq_mode)
    row = db.session.scalar(select(Notification))
    assert (row.status, row.attempts) == ("pending", 1)
    db.session.commit()
    time.sleep(1.5)
    run_worker(rq_mode, scheduler=True)  # the scheduler moves the due retry job to the queue
    run_worker(rq_mode)
    assert status_counts() == {"sent": 1}
    assert wechat_sandbox.sent_count() == 1
