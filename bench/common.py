"""What every benchmark needs: a free loopback port and a private, throwaway database."""
from __future__ import annotations

import os
import secrets
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Database:
    """A fresh database for the run: a private PostgreSQL database when DATABASE_URL names a
    PostgreSQL server (created here, dropped by `drop`), else a SQLite file in a temp dir."""

    def __init__(self, prefix: str) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix=f"{prefix}-")
        base = os.environ.get("DATABASE_URL", "")
        self.admin = None
        if base.startswith("postgres"):
            from sqlalchemy import create_engine, text

            parts = urlsplit(base.replace("postgresql+psycopg://", "postgresql://").replace("postgres://",
                                                                                          "postgresql://"))
            self.name = f"{prefix.replace('-', '_')}_{secrets.token_hex(4)}"
            # The maintenance database: the one named in DATABASE_URL need not exist.
            self.admin = create_engine(urlunsplit(parts._replace(scheme="postgresql+psycopg", path="/postgres")),
                                       isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = urlunsplit(parts._replace(path="/" + self.name))
            self.kind = "postgresql"
        else:
            self.url = f"sqlite:///{Path(self.tmp.name) / 'bench.db'}"
            self.kind = "sqlite"

    def drop(self) -> None:
        if self.admin is not None:
            from sqlalchemy import text

            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()
        self.tmp.cleanup()
