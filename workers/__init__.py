"""RQ job entry points: thin functions that take ids, open an app context and call one domain
function. Nothing happens at import (no app, no connection): the app is built on first use in a
process started by `rq worker` directly, or reused when `flask --app app worker` already made it.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context

_worker_app: Flask | None = None
_engine_pids: dict[int, int] = {}


def get_app() -> Flask:
    """The current app, or one built from the environment for a bare `rq worker` process."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app()
    return _worker_app


def set_app(app: Flask) -> None:
    """Used by `flask --app app worker`: jobs run in this app (its config) instead of a new one."""
    global _worker_app
    _worker_app = app


@contextmanager
def app_context() -> Iterator[Flask]:
    """A fresh app context (so a fresh database session) for one job.

    RQ's default worker forks a child per job; the child inherits the parent's pooled database
    connections, which must not be shared, so the pool is replaced (not closed) in a new process.
    """
    app = get_app()
    with app.app_context():
        from app.extensions import db

        engine = db.engine
        if _engine_pids.get(id(engine)) != os.getpid():
            engine.dispose(close=False)
            _engine_pids[id(engine)] = os.getpid()
        try:
            yield app
        finally:
            db.session.remove()
