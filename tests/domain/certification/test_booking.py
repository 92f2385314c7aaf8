"""Many bookers, one slot: exactly `capacity` bookings, never more, on SQLite and PostgreSQL.

Threads share the test's database (a SQLite file, or the run's PostgreSQL database); the
process test starts separate interpreters, each with its own app and engine, against PostgreSQL.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.domain import clock
from app.domain.certification import booking
from app.domain.errors import DomainError
from app.extensions import db
from app.models.certification import Booking, Slot
from tests.support.certification import NOW, at, due_retiree, make_slot

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _outcomes(app, retiree_ids, slot_id, barrier, out, lock):
    with app.app_context():
        from app.models import Retiree

        retirees = [db.session.get(Retiree, rid) for rid in retiree_ids]
        db.session.commit()
        barrier.wait()
        for retiree in retirees:
            try:
                booking.book(None, retiree, slot_id)
                db.session.commit()
                result = "booked"
            except DomainError as exc:
                db.session.rollback()
                result = exc.code
            with lock:
                out.append(result)
        db.session.remove()


def _check_slot(slot_id, capacity):
    db.session.expire_all()
    assert db.session.get(Slot, slot_id).booked == capacity
    assert db.session.scalar(select(func.count()).select_from(Booking).where(
        Booking.slot_id == slot_id, Booking.status == "booked")) == capacity


def test_threads_never_overbook(app, tree, point):
    capacity, threads, per_thread = 5, 16, 2
    retirees = [due_retiree(tree["community_a"]).id for _ in range(threads * per_thread)]
    slot_id = make_slot(point, at(2), capacity=capacity).id
    # End the test thread's transaction: on SQLite every transaction holds the write lock.
    db.session.commit()
    barrier, out, lock = threading.Barrier(threads), [], threading.Lock()
    workers = [threading.Thread(target=_outcomes, args=(app, retirees[i::threads], slot_id, barrier, out, lock))
               for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert Counter(out) == {"booked": capacity, "slot_full": threads * per_thread - capacity}
    _check_slot(slot_id, capacity)


def _process_main(overrides, retiree_ids, slot_id, barrier, queue):
    """Runs in a fresh interpreter: its own app, engine and connection pool."""
    from app import create_app

    app = create_app("testing", overrides)
    with clock.frozen(NOW):
        lock, out = threading.Lock(), []
        inner = threading.Barrier(2)

        def run(ids):
            inner.wait()
            _outcomes(app, ids, slot_id, threading.Barrier(1), out, lock)

        barrier.wait()
        pair = [threading.Thread(target=run, args=(retiree_ids[i::2],)) for i in range(2)]
        for t in pair:
            t.start()
        for t in pair:
            t.join(timeout=120)
    with app.app_context():
        db.engine.dispose()
    queue.put(out)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="multi-process contention runs against PostgreSQL (DATABASE_URL)")
def test_processes_never_overbook_on_postgresql(app, tree, point, base_overrides):
    capacity, processes, per_process = 7, 6, 6
    retirees = [due_retiree(tree["community_a"]).id for _ in range(processes * per_process)]
    slot_id = make_slot(point, at(2), capacity=capacity).id
    db.session.commit()
    # memory:// Redis and rq mode in the children: the confirmation jobs go nowhere (no sends).
    overrides = dict(base_overrides, REDIS_URL="memory://children", RATELIMIT_STORAGE_URI="memory://",
                     JOBS_MODE="rq")
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=_process_main, args=(overrides, retirees[i::processes], slot_id, barrier, queue))
             for i in range(processes)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    outcomes = Counter(r for chunk in results for r in chunk)
    assert outcomes == {"booked": capacity, "slot_full": processes * per_process - capacity}
    _check_slot(slot_id, capacity)
