"""The logged-in account, its bindings, and its phone number verified through WeChat."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.blueprint import ApiBlueprint, operation
from app.api.fields import Text
from app.api.schemas import CODE_MAX, AccountSchema, MeSchema
from app.api.security import current_account, require_account
from app.domain.accounts import bindings, phone
from app.domain.accounts.errors import PhoneCodeInvalid, PhoneNotMainland, WeChatDown
from app.extensions import db

blp = ApiBlueprint("me", __name__, description="当前账号")


class PhoneCodeSchema(Schema):
    code = Text(CODE_MAX, min_length=1, required=True,
                metadata={"description": "getPhoneNumber 按钮回调中的 code（一次性，5 分钟内有效）"})


class PhoneResultSchema(Schema):
    account = fields.Nested(AccountSchema, required=True)
    retiree_id = fields.Function(lambda result: result.retiree.id if result.retiree else None, allow_none=True,
                                 metadata={"type": "integer", "description": "本人档案 id（非本人绑定为 null）"})
    archive = fields.String(allow_none=True, validate=validate.OneOf(("confirmed", "updated")), metadata={
        "description": "本人档案的联系电话：confirmed 与档案一致，已确认 / updated 已更新为该号码；"
                       "非本人绑定的账号为 null"})


@blp.get("/me")
@blp.response(200, MeSchema)
@operation("getMe")
@require_account
def me():
    """当前账号、它的绑定，以及等待本人审核的家属申请"""
    return bindings.overview(current_account())


@blp.post("/me/phone")
@blp.arguments(PhoneCodeSchema)
@blp.response(200, PhoneResultSchema)
@operation("verifyPhone", PhoneCodeInvalid, PhoneNotMainland, WeChatDown)
@require_account
def verify_phone(args):
    """用微信手机号快速验证（getPhoneNumber）登记本账号的手机号

    本人绑定的账号同时确认或更新本人档案中的联系电话（社区据此联系），记入审计日志。号码只以脱敏形式返回。
    """
    result = phone.verify_phone(current_account(), args["code"])
    db.session.commit()
    return result
