"""Values that came from outside (a URL, a JSON body, a form field), made safe for the database.

Two classes of hostile input reach the database as errors instead of answers unless checked:

* ids beyond the 32-bit integer columns: PostgreSQL raises "integer out of range" and SQLite
  an OverflowError. Such an id names no row, so it is simply "not found".
* NUL and other control characters in text: PostgreSQL refuses NUL in text columns and in LIKE
  patterns; none of these characters belongs in a name, a title or a message anyway.
"""
from __future__ import annotations

import re
from typing import TypeVar

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
