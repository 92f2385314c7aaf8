"""Job dispatch: RQ queues in production, synchronous calls in the embedded default.

Jobs are named by dotted path (`workers.messaging.send_batch`) and take JSON-serializable
arguments (ids, never objects). `enqueue_after_commit` defers the enqueue until the current
database transaction commits, so a worker never picks up a job for rows it cannot yet see,
and a rolled-back transaction enqueues nothing.
"""
from __future__ import annotations

import importlib
import logging
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import scoped_session

log = logging.getLogger(__name__)

QUEUES = ("default", "messages", "imports")


def resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


class Jobs:
    def init_app(self, app: Flask) -> None:
        app.extensions["jobs"] = self

    @staticmethod
    def mode() -> str:
        return current_app.config["JOBS_MODE"]

    def queue(self, name: str = "default"):
        from rq import Queue
        from rq.serializers import JSONSerializer

        from app.extensions import redis_store

        prefix = current_app.config["RQ_QUEUE_PREFIX"]
        return Queue(f"{prefix}:{name}", connection=redis_store.client, serializer=JSONSerializer)

    def enqueue(self, path: str, *args: Any, queue: str = "default", **options: Any):
        """Run now (inline mode) or put on an RQ queue. Options go to `Queue.enqueue_call`."""
        if self.mode() == "inline":
            return resolve(path)(*args)
        return self.queue(queue).enqueue_call(func=path, args=args, **options)

    def enqueue_after_commit(self, session, path: str, *args: Any, queue: str = "default",
                             **options: Any) -> None:
        """Enqueue once `session` commits; drop silently if it rolls back (the sweeper is the net)."""
        app = current_app._get_current_object()

        def _enqueue():
            with app.app_context():
                try:
                    self.enqueue(path, *args, queue=queue, **options)
                except Exception:  # noqa: BLE001 — a Redis outage must not fail the committed request
                    log.exception("enqueue after commit failed for %s; the sweeper will retry", path)

        on_commit(session, _enqueue)


def on_commit(session, callback) -> None:
    """Call `callback()` once the session's OUTERMOST transaction commits; never if it rolls back.

    SQLAlchemy fires `after_commit` for savepoint (begin_nested) commits too, and `after_rollback`
    for savepoint rollbacks: neither may decide. The root transaction's end does.
    """
    target = session() if isinstance(session, scoped_session) else session
    decided: list[bool] = []

    def _after_commit(sess):
        if not decided and not sess.in_nested_transaction():
            decided.append(True)
            callback()

    def _after_transaction_end(_sess, transaction):
        if transaction.parent is None:
            # Committed (the callback ran) or rolled back: done either way. The listeners stay
            # (removing one while SQLAlchemy iterates them is an error) and do nothing from now
            # on; they go away with the session.
            decided.append(True)

    event.listen(target, "after_commit", _after_commit)
    event.listen(target, "after_transaction_end", _after_transaction_end)


jobs = Jobs()
