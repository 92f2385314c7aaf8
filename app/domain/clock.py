"""The service clock. Every rule that depends on "today" reads it here, so tests can move time.

The service zone is the SERVICE_TIMEZONE setting (Asia/Shanghai unless configured): a retiree's
"today" is that zone's date, whatever the server's zone is. `create_app` calls `configure` once at
start; the zone is one per process (every app a process builds shares it), read as
`clock.SERVICE_ZONE` at call time, never copied at import.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from config import SETTINGS

_frozen: datetime | None = None
# Until `configure` runs (a bare import, e.g. a test module's constants), the declared default.
SERVICE_ZONE = ZoneInfo(SETTINGS["SERVICE_TIMEZONE"].default)


def configure(zone_name: str) -> None:
    """Set the service zone (an IANA name, validated by the settings parser)."""
    global SERVICE_ZONE
    SERVICE_ZONE = ZoneInfo(zone_name)


def now() -> datetime:
    """Aware UTC now (or the frozen instant in tests)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def local_now() -> datetime:
    return now().astimezone(SERVICE_ZONE)


def today() -> date:
    """Today's date in the service zone."""
    return local_now().date()


def start_of_local_day(day: date) -> datetime:
    """The UTC instant at which `day` begins in the service zone."""
    return datetime(day.year, day.month, day.day, tzinfo=SERVICE_ZONE).astimezone(UTC)


# Report periods are clamped to these days: beyond them a date cannot become a UTC instant
# (date.min/date.max overflow), and no service record lies outside them.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2200, 12, 31)


def local_days(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering the service-zone days `date_from`..`date_to` inclusive.

    Dates outside EARLIEST_DAY..LATEST_DAY are clamped, so a hostile date never overflows.
    """
    date_from = min(max(date_from, EARLIEST_DAY), LATEST_DAY)
    date_to = min(max(date_to, EARLIEST_DAY), LATEST_DAY)
    return start_of_local_day(date_from), start_of_local_day(date_to + timedelta(days=1))


@contextmanager
def frozen(at: datetime | date) -> Iterator[None]:
    """Freeze the clock (tests). A date freezes at 09:00 local time on that day."""
    global _frozen
    if isinstance(at, date) and not isinstance(at, datetime):
        at = datetime(at.year, at.month, at.day, 9, tzinfo=SERVICE_ZONE)
    if at.tzinfo is None:
        raise ValueError("freeze the clock with an aware datetime")
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def advance(delta: timedelta) -> None:
    """Move a frozen clock forward (tests)."""
    global _frozen
    if _frozen is None:
        raise RuntimeError("advance() needs a frozen clock")
    _frozen = _frozen + delta
