"""Marshmallow schemas shared by the API modules: input validation and OpenAPI documentation.

Input schemas reject unknown fields (marshmallow's default RAISE) and take their bounds from the
field types in app/api/fields.py, so bad input is a 400 with a Chinese message per field, never
a 500, and the document states every bound.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.fields import BoundedInt, Choice, Id, LocalDateTime, Text
from app.domain.errors import catalogue
from app.models.accounts import BINDING_STATUSES, RELATIONS

NAME_MAX = 50
ID_NUMBER_MAX = 32
CODE_MAX = 128
MAX_PAGE = 10_000
MAX_PER_PAGE = 50
ERROR_CATALOGUE = catalogue()
ERROR_CODES = list(ERROR_CATALOGUE)


# ---- the error envelope (documentation; app/errors.py builds it) -------------------------------

class ErrorDetailSchema(Schema):
    code = fields.String(required=True, validate=validate.OneOf(ERROR_CODES), metadata={
        "description": "稳定的机器可读错误码（每个错误码只有一种说明，见 x-enum-descriptions）",
        "x-enum-descriptions": [ERROR_CATALOGUE[code].message for code in ERROR_CODES]})
    message = fields.String(required=True, metadata={"description": "给用户看的中文说明"})
    # `fields` in the JSON; another attribute name so the class body keeps the module name.
    field_messages = fields.Dict(keys=fields.String(), values=fields.String(), required=True, data_key="fields",
                                 metadata={"description": "逐字段的错误说明（字段名 → 中文说明）"})
    retry_after = fields.Integer(metadata={"description": "多少秒后可重试（429/503 时给出，同 Retry-After 头）"})


class ErrorSchema(Schema):
    """Every API error: {"error": {"code", "message", "fields", ["retry_after"]}}."""

    error = fields.Nested(ErrorDetailSchema, required=True)


# ---- pages: every list of the API has this one shape ------------------------------------------

class PageQuerySchema(Schema):
    """`?page=&per_page=` of a paged list: page from 1, at most MAX_PER_PAGE per page."""

    page = BoundedInt(1, MAX_PAGE, load_default=1, metadata={"description": "页码，从 1 开始"})
    per_page = BoundedInt(1, MAX_PER_PAGE, load_default=20, metadata={"description": "每页条数"})


def page_schema(item_schema: type[Schema], name: str, **extra: fields.Field) -> type[Schema]:
    """One page of `item_schema` items: {"items", "page", "per_page", "total"} (+ `extra`)."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema), required=True),
        "page": fields.Integer(required=True, metadata={"description": "页码"}),
        "per_page": fields.Integer(required=True, metadata={"description": "每页条数"}),
        "total": fields.Integer(required=True, metadata={"description": "总条数"}),
        **extra,
    }, name=name)


def page_of(items, total: int, args: dict) -> dict:
    """The body of one page, from a domain function's (items, total) and the page arguments."""
    return {"items": list(items), "page": args["page"], "per_page": args["per_page"], "total": total}


def nullable_ref(component: str) -> dict:
    """OpenAPI of a computed field that is a `component` object or null (fields.Method)."""
    return {"anyOf": [{"$ref": f"#/components/schemas/{component}"}, {"type": "null"}]}


def retiree_id_param(description: str = "已绑定的退休人员 id", **kwargs) -> Id:
    return Id(metadata={"description": description}, **kwargs)


# ---- accounts ----------------------------------------------------------------------------------

class LoginSchema(Schema):
    code = Text(CODE_MAX, min_length=1, required=True, metadata={"description": "wx.login() 返回的 code（一次性）"})


class AccountSchema(Schema):
    id = fields.Integer(required=True)
    created_at = LocalDateTime(required=True)
    phone = fields.String(attribute="phone_masked", allow_none=True,
                          metadata={"description": "经微信验证的手机号（脱敏），未验证为 null"})
    phone_verified_at = LocalDateTime(allow_none=True, metadata={"description": "手机号验证时间"})


class LoginResultSchema(Schema):
    token = fields.String(required=True, metadata={"description": "API 令牌：请求头 Authorization: Bearer <token>"})
    account = fields.Nested(AccountSchema, required=True)


# ---- retirees ----------------------------------------------------------------------------------

class RetireeSummarySchema(Schema):
    """What a binding shows of its retiree: masked, no birth date or phone."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, attribute="id_masked", metadata={"description": "脱敏身份证号"})
    community = fields.String(required=True, attribute="community.name", metadata={"description": "所属社区"})


class CommunitySchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class RetireeProfileSchema(Schema):
    """`archives.masked_profile`: no full ID number, no full phone."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "脱敏身份证号，如 510302********0027"})
    gender = fields.String(required=True)
    birth_date = fields.String(required=True, metadata={"format": "date"})
    age = fields.Integer(required=True)
    phone = fields.String(allow_none=True, metadata={"description": "脱敏手机号，如 138****5678"})
    phone_confirmed_at = LocalDateTime(allow_none=True, metadata={
        "description": "本人通过微信验证确认该号码的时间（未确认为 null）"})
    community = fields.Nested(CommunitySchema, required=True)
    former_employer = fields.String(allow_none=True)
    retirement_date = fields.String(allow_none=True, metadata={"format": "date"})
    categories = fields.List(fields.String(), required=True)
    category_labels = fields.List(fields.String(), required=True)
    mobility_limited = fields.Boolean(required=True)
    life_status = fields.String(required=True)
    pension_status = fields.String(required=True)


# ---- bindings ----------------------------------------------------------------------------------

class BindingCreateSchema(Schema):
    relation = Choice(RELATIONS, required=True,
                      metadata={"description": "self 本人 / spouse 配偶 / child 子女 / other 其他"})
    name = Text(NAME_MAX, min_length=1, required=True)
    id_number = Text(ID_NUMBER_MAX, min_length=1, required=True)


class BindingSchema(Schema):
    id = fields.Integer(required=True)
    relation = fields.String(required=True, validate=validate.OneOf(RELATIONS))
    status = fields.String(required=True, validate=validate.OneOf(BINDING_STATUSES), metadata={
        "description": "pending 待审核 / active 已生效 / revoked 已解除 / rejected 已拒绝"})
    created_at = LocalDateTime(required=True)
    decided_at = LocalDateTime(allow_none=True)
    retiree = fields.Method("_retiree", metadata={**nullable_ref("RetireeSummary"),
                                                  "description": "仅在绑定生效（active）时给出脱敏摘要"})

    def _retiree(self, binding):
        return RetireeSummarySchema().dump(binding.retiree) if binding.status == "active" else None


class BindingRequestSchema(Schema):
    """A relative's pending request, as the retiree's own account sees it."""

    id = fields.Integer(required=True)
    relation = fields.String(required=True, validate=validate.OneOf(RELATIONS))
    created_at = LocalDateTime(required=True)
    requester_phone = fields.String(attribute="account.phone_masked", allow_none=True, metadata={
        "description": "申请人经微信验证的手机号（脱敏；未验证为 null）"})
    retiree = fields.Nested(RetireeSummarySchema, required=True)


class RelativeBindingSchema(Schema):
    """A relative's binding to the retiree's archive, as the retiree's own account sees it."""

    id = fields.Integer(required=True)
    relation = fields.String(required=True, validate=validate.OneOf(RELATIONS),
                             metadata={"description": "spouse 配偶 / child 子女 / other 其他"})
    status = fields.String(required=True, validate=validate.OneOf(BINDING_STATUSES), metadata={
        "description": "pending 待审核 / active 已生效 / revoked 已解除 / rejected 已拒绝"})
    requester_phone = fields.String(attribute="account.phone_masked", allow_none=True, metadata={
        "description": "家属经微信验证的手机号（脱敏；未验证为 null）"})
    created_at = LocalDateTime(required=True)
    decided_at = LocalDateTime(allow_none=True)
    revoked_at = LocalDateTime(allow_none=True)


RelativeBindingPageSchema = page_schema(RelativeBindingSchema, "RelativeBindingPage")


class MeSchema(Schema):
    account = fields.Nested(AccountSchema, required=True)
    bindings = fields.List(fields.Nested(BindingSchema), required=True)
    pending_approvals = fields.List(fields.Nested(BindingRequestSchema), required=True,
                                    metadata={"description": "等待本人审核的家属绑定申请"})
