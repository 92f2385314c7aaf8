"""Typed domain errors. Each edge maps them to its own response (JSON envelope or HTML page)."""
from __future__ import annotations


class DomainError(Exception):
    """A rule said no. `code` is stable and machine-readable; `message` is for people."""

    status = 400
    code = "bad_request"
    message = "请求无效"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 fields: dict[str, str] | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.fields = fields or {}
        self.headers = headers or {}
        super().__init__(self.message)


class ValidationFailed(DomainError):
    status = 400
    code = "invalid_input"
    message = "输入有误"


class Unprocessable(DomainError):
    status = 422
    code = "unprocessable"
    message = "当前状态下无法办理"


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    message = "请先登录"


class NotAuthorized(DomainError):
    status = 403
    code = "forbidden"
    message = "无权访问"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "未找到"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "与现有记录冲突"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    message = "尝试次数过多，请稍后再试"


class Unavailable(DomainError):
    status = 503
    code = "service_unavailable"
    message = "服务暂时不可用，请稍后重试"
