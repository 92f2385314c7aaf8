"""Bearer-token authentication for the mini-program API."""
from __future__ import annotations

from copy import deepcopy
from functools import wraps
from typing import TYPE_CHECKING

from flask import current_app, g, request

from app.domain.accounts import login
from app.domain.errors import NotAuthenticated

if TYPE_CHECKING:
    from app.models import Account

# OpenAPI: the security requirement of views protected by require_account.
BEARER = [{"bearer": []}]
_AUTHENTICATED = "tuiguan.authenticated"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticate() -> Account:
    """The account of this request's bearer token (looked up once per request), or 401."""
    # The mark lives in the request's environ, not in g: an app context (and its g) can outlive
    # one request, as in tests that push one around several.
    if not request.environ.get(_AUTHENTICATED):
        token = bearer_token()
        account = login.account_for_token(token)
        if account is None:
            raise NotAuthenticated()
        g.account, g.api_token = account, token
        request.environ[_AUTHENTICATED] = True
    return g.account


def authenticate_first() -> None:
    """App-wide before_request: a route marked by `require_account` authenticates
    before flask-smorest parses its body or query (those decorators wrap outside it), so a caller
    without a token gets 401, never field errors that describe the schema."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "_requires_account", False):
        authenticate()


def require_account(view):
    """401 `not_authenticated` unless the request carries a live API token; sets g.account.

    Also documents the route in OpenAPI: bearer security (the 401 answer is added by the
    API blueprint's route, with the other errors of the operation).
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        authenticate()
        return view(*args, **kwargs)

    # functools.wraps copies __dict__ outward, so smorest's wrappers carry the mark to the
    # endpoint's view function, where authenticate_first finds it.
    wrapper._requires_account = True
    apidoc = deepcopy(getattr(view, "_apidoc", {}))
    apidoc.setdefault("manual_doc", {})["security"] = BEARER
    wrapper._apidoc = apidoc
    return wrapper


def current_account() -> Account:
    return g.account


def current_token() -> str:
    """The raw bearer token of this request (for logout)."""
    return g.api_token
