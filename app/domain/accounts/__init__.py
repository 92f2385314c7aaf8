"""Mini-program accounts: WeChat login, revocable API tokens, and the bindings between an
account and the retiree archives it may act for (self active at once; relatives pending until the
retiree or staff approve). Every API check of "may this account see this retiree" is here.

Modules: `bindings`, `login`.
"""
from app.domain.accounts.bindings import (
    approve_by_account,
    approve_by_staff,
    awaiting_account,
    bound_retiree,
    create_binding,
    for_account,
    pending_for_staff,
    reject_by_account,
    reject_by_staff,
    revoke,
)
from app.domain.accounts.login import account_for_token, issue_token

__all__ = [
    "bound_retiree", "for_account", "awaiting_account", "create_binding", "approve_by_account",
    "reject_by_account", "revoke", "pending_for_staff", "approve_by_staff", "reject_by_staff", "issue_token",
    "account_for_token",
]
