"""WeChat subscribe-message field rules (subscribeMessage.send, "参数值内容限制").

A template's data keys are `<type><n>` (`thing1`, `time2`, ...); the type fixes what the value may
hold. The sandbox rejects bad values with 47003 the way WeChat does, and the messaging code can call
`check_value` before sending so our own formatting never earns a 47003.
"""
from __future__ import annotations

import re
import unicodedata

# type -> maximum length, counted in characters as WeChat counts them.
LIMITS: dict[str, int] = {
    "thing": 20,
    "short_thing": 5,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "amount": 11,  # currency symbol + up to 10 digits (plus optional decimals and 元, checked by regex)
    "phone_number": 17,
    "car_number": 8,
    "name": 10,  # 20 when the name is letters only
    "phrase": 5,
}
TYPES = frozenset(LIMITS) | {"time", "date"}

_KEY = re.compile(r"^([a-z_]+?)(\d+)$")
_CHINESE = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_IS_CHINESE = re.compile(f"[{_CHINESE}]")
_ONLY_CHINESE = re.compile(f"^[{_CHINESE}]+$")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_LETTERS = re.compile(r"^[A-Za-z]+$")
_CHAR_STRING = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII: digits, letters, symbols
_PHONE = re.compile(r"^[\d+\-() ]+$")
_CAR = re.compile(f"^[{_CHINESE}A-Za-z0-9][A-Za-z0-9]*[{_CHINESE}A-Za-z0-9]?$")
_AMOUNT = re.compile(r"^[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?$")
_DATE_PART = r"\d{4}(年\d{1,2}月\d{1,2}日|-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2})"
_TIME_PART = r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?"
_DATE_ONE = f"{_DATE_PART}( ?{_TIME_PART})?"
_TIME_ONE = f"({_DATE_PART} ?)?{_TIME_PART}"
_DATE = re.compile(f"^{_DATE_ONE}( ?~ ?{_DATE_ONE})?$")
_TIME = re.compile(f"^{_TIME_ONE}( ?~ ?({_TIME_ONE}))?$")
_NAME_CHARS = re.compile(f"^[{_CHINESE}A-Za-z ·.\\-]+$")


def field_type(key: str) -> str | None:
    """The WeChat type of a data key (`thing1` → `thing`), or None when the key is not a WeChat key."""
    match = _KEY.match(key or "")
    if not match or match.group(1) not in TYPES:
        return None
    return match.group(1)


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def _symbols_only(value: str) -> bool:
    return all(not ch.isalnum() and not ch.isspace() and not _IS_CHINESE.match(ch) for ch in value)


def check_value(kind: str, value: object) -> str | None:
    """Why `value` is not acceptable for a field of WeChat type `kind`, or None when it is."""
    if kind not in TYPES:
        return f"unknown field type {kind!r}"
    if not isinstance(value, str):
        return "value must be a string"
    if value == "":
        return "value is empty"
    if _has_control(value):
        return "value contains control characters"
    limit = LIMITS.get(kind)
    if kind == "name":
        if not _NAME_CHARS.match(value):
            return "name allows Chinese characters or letters only"
        limit = 10 if _IS_CHINESE.search(value) else 20
    if limit is not None and len(value) > limit:
        return f"exceeds {limit} characters"
    checks = {
        "number": lambda v: bool(_NUMBER.match(v)),
        "letter": lambda v: bool(_LETTERS.match(v)),
        "symbol": _symbols_only,
        "character_string": lambda v: bool(_CHAR_STRING.match(v)),
        "amount": lambda v: bool(_AMOUNT.match(v)),
        "phone_number": lambda v: bool(_PHONE.match(v)),
        "car_number": lambda v: bool(_CAR.match(v)),
        "phrase": lambda v: bool(_ONLY_CHINESE.match(v)),
        "date": lambda v: bool(_DATE.match(v)),
        "time": lambda v: bool(_TIME.match(v)),
    }
    check = checks.get(kind)
    if check is not None and not check(value):
        return f"not a valid {kind} value"
    return None


def check_data(data: object, allowed_keys: set[str] | None = None) -> tuple[str, str] | None:
    """The first problem in subscribe-message `data` as (field, reason), or None when all is well.

    `data` is WeChat's shape `{"thing1": {"value": "…"}}`; `allowed_keys` are the template's keys
    when known (a key the template does not have is rejected, as WeChat does).
    """
    if not isinstance(data, dict) or not data:
        return "data", "data must be a non-empty object"
    for key, item in data.items():
        kind = field_type(key)
        if kind is None:
            return key, "unknown data key"
        if allowed_keys is not None and key not in allowed_keys:
            return key, "key not in template"
        if not isinstance(item, dict) or "value" not in item:
            return key, "item must be {\"value\": ...}"
        reason = check_value(kind, item["value"])
        if reason:
            return key, reason
    return None
