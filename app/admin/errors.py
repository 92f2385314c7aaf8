"""HTML error pages for staff pages (the API has its JSON envelope)."""
from __future__ import annotations

import logging

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from app.domain.errors import DomainError

log = logging.getLogger(__name__)

_TITLES = {400: "请求有误", 403: "无权访问", 404: "页面不存在", 405: "不支持的操作",
           413: "文件过大", 429: "操作过于频繁", 500: "服务器错误", 503: "服务暂不可用"}


def html_error(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        log.error("server error", exc_info=getattr(error, "original_exception", None) or error)
    title = _TITLES.get(status, error.name)
    message = error.description if status < 500 else "请稍后重试；问题持续请联系管理员。"
    return render_template("error.html", status=status, title=title, message=message), status


def html_domain_error(error: DomainError):
    return render_template("error.html", status=error.status, title=_TITLES.get(error.status, "无法办理"),
                           message=error.message, fields=error.fields), error.status


def register_html_errors(app: Flask) -> None:
    """HTTP errors are routed by TuiguanApi.handle_http_exception (path-aware); nothing else to add."""
