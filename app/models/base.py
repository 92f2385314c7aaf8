"""Shared column helpers."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, TypeDecorator


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
