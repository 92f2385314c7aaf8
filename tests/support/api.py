"""Helpers for API tests: accounts with tokens and bindings, made through the domain layer."""
from __future__ import annotations

import itertools
import uuid

from werkzeug.routing import IntegerConverter, UUIDConverter

from app.domain.accounts import login
from app.extensions import db
from app.models import Account, Binding

_seq = itertools.count(1)


def make_account(openid: str | None = None) -> Account:
    account = Account(openid=openid or f"openid-test-{next(_seq)}")
    db.session.add(account)
    db.session.flush()
    return account


def auth_headers(account: Account) -> dict[str, str]:
    """Bearer headers for a fresh token of `account` (commits)."""
    raw = login.issue_token(account)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def bind(account: Account, retiree, relation: str = "self", status: str = "active") -> Binding:
    binding = Binding(account_id=account.id, retiree_id=retiree.id, relation=relation, status=status)
    db.session.add(binding)
    db.session.flush()
    return binding


def account_with_binding(retiree, relation: str = "self") -> tuple[Account, dict[str, str]]:
    """A new account actively bound to `retiree`, and its auth headers."""
    account = make_account()
    bind(account, retiree, relation)
    return account, auth_headers(account)


# ---- walking the API -------------------------------------------------------------------------

# Routes that answer without a token.
PUBLIC = {("POST", "/api/v1/auth/login")}


def _sample(converter) -> str:
    if isinstance(converter, IntegerConverter):
        return "1"
    if isinstance(converter, UUIDConverter):
        return str(uuid.uuid4())
    return "x"


def api_routes(app) -> list[tuple[str, str]]:
    """(method, path) for every /api/v1 route except the OpenAPI document itself."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule.endswith("/openapi.json"):
            continue
        values = {name: _sample(converter) for name, converter in rule._converters.items()}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, app.url_map.bind("localhost").build(rule.endpoint, values, method=method)))
    return out


def assert_envelope(response, context: str) -> dict:
    assert response.status_code < 500, f"{context}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    if response.status_code < 400:
        return {}
    assert response.mimetype == "application/json", context
    body = response.get_json()
    assert set(body) == {"error"}, context
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"], context
    assert isinstance(error["message"], str) and error["message"], context
    assert isinstance(error["fields"], dict), context
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in error["fields"].items()), context
    return error
