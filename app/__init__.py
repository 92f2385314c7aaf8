"""Tuiguan (退管): retiree service-package backend. `create_app` is the only way to build the app."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

import config
from app import checks
from app.domain import clock


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build a configured app: extensions, blueprints, error handlers and CLI commands.

    Settings come from the environment (`config/`), with `overrides` on top (tests, benchmarks).
    Any malformed setting, and in production any default, weak or public secret, stops the start
    here with every problem listed (`config.SettingsError`). Nothing here touches the database or
    the network; migrations and seeding are CLI commands, the live checks are `flask check-config`.
    """
    app = Flask(__name__, instance_relative_config=True)
    settings = config.parse(config_name, overrides)
    app.config.from_mapping(settings.values)
    checks.refuse_to_start(app.config, settings.problems)
    clock.configure(app.config["SERVICE_TIMEZONE"])

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return app


def register_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (every table registered before migrate/create_all)
    from app.extensions import csrf, db, limiter, login_manager, migrate, redis_store
    from app.jobs import jobs

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"),
                     render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    redis_store.init_app(app)
    jobs.init_app(app)
    _sqlite_pragmas(app)


def _sqlite_pragmas(app: Flask) -> None:
    """WAL + busy timeout + foreign keys on SQLite, so the embedded default behaves like a server."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy issue BEGIN itself (see _on_begin) instead of pysqlite's deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if ":memory:" not in str(engine.url):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # 64 MB page cache: the keyed-hash index of a city's archives (random keys) stays in
            # memory, so big imports keep linear speed instead of thrashing the default 2 MB cache.
            cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # BEGIN IMMEDIATE takes the write lock up front: two writers never both read and then
        # collide on upgrade (SQLITE_BUSY mid-transaction). Readers are unaffected under WAL.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def register_blueprints(app: Flask) -> None:
    from app.admin import bp as admin_bp
    from app.api import register_api
    from app.callbacks import bp as callbacks_bp  # /wechat/callback: WeChat push events
    from app.health import bp as health_bp

    # Before any route exists: every `<int:…>` then stops at the 32-bit id range, so a huge id in
    # a URL is a 404 at routing, never "integer out of range" (PostgreSQL) or OverflowError (SQLite).
    app.url_map.converters["int"] = _RecordIdConverter
    register_api(app)
    app.register_blueprint(admin_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(callbacks_bp)


class _RecordIdConverter(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
