"""Shared column helpers."""
from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, TypeDecorator, any_, literal
from sqlalchemy.dialects.postgresql import ARRAY


def utcnow() -> datetime:
    """Timezone-aware now in UTC; used as a column default callable (never a value at import)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timestamps stored as UTC and always returned timezone-aware, on SQLite as on PostgreSQL.

    SQLite has no timezone type and hands back naive datetimes; without this, comparisons
    between loaded and fresh values raise on one database and not the other.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def check_in(column: str, values) -> str:
    """SQL text for a CHECK that a column holds one of a fixed set of values."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def in_ids(column, ids: Collection[int]):
    """`column IN (ids)`; on PostgreSQL `column = ANY(:array)`.

    One parameter and one query text whatever the number of ids: the hot paths (the sender's
    claim and outcome updates) otherwise render a new text for every list length, and each new
    text misses the driver's query cache and the server's prepared statements.
    """
    from app.extensions import db

    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(ids), ARRAY(Integer)))
    return column.in_(ids)
