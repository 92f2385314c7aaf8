"""Bindings between mini-program accounts and retiree archives, and the checks built on them."""
from __future__ import annotations

from sqlalchemy import select

from app.domain.errors import NotAuthorized
from app.extensions import db
from app.models import Account, Binding, Retiree


def active_binding(account: Account, retiree_id: int) -> Binding | None:
    return db.session.scalar(select(Binding).where(
        Binding.account_id == account.id, Binding.retiree_id == retiree_id, Binding.status == "active"))


def bound_retiree(account: Account, retiree_id: int) -> Retiree:
    """The retiree, if the account holds an active binding to them; else NotAuthorized (403).

    The same 403 whether the retiree exists or not, so ids cannot be probed.
    """
    binding = active_binding(account, retiree_id) if isinstance(retiree_id, int) else None
    if binding is None:
        raise NotAuthorized("您未绑定该退休人员", code="not_bound")
    return binding.retiree


def bound_retiree_ids(account: Account) -> list[int]:
    return list(db.session.scalars(select(Binding.retiree_id).where(
        Binding.account_id == account.id, Binding.status == "active")))
