"""The API's field types: every bound lives here, once, so input validation and the OpenAPI
document (minimum, maximum, maxLength, pattern) cannot disagree, and PostgreSQL and SQLite
never see a value one of them would refuse.

The limits come from the shared input layer (`app.domain.inputs`): ids of 32-bit integer
columns, dates within the service calendar, text without NUL or control characters.
"""
from __future__ import annotations

from datetime import date

from marshmallow import ValidationError, fields, validate

from app.domain import clock, inputs

_NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
_NO_CONTROL_SINGLE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"


class LocalDateTime(fields.DateTime):
    """An instant as ISO 8601 in the service zone (Asia/Shanghai), with its offset: +08:00."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("metadata", {}).setdefault("example", "2025-03-01T09:30:00+08:00")
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(clock.SERVICE_ZONE).isoformat()


class Id(fields.Integer):
    """The id of a record: a whole number that a row of ours can have (1..2**31-1). A number
    beyond the database's integer is a 400 naming the field, never a database error."""

    default_error_messages = {"invalid": "应为整数", "too_large": "应为整数"}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("strict", True)
        kwargs.setdefault("validate", validate.Range(min=1, max=inputs.MAX_ID, error="应为 {min}–{max} 之间的整数"))
        super().__init__(**kwargs)


class BoundedInt(fields.Integer):
    """A whole number within [low, high]."""

    default_error_messages = {"invalid": "应为整数", "too_large": "应为整数"}

    def __init__(self, low: int, high: int, **kwargs) -> None:
        kwargs.setdefault("validate", validate.Range(min=low, max=high, error="应为 {min}–{max} 之间的整数"))
        super().__init__(**kwargs)


class Text(fields.String):
    """Text of at most `max_length` characters (its column's length) without NUL or control
    characters; `multiline` allows line breaks and tabs. Blank-only text counts as empty."""

    default_error_messages = {"invalid": "应为文本", "invalid_utf8": "应为文本"}

    def __init__(self, max_length: int, *, min_length: int | None = None, multiline: bool = False,
                 **kwargs) -> None:
        if min_length:
            length = validate.Length(min=min_length, max=max_length, error="应为 {min}–{max} 个字符")
        else:
            length = validate.Length(max=max_length, error="最多 {max} 个字符")
        characters = validate.Regexp(_NO_CONTROL if multiline else _NO_CONTROL_SINGLE_LINE,
                                     error="含有无法识别的控制字符")
        kwargs["validate"] = [length, characters, *_as_list(kwargs.get("validate"))]
        super().__init__(**kwargs)


class Choice(fields.String):
    """One of a fixed set of words."""

    default_error_messages = {"invalid": "应为文本"}

    def __init__(self, choices, **kwargs) -> None:
        kwargs["validate"] = validate.OneOf(tuple(choices), error="取值应为：{choices}")
        super().__init__(**kwargs)


class CalendarDate(fields.Date):
    """A date (YYYY-MM-DD) within the service calendar (inputs.FIRST_DATE..inputs.LAST_DATE)."""

    default_error_messages = {"invalid": "日期格式应为 YYYY-MM-DD", "format": "日期格式应为 YYYY-MM-DD"}

    def __init__(self, **kwargs) -> None:
        span = f"{inputs.FIRST_DATE.isoformat()} 至 {inputs.LAST_DATE.isoformat()}"
        kwargs["validate"] = [_in_calendar, *_as_list(kwargs.get("validate"))]
        metadata = kwargs.setdefault("metadata", {})
        metadata["description"] = (metadata.get("description", "") + f"（{span}）").lstrip()
        super().__init__(**kwargs)


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _in_calendar(value: date) -> None:
    if not inputs.in_calendar(value):
        raise ValidationError(inputs.CALENDAR_MESSAGE)
