"""Typed domain errors and the catalogue of error codes. Each edge maps them to its own response
(the API's JSON envelope, a staff page, a CLI line) — see app/errors.py.

Every code has exactly one class and one Chinese message: a rule raises the class
(`raise SlotFull()`), never a base class with a code string, so the message a person reads, the
code a client switches on and the OpenAPI document (which lists, per operation, the codes it may
answer) all come from the same line. A message may name parameters (`{minutes}`), given when
raising: `CutoffPassed(minutes=30)`. Details about single fields go in `fields`.

Codes used by one capability live in that capability's `errors.py`; codes shared by several are
below. A class is catalogued when its module is imported; `catalogue()` lists them all.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import ClassVar

_CATALOGUE: dict[str, type[DomainError]] = {}


class DomainError(Exception):
    """A rule said no. `code` is stable and machine-readable; `message` is for people."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "请求无效"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            return
        known = _CATALOGUE.get(cls.code)
        # A module re-imported under the same name (test reloads) may define its class again.
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise TypeError(f"error code {cls.code!r} is already {known.__module__}.{known.__qualname__}")
        _CATALOGUE[cls.code] = cls

    def __init__(self, *, fields: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                 **params: object) -> None:
        self.message = type(self).message.format(**params) if params else type(self).message
        self.fields = fields or {}
        self.headers = headers or {}
        super().__init__(self.message)


def catalogue() -> dict[str, type[DomainError]]:
    """Every error code → its class (status and message): the codes below and those of every
    capability package (each imports its modules, so their error classes are defined)."""
    package = importlib.import_module("app.domain")
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg:
            importlib.import_module(f"app.domain.{info.name}")
    return dict(sorted(_CATALOGUE.items()))


# ---- the general kinds, by HTTP status -------------------------------------------------------

class ValidationFailed(DomainError):
    """Bad input; what is wrong with each field is in `fields`."""

    status, code, message = 400, "invalid_input", "输入有误，请按提示修改"


class Unprocessable(DomainError):
    status, code, message = 422, "unprocessable", "当前状态下无法办理"


class NotAuthenticated(DomainError):
    status, code, message = 401, "not_authenticated", "请先登录（令牌缺失、过期或已注销）"


class NotAuthorized(DomainError):
    status, code, message = 403, "forbidden", "无权访问"


class NotFound(DomainError):
    status, code, message = 404, "not_found", "未找到"


class Conflict(DomainError):
    status, code, message = 409, "conflict", "与现有记录冲突"


class RateLimited(DomainError):
    status, code, message = 429, "rate_limited", "请求过于频繁，请稍后再试"


class Unavailable(DomainError):
    status, code, message = 503, "service_unavailable", "服务暂时不可用，请稍后重试"


# ---- codes shared by several capabilities ------------------------------------------------------

class RoleForbidden(NotAuthorized):
    code, message = "role_forbidden", "您的角色不能办理此事项"


class OutOfScope(NotAuthorized):
    code, message = "out_of_scope", "该记录不在您的管辖范围内"


class RetireeNotFound(NotFound):
    code, message = "retiree_not_found", "未找到该退休人员"


class IdNumberNotFound(NotFound):
    code, message = "id_number_not_found", "未找到该身份证号对应的退休人员"


class RetireeDeceased(Unprocessable):
    code, message = "retiree_deceased", "该退休人员已故，无法办理"


# ---- codes only the transport produces (app/errors.py maps HTTP errors to them) ------------------

class InvalidJson(ValidationFailed):
    code, message = "invalid_json", "请求体不是有效的 JSON"


class MethodNotAllowed(DomainError):
    status, code, message = 405, "method_not_allowed", "不支持该请求方法"


class PayloadTooLarge(DomainError):
    status, code, message = 413, "payload_too_large", "请求内容过大"


class UnsupportedMediaType(DomainError):
    status, code, message = 415, "unsupported_media_type", "请使用 JSON 格式提交（Content-Type: application/json）"


class InternalError(DomainError):
    status, code, message = 500, "internal_error", "服务器内部错误，请稍后重试"
