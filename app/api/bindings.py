"""Binding an account to a retiree archive: request, approve/reject by the retiree, revoke."""
from __future__ import annotations

from app.api.blueprint import ApiBlueprint, operation
from app.api.schemas import BindingCreateSchema, BindingSchema, PageQuerySchema, RelativeBindingPageSchema
from app.api.security import current_account, require_account
from app.domain.accounts import bindings
from app.domain.accounts.errors import (
    AlreadyBound,
    ArchiveNotMatched,
    BindingNotLive,
    BindingNotPending,
    DuplicateBinding,
    NotBindingApprover,
    NotBindingOwner,
    NotRetireeSelf,
    SelfAlreadyBound,
    TooManyAttempts,
)
from app.domain.errors import Unavailable
from app.extensions import db

blp = ApiBlueprint("bindings", __name__, description="绑定退休人员档案")


@blp.post("/bindings")
@blp.arguments(BindingCreateSchema)
@blp.response(201, BindingSchema)
@operation("createBinding", ArchiveNotMatched, DuplicateBinding, SelfAlreadyBound, AlreadyBound, TooManyAttempts,
           Unavailable)
@require_account
def create(args):
    """绑定档案：本人（self）核对成功即生效；家属需本人或社区审核

    姓名与身份证号须同时一致；不一致与不存在返回同一个 404 archive_not_matched。
    每个账号 15 分钟内最多失败 5 次，之后 429 too_many_attempts。
    """
    binding = bindings.create_binding(current_account(), args["relation"], args["name"], args["id_number"])
    db.session.commit()
    return binding


@blp.get("/retirees/<int:retiree_id>/bindings")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, RelativeBindingPageSchema)
@operation("listRelativeBindings", NotRetireeSelf)
@require_account
def relatives(args, retiree_id: int):
    """家属对本人档案的绑定（含待审核、已生效、已解除、已拒绝），仅退休人员本人可查看；解除用 revokeBinding"""
    return bindings.relatives_of(current_account(), retiree_id, args["page"], args["per_page"])


@blp.post("/bindings/<int:binding_id>/approve")
@blp.response(200, BindingSchema)
@operation("approveBinding", NotBindingApprover, BindingNotPending)
@require_account
def approve(binding_id: int):
    """退休人员本人同意家属的绑定申请"""
    binding = bindings.approve_by_account(current_account(), binding_id)
    db.session.commit()
    return binding


@blp.post("/bindings/<int:binding_id>/reject")
@blp.response(200, BindingSchema)
@operation("rejectBinding", NotBindingApprover, BindingNotPending)
@require_account
def reject(binding_id: int):
    """退休人员本人拒绝家属的绑定申请"""
    binding = bindings.reject_by_account(current_account(), binding_id)
    db.session.commit()
    return binding


@blp.delete("/bindings/<int:binding_id>")
@blp.response(204)
@operation("revokeBinding", NotBindingOwner, BindingNotLive)
@require_account
def revoke(binding_id: int):
    """解除绑定（本人账号也可解除家属对自己的绑定）；立即失去访问权限"""
    bindings.revoke(current_account(), binding_id)
    db.session.commit()
