"""Bearer-token authentication for the mini-program API."""
from __future__ import annotations

from functools import wraps

from flask import g, request

from app.domain import accounts
from app.domain.errors import NotAuthenticated
from app.models import Account


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def require_account(view):
    """401 `not_authenticated` unless the request carries a live API token; sets g.account."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        account = accounts.account_for_token(bearer_token())
        if account is None:
            raise NotAuthenticated("请先登录（令牌缺失、过期或已注销）", code="not_authenticated")
        g.account = account
        return view(*args, **kwargs)

    wrapper._apidoc = getattr(view, "_apidoc", {})
    return wrapper


def current_account() -> Account:
    return g.account


# OpenAPI: views protected by require_account declare this security requirement.
BEARER = [{"bearer": []}]
