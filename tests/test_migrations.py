"""Alembic: one head, upgrade and downgrade on the run's database kind, and models == migrations."""
from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "migrations")


def test_single_alembic_head(app):
    config = app.extensions["migrate"].migrate.get_config(MIGRATIONS)
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"more than one Alembic head: {heads}"


@pytest.fixture
def fresh_database_url(tmp_path):
    url = os.environ.get("DATABASE_URL")
    if not url or url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    name = f"migrations_{secrets.token_hex(4)}"
    admin = create_engine(urlunsplit(parts._replace(scheme="postgresql+psycopg")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield urlunsplit(parts._replace(path="/" + name))
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_matches_models_and_downgrades(base_overrides, fresh_database_url):
    app = create_app("testing", dict(base_overrides, DATABASE_URL=fresh_database_url))
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"

        downgrade(directory=MIGRATIONS, revision="base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()

        upgrade(directory=MIGRATIONS)
        assert "retiree" in inspect(db.engine).get_table_names()
        db.session.remove()
        db.engine.dispose()
