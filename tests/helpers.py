"""Helpers for API tests: accounts with tokens and bindings, made through the domain layer."""
from __future__ import annotations

import itertools

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
