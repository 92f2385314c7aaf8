"""Values that came from outside (a URL, a JSON body, a form field), made safe for the database.

Two classes of hostile input reach the database as errors instead of answers unless checked:

* ids beyond the 32-bit integer columns: PostgreSQL raises "integer out of range" and SQLite
  an OverflowError. Such an id names no row, so it is simply "not found".
* NUL and other control characters in text: PostgreSQL refuses NUL in text columns and in LIKE
  patterns; none of these characters belongs in a name, a title or a message anyway.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import TypeVar

from app.domain.errors import ValidationFailed
from app.extensions import db

MAX_ID = 2**31 - 1  # every primary key is a 32-bit INTEGER column
T = TypeVar("T")

# C0 controls except tab, line feed and carriage return; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def valid_id(value: object) -> bool:
    """True for a value a row of ours can have as its id: an int in 1..2**31-1 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def get(model: type[T], record_id: object) -> T | None:
    """`db.session.get`, but None (not a database error) for an id no row can have."""
    return db.session.get(model, record_id) if valid_id(record_id) else None


def has_control_characters(text: str | None, *, multiline: bool = True) -> bool:
    """True when `text` holds NUL or another control character (tab and line breaks allowed
    when `multiline`)."""
    pattern = _CONTROL if multiline else _CONTROL_SINGLE_LINE
    return bool(text) and pattern.search(text) is not None


# ---- the service calendar --------------------------------------------------------------------
# Dates a record may carry (births, deaths, bookings, report periods). Beyond them a date is a
# typo or an attack: at year 1 it cannot even become an instant in the service zone, and at
# 9999 one day later overflows.
FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2100, 12, 31)
CALENDAR_MESSAGE = f"日期应在 {FIRST_DATE.isoformat()} 至 {LAST_DATE.isoformat()} 之间"
# Times the service schedules something (slots, activities, meetings, campaign sends).
FIRST_SCHEDULE_YEAR, LAST_SCHEDULE_YEAR = 2000, 2100


def in_calendar(day: date) -> bool:
    """True for a date (or datetime) within FIRST_DATE..LAST_DATE."""
    return FIRST_DATE <= (day.date() if isinstance(day, datetime) else day) <= LAST_DATE


# ---- values from a query string (staff pages) --------------------------------------------------
# A staff page's filters come from links the page made; a bad value is a hand-edited URL. Each
# helper answers with the value or raises ValidationFailed naming the parameter, which the error
# page shows in Chinese (a 400, never a database error).

def query_id(args: Mapping[str, str], name: str) -> int | None:
    """`?name=<id>`: None when absent or empty, the id when it names a possible row."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    value = int(raw) if raw.isascii() and raw.isdecimal() and len(raw) <= 10 else None
    if value is None or not valid_id(value):
        raise ValidationFailed(fields={name: f"应为 1–{MAX_ID} 之间的整数"})
    return value


def query_date(args: Mapping[str, str], name: str, default: date) -> date:
    """`?name=YYYY-MM-DD` within the service calendar, or `default` when absent or empty."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        value = None
    if value is None:
        raise ValidationFailed(fields={name: "日期格式应为 YYYY-MM-DD"})
    if not in_calendar(value):
        raise ValidationFailed(fields={name: CALENDAR_MESSAGE})
    return value

