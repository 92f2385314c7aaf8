"""The one place errors are wired: the JSON envelope for /api/, Chinese pages for everything else.

Domain errors (app/domain/errors.py) and HTTP errors (routing, framework, server) leave here.
Both carry a code from one catalogue, so a code always has the same status and message
whichever way it arrives. The API describes the envelope in its OpenAPI document; the staff
pages render `error.html`.
"""
from __future__ import annotations

import logging

import sqlalchemy.exc
from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.domain.errors import (
    Conflict,
    DomainError,
    InternalError,
    MethodNotAllowed,
    NotAuthenticated,
    NotAuthorized,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.extensions import db

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
DATABASE_RETRY_AFTER = 5  # seconds: a busy SQLite or a reconnecting pool is usually back by then


# An HTTP error raised by routing or the framework answers as the general code of its status.
BY_STATUS: dict[int, type[DomainError]] = {cls.status: cls for cls in (
    ValidationFailed, NotAuthenticated, NotAuthorized, NotFound, MethodNotAllowed, Conflict, PayloadTooLarge,
    UnsupportedMediaType, Unprocessable, RateLimited, InternalError, Unavailable)}

# Titles of the staff pages' error page, by status.
_TITLES = {400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "页面不存在", 405: "不支持的操作",
           409: "无法办理", 413: "文件过大", 415: "格式不支持", 422: "无法办理", 429: "操作过于频繁",
           500: "服务器错误", 503: "服务暂不可用"}


def as_domain_error(error: HTTPException) -> DomainError:
    """The catalogue's error for an HTTP error (its Retry-After header kept)."""
    status = error.code or 500
    cls = BY_STATUS.get(status) or (InternalError if status >= 500 else ValidationFailed)
    headers = {}
    response_headers = error.get_response().headers if status in (429, 503) else {}
    if "Retry-After" in response_headers:
        headers["Retry-After"] = response_headers["Retry-After"]
    elif status == 429:
        headers["Retry-After"] = "900"
    return cls(headers=headers)


def envelope(error: DomainError) -> Response:
    """{"error": {"code", "message", "fields"[, "retry_after"]}} with the error's status and headers."""
    body: dict = {"code": error.code, "message": error.message, "fields": dict(error.fields)}
    retry_after = error.headers.get("Retry-After")
    if retry_after is not None and str(retry_after).isdigit():
        body["retry_after"] = int(retry_after)
    response = jsonify({"error": body})
    response.status_code = error.status
    for key, value in error.headers.items():
        response.headers[key] = value
    return response


def error_page(status: int, message: str, fields: dict[str, str] | None = None) -> tuple[str, int]:
    """The staff pages' Chinese error page (an English framework text is replaced by the
    page's own Chinese explanation of the status)."""
    if status >= 500:
        message = "请稍后重试；问题持续请联系管理员。"
    return render_template("error.html", status=status, title=_TITLES.get(status, "无法办理"), message=message,
                           fields=fields or {}), status


def handle_http_exception(error: HTTPException):
    """Every HTTP error, whoever raised it (routing, Flask, an extension, an unhandled exception)."""
    status = error.code or 500
    if status >= 500:
        log.error("server error on %s", request.path,
                  exc_info=getattr(error, "original_exception", None) or error)
    if request.path.startswith(API_PREFIX):
        return envelope(as_domain_error(error))
    return error_page(status, error.description or "")


def handle_domain_error(error: DomainError):
    """A rule said no: the same code and message on every edge."""
    if request.path.startswith(API_PREFIX):
        return envelope(error)
    return error_page(error.status, error.message, error.fields)


def handle_database_unavailable(error: Exception):
    """The database could not answer in time (SQLite busy past its timeout, a PostgreSQL connection
    lost or a pool exhausted): the user may retry, so a 503 with Retry-After, never a 500."""
    log.error("database unavailable on %s", request.path, exc_info=error)
    db.session.rollback()
    return handle_domain_error(Unavailable(headers={"Retry-After": str(DATABASE_RETRY_AFTER)}))


def register_errorhandlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(sqlalchemy.exc.OperationalError, handle_database_unavailable)
    app.register_error_handler(sqlalchemy.exc.TimeoutError, handle_database_unavailable)
