"""Reading requests: the webargs parser of every API view, and its messages in Chinese.

The parser uses webargs' public hooks only: `load_json` (a body must be JSON, and any body that
is not — bad syntax, bad encoding, nesting deep enough to exhaust the parser — is one
`invalid_json` error) and `handle_error` (marshmallow's messages become the domain's
`ValidationFailed` with one Chinese message per field).
"""
from __future__ import annotations

import re

from marshmallow import missing
from webargs import core
from webargs.flaskparser import FlaskParser

from app.domain.errors import InvalidJson, UnsupportedMediaType, ValidationFailed

# marshmallow's and webargs' own messages, for the fields whose type does not set a Chinese one.
_TRANSLATIONS = {
    "Missing data for required field.": "必填",
    "Not a valid string.": "应为文本",
    "Not a valid integer.": "应为整数",
    "Not a valid date.": "日期格式应为 YYYY-MM-DD",
    "Not a valid datetime.": "时间格式应为 ISO 8601",
    "Unknown field.": "不支持的字段",
    "Field may not be null.": "不能为空",
    "Invalid input type.": "格式有误",
    "Not a valid boolean.": "应为 true 或 false",
    "Not a valid number.": "应为数字",
    "Not a valid list.": "应为列表",
    "Not a valid mapping type.": "应为对象",
    "Not a valid UUID.": "格式有误",
    "Not a valid time.": "时间格式应为 HH:MM",
    "Invalid value.": "取值无效",
    "Field may not be blank.": "不能为空",
    "Not a valid email address.": "格式有误",
}
_BOUND = r"(?P<{0}>-?[\d.]+)"
_RANGE = re.compile(
    r"^(?P<what>Length|Must be) (?:must be )?(?:"
    rf"between {_BOUND.format('lo')} and {_BOUND.format('hi')}"
    rf"|greater than or equal to {_BOUND.format('ge')}(?: and less than or equal to {_BOUND.format('ge_le')})?"
    rf"|greater than {_BOUND.format('gt')}(?: and less than {_BOUND.format('gt_lt')})?"
    rf"|less than or equal to {_BOUND.format('le')}|less than {_BOUND.format('lt')})\.$")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _range_message(match: re.Match) -> str:
    unit = " 个字符" if match["what"] == "Length" else ""
    if match["lo"] is not None:
        return f"应为 {match['lo']}–{match['hi']}{unit}"
    if match["ge_le"] is not None:
        return f"应为 {match['ge']}–{match['ge_le']}{unit}"
    if match["ge"] is not None:
        return f"应不少于 {match['ge']}{unit}"
    if match["le"] is not None:
        return f"应不超过 {match['le']}{unit}"
    if match["gt"] is not None:
        return f"应大于 {match['gt']}" + (f"且小于 {match['gt_lt']}" if match["gt_lt"] else "")
    return f"应小于 {match['lt']}"


def translate(message: str) -> str:
    """A field message for a person: Chinese as given, a library's English translated, and any
    other English replaced by a plain "格式有误" (a client must never show English)."""
    if _CJK.search(message):
        return message
    if message in _TRANSLATIONS:
        return _TRANSLATIONS[message]
    if message.startswith("Must be one of:"):
        return "取值应为：" + message.split(":", 1)[1].strip().rstrip(".")
    if message.startswith("Longer than maximum length"):
        return "过长（最多 " + message.rsplit(" ", 1)[1].rstrip(".") + " 个字符）"
    if message.startswith("Shorter than minimum length"):
        return "过短（至少 " + message.rsplit(" ", 1)[1].rstrip(".") + " 个字符）"
    match = _RANGE.match(message)
    return _range_message(match) if match else "格式有误"


_LOCATIONS = ("json", "query", "form", "files", "headers", "view_args", "path", "querystring")


def field_messages(messages, prefix: str = "") -> dict[str, str]:
    """marshmallow/webargs messages {"json": {"field": ["msg"]}} → {"field": "说明"} (nested as a.b)."""
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in _LOCATIONS and not prefix:
                out.update(field_messages(value, ""))
            else:
                out.update(field_messages(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out[prefix or "_body"] = "；".join(dict.fromkeys(translate(m) for m in messages))
        else:
            for i, m in enumerate(messages):
                out.update(field_messages(m, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "_body"] = translate(str(messages))
    return out


class ApiParser(FlaskParser):
    """webargs parser of the API: bad input is the domain's 400 `invalid_input` (webargs' default
    would be a 422 with English messages), and a body is JSON or refused."""

    DEFAULT_VALIDATION_STATUS = 400

    def load_json(self, req, schema):
        body = req.get_data(cache=True)
        if not body:
            return missing
        if not core.is_json(req.mimetype):
            raise UnsupportedMediaType()
        try:
            return core.parse_json(body)
        # RecursionError: a body nested thousands deep exhausts the JSON decoder's stack.
        except (ValueError, RecursionError) as exc:
            raise InvalidJson() from exc

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        raise ValidationFailed(fields=field_messages(error.messages)) from error
