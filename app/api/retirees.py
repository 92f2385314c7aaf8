"""A bound retiree's masked profile."""
from __future__ import annotations

from app.api.blueprint import ApiBlueprint, operation
from app.api.schemas import RetireeProfileSchema
from app.api.security import current_account, require_account
from app.domain.accounts import bindings
from app.domain.accounts.errors import NotBound
from app.domain.archives import records

blp = ApiBlueprint("retirees", __name__, description="退休人员档案（脱敏）")


@blp.get("/retirees/<int:retiree_id>")
@blp.response(200, RetireeProfileSchema)
@operation("getRetiree", NotBound)
@require_account
def profile(retiree_id: int):
    """已绑定（生效）的退休人员的脱敏档案；未绑定或不存在均为 403"""
    retiree = bindings.bound_retiree(current_account(), retiree_id)
    return records.masked_profile(retiree)
