"""Shared fixtures.

Databases: with DATABASE_URL pointing at PostgreSQL, each test run creates its own database
(`<name>_run_<random>`) and drops it at the end, so parallel runs never collide; without it, a
SQLite file under the run's tmp dir. Redis: REDIS_URL (a real server; the run uses its own key
prefix and flushes only the selected DB number) or the in-process stand-in.
Tables are emptied between tests, not recreated, to keep the suite fast.
"""
from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db, redis_store
from tests.support import factories
from tests.support.config import TEST_PII_KEY
from tests.support.factories import make_tree

# Capability fixtures live in tests/support/ (fixture names are unique across them).
pytest_plugins = [
    "tests.support.clock",
    "tests.support.jobs",
    "tests.support.certification",
    "tests.support.cases",
    "tests.support.events",
    "tests.support.messaging",
    "tests.support.campaigns",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if not url or url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    base_name = parts.path.lstrip("/") or "test"
    run_name = f"{base_name}_run_{secrets.token_hex(4)}"
    admin = create_engine(urlunsplit(parts._replace(scheme="postgresql+psycopg")),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{run_name}"'))
        # A throwaway database: waiting for the WAL flush on every commit buys nothing here.
        conn.execute(text(f'ALTER DATABASE "{run_name}" SET synchronous_commit TO off'))
    yield urlunsplit(parts._replace(path="/" + run_name))
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{run_name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("REDIS_URL") or f"memory://tests-{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def wechat_sandbox():
    """The project's WeChat sandbox, serving real HTTP on a loopback port for the whole run."""
    from app.wechat.sandbox import SandboxServer

    server = SandboxServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_overrides(database_url, redis_url, wechat_sandbox) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "PII_KEY": TEST_PII_KEY,
        "SECRET_KEY": "test-secret",
        "WECHAT_API_BASE": wechat_sandbox.base_url,
        "JOBS_MODE": "inline",
        "RQ_QUEUE_PREFIX": f"test-{secrets.token_hex(3)}",
        "WTF_CSRF_ENABLED": False,
    }


@pytest.fixture(scope="session")
def _app_session(base_overrides):
    app = create_app("testing", base_overrides)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _empty_tables(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # DELETE on small tables is far cheaper than TRUNCATE, which rewrites every
                # table's files; children first (sorted_tables reversed), so no FK complains.
                for table in tables:
                    conn.execute(table.delete())
            else:
                for table in tables:
                    # SQLite checks ON DELETE RESTRICT row by row: untie self-references
                    # (region.parent_id) first, or deleting a parent with children fails.
                    for fk in table.foreign_keys:
                        if fk.column.table is table and fk.parent.nullable:
                            conn.execute(table.update().values({fk.parent.name: None}))
                    conn.execute(table.delete())


@pytest.fixture
def app(_app_session, wechat_sandbox):
    """The app with empty tables, a clean Redis namespace and a reset sandbox."""
    _empty_tables(_app_session)
    factories.reseed()
    wechat_sandbox.reset()
    with _app_session.app_context():
        client = redis_store.client
        for key in client.scan_iter("*"):
            client.delete(key)
        from app.extensions import limiter

        limiter.reset()
    # A fresh WeChat client: its per-process token memo must not outlive the emptied Redis.
    _app_session.extensions.pop("tuiguan_wechat_client", None)
    ctx = _app_session.app_context()
    ctx.push()
    settings = dict(_app_session.config)
    yield _app_session
    db.session.remove()
    ctx.pop()
    # Settings a test changed (config.update, or pop to fall back) are the built app's again.
    _app_session.config.clear()
    _app_session.config.update(settings)


@pytest.fixture
def tree(app):
    """The standard region tree (tests/factories.make_tree), committed so servers see it."""
    regions = make_tree()
    db.session.commit()
    return regions


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def csrf_app(base_overrides):
    """An app with CSRF protection on, for tests of the protection itself."""
    overrides = dict(base_overrides, WTF_CSRF_ENABLED=True)
    app = create_app("testing", overrides)
    _empty_tables(app)
    with app.app_context():
        yield app
        db.session.remove()


# ---- browser tests -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def _live_app(base_overrides):
    overrides = dict(base_overrides, WTF_CSRF_ENABLED=True)
    return create_app("testing", overrides)


@pytest.fixture
def live_server(_app_session, _live_app):
    """The app served over real HTTP on loopback (threaded), tables emptied first."""
    _empty_tables(_live_app)
    with _live_app.app_context():
        from app.extensions import limiter

        limiter.reset()
    server = make_server("127.0.0.1", _free_port(), _live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    server.app = _live_app
    yield server
    server.shutdown()
    thread.join(timeout=5)


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    import playwright.sync_api as playwright_api
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    pg.base_url = live_server.url
    yield pg
    context.close()
