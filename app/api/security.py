"""Bearer-token authentication for the mini-program API."""
from __future__ import annotations

from copy import deepcopy
from functools import wraps

from flask import g, request

from app.domain import accounts
from app.domain.errors import NotAuthenticated
from app.models import Account

# OpenAPI: the security requirement of views protected by require_account.
BEARER = [{"bearer": []}]


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def require_account(view):
    """401 `not_authenticated` unless the request carries a live API token; sets g.account.

    Also documents the route in OpenAPI: bearer security and the 401 envelope.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = bearer_token()
        account = accounts.account_for_token(token)
        if account is None:
            raise NotAuthenticated("请先登录（令牌缺失、过期或已注销）", code="not_authenticated")
        g.account = account
        g.api_token = token
        return view(*args, **kwargs)

    apidoc = deepcopy(getattr(view, "_apidoc", {}))
    apidoc.setdefault("manual_doc", {})["security"] = BEARER
    responses = apidoc.setdefault("response", {}).setdefault("responses", {})
    if "UNAUTHORIZED" not in responses.setdefault(401, []):
        responses[401].append("UNAUTHORIZED")
    wrapper._apidoc = apidoc
    return wrapper


def current_account() -> Account:
    return g.account


def current_token() -> str:
    """The raw bearer token of this request (for logout)."""
    return g.api_token
