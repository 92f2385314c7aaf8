"""Unbound extension instances; `create_app` binds them. Nothing here opens a connection at import."""
from __future__ import annotations

import threading

import redis
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

# Deterministic constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class RedisStore:
    """One Redis client per app, from REDIS_URL.

    `memory://` gives the in-process stand-in (fakeredis), shared by every client made in
    this process, so an embedded run and the SQLite test path need no Redis server.
    """

    _fake_servers: dict[str, object] = {}
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._clients: dict[int, redis.Redis] = {}

    def init_app(self, app: Flask) -> None:
        app.extensions["redis_store"] = self
        url = app.config["REDIS_URL"]
        self._clients[id(app)] = self.client_for_url(url)

    @classmethod
    def client_for_url(cls, url: str, **kwargs) -> redis.Redis:
        """A Redis client for a URL; `memory://NAME` is a process-wide fake server per NAME."""
        if url.startswith("memory://"):
            import fakeredis

            name = url[len("memory://"):] or "default"
            with cls._lock:
                server = cls._fake_servers.setdefault(name, fakeredis.FakeServer())
            return fakeredis.FakeRedis(server=server, **kwargs)
        kwargs.setdefault("socket_timeout", 5)
        kwargs.setdefault("socket_connect_timeout", 2)
        kwargs.setdefault("health_check_interval", 30)
        return redis.Redis.from_url(url, **kwargs)

    @property
    def client(self) -> redis.Redis:
        from flask import current_app

        return self._clients[id(current_app._get_current_object())]


redis_store = RedisStore()
