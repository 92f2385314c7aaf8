"""The logged-in account and its bindings."""
from __future__ import annotations

from flask_smorest import Blueprint

from app.api.schemas import MeSchema
from app.api.security import current_account, require_account
from app.domain.accounts import bindings

blp = Blueprint("me", __name__, description="当前账号")


@blp.get("/me")
@blp.response(200, MeSchema)
@require_account
def me():
    """当前账号、它的绑定，以及等待本人审核的家属申请"""
    account = current_account()
    return {"account": account, "bindings": bindings.for_account(account),
            "pending_approvals": bindings.awaiting_account(account)}
