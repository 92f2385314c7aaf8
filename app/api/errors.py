"""The API's one error envelope, for domain errors, HTTP errors and validation failures."""
from __future__ import annotations

import logging
import re

from flask import jsonify
from flask_smorest import Api
from flask_smorest.arguments import ArgumentsMixin
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, UnsupportedMediaType

from app.api.schemas import ErrorSchema
from app.domain.errors import DomainError

log = logging.getLogger(__name__)


class TuiguanParser(FlaskParser):
    """webargs parser: bad input is a 400 with field messages (webargs' default would be 422),
    and a body sent with a non-JSON content type is a 415, not silently "no fields given"."""

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req):
        if not core.is_json(req.mimetype) and req.get_data(cache=True):
            raise UnsupportedMediaType("请使用 JSON 格式提交（Content-Type: application/json）")
        return super()._raw_load_json(req)


# Must be set before any blueprint module applies @blp.arguments (app/api/__init__ imports us first).
ArgumentsMixin.ARGUMENTS_PARSER = TuiguanParser()

_HTTP_CODES = {
    400: ("invalid_input", "请求格式有误"),
    401: ("not_authenticated", "请先登录"),
    403: ("forbidden", "无权访问"),
    404: ("not_found", "未找到"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "与现有记录冲突"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "请使用 JSON 格式提交"),
    422: ("unprocessable", "当前状态下无法办理"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误，请稍后重试"),
    503: ("service_unavailable", "服务暂时不可用，请稍后重试"),
}


def envelope(status: int, code: str, message: str, fields: dict | None = None, headers=None):
    """The JSON error response. A Retry-After header is echoed as `error.retry_after` (seconds)."""
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    retry_after = (headers or {}).get("Retry-After")
    if retry_after is not None and str(retry_after).isdigit():
        body["error"]["retry_after"] = int(retry_after)
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten(messages, prefix: str = "") -> dict[str, str]:
    """webargs messages {"json": {"field": ["msg"]}} → {"field": "msg"} (nested as a.b)."""
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "form", "files", "headers", "view_args") and not prefix:
                out.update(_flatten(value, ""))
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
                out.update(_flatten(value, name))
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out[prefix or "_body"] = "; ".join(_translate(m) for m in messages)
        else:
            for i, m in enumerate(messages):
                out.update(_flatten(m, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "_body"] = _translate(str(messages))
    return out


_TRANSLATIONS = {
    "Missing data for required field.": "必填",
    "Not a valid string.": "应为文本",
    "Not a valid integer.": "应为整数",
    "Not a valid date.": "日期格式应为 YYYY-MM-DD",
    "Not a valid datetime.": "时间格式应为 ISO 8601",
    "Unknown field.": "不支持的字段",
    "Field may not be null.": "不能为空",
    "Invalid input type.": "格式有误",
    "Invalid JSON body.": "请求体不是有效的 JSON",
    "Not a valid boolean.": "应为 true 或 false",
    "Not a valid number.": "应为数字",
    "Not a valid list.": "应为列表",
    "Not a valid mapping type.": "应为对象",
    "Not a valid UUID.": "格式有误",
    "Not a valid time.": "时间格式应为 HH:MM",
    "Invalid value.": "取值无效",
    "Field may not be blank.": "不能为空",
}
_RANGE = re.compile(r"^(Length|Must be) (?:must be )?"
                    r"(?:between (?P<lo>\S+) and (?P<hi>\S+)"
                    r"|greater than or equal to (?P<ge>\S+)|less than or equal to (?P<le>\S+)"
                    r"|greater than (?P<gt>\S+)|less than (?P<lt>\S+))\.$")


def _translate(message: str) -> str:
    if message in _TRANSLATIONS:
        return _TRANSLATIONS[message]
    if message.startswith("Must be one of:"):
        return "取值应为：" + message.split(":", 1)[1].strip().rstrip(".")
    if message.startswith("Longer than maximum length"):
        return "过长（最多 " + message.rsplit(" ", 1)[1].rstrip(".") + " 个字符）"
    if message.startswith("Shorter than minimum length"):
        return "过短（至少 " + message.rsplit(" ", 1)[1].rstrip(".") + " 个字符）"
    match = _RANGE.match(message)
    if match:
        unit = " 个字符" if match.group(1) == "Length" else ""
        lo, hi, ge, le, gt, lt = (match.group(k) for k in ("lo", "hi", "ge", "le", "gt", "lt"))
        if lo is not None:
            return f"应为 {lo}–{hi}{unit}"
        if ge is not None:
            return f"应不少于 {ge}{unit}"
        if le is not None:
            return f"应不超过 {le}{unit}"
        return f"应大于 {gt}" if gt is not None else f"应小于 {lt}"
    return message


class TuiguanApi(Api):
    """flask-smorest Api whose HTTP errors use the Tuiguan envelope (documented as ErrorSchema)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # Registered on the app, but only for /api/ paths: staff pages keep HTML errors.
        self._app.register_error_handler(HTTPException, self.handle_http_exception)
        self._app.register_error_handler(DomainError, handle_domain_error)

    def handle_http_exception(self, error: HTTPException):
        from flask import request

        if not request.path.startswith("/api/"):
            from app.admin.errors import html_error

            return html_error(error)
        status = error.code or 500
        if status >= 500:
            log.error("server error on %s", request.path,
                      exc_info=getattr(error, "original_exception", None) or error)
        code, message = _HTTP_CODES.get(status, ("error", error.name))
        fields: dict[str, str] = {}
        data = getattr(error, "data", None) or {}
        if "messages" in data:
            fields = _flatten(data["messages"])
            if "_body" in fields and len(fields) == 1 and "JSON" in fields["_body"]:
                message = fields.pop("_body")
        headers = dict(data.get("headers") or {})
        if status == 429:
            headers.setdefault("Retry-After", "900")
        return envelope(status, code, message, fields, headers)


def handle_domain_error(error: DomainError):
    from flask import request

    if not request.path.startswith("/api/"):
        from app.admin.errors import html_domain_error

        return html_domain_error(error)
    return envelope(error.status, error.code, error.message, error.fields, error.headers)

