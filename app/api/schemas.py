"""Marshmallow schemas shared by the API modules: input validation and OpenAPI documentation.

Input schemas reject unknown fields (marshmallow's default RAISE) and bound every string,
so bad input is a 400 with a message per field, never a 500.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.domain import clock
from app.models.accounts import BINDING_STATUSES, RELATIONS

NAME_MAX = 50
ID_NUMBER_MAX = 32
CODE_MAX = 128
MAX_PAGE = 10_000
MAX_PER_PAGE = 50


# ---- the error envelope (documentation; app/api/errors.py builds it) ---------------------------

class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "稳定的机器可读错误码，如 archive_not_matched"})
    message = fields.String(required=True, metadata={"description": "给用户看的中文说明"})
    # `fields` in the JSON; another attribute name so the class body keeps the module name.
    field_messages = fields.Dict(keys=fields.String(), values=fields.String(), required=True, data_key="fields",
                                 metadata={"description": "逐字段的错误说明（字段名 → 说明）"})
    retry_after = fields.Integer(metadata={"description": "多少秒后可重试（429/503 时给出，同 Retry-After 头）"})


class ErrorSchema(Schema):
    """Every API error: {"error": {"code", "message", "fields", ["retry_after"]}}."""

    error = fields.Nested(ErrorDetailSchema, required=True)


# ---- shared field types and pages -------------------------------------------------------------

class LocalDateTime(fields.DateTime):
    """ISO 8601 in the service zone (Asia/Shanghai), with its offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(clock.SERVICE_ZONE).isoformat()


class PageQuerySchema(Schema):
    """`?page=&per_page=` of a paginated list: page from 1, at most MAX_PER_PAGE per page."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """The schema of one page of `item_schema` items: {"items", "page", "per_page", "total"}."""
    return Schema.from_dict({"items": fields.List(fields.Nested(item_schema)), "page": fields.Integer(),
                             "per_page": fields.Integer(), "total": fields.Integer()}, name=name)


# ---- accounts ----------------------------------------------------------------------------------

class LoginSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=CODE_MAX),
                         metadata={"description": "wx.login() 返回的 code（一次性）"})


class AccountSchema(Schema):
    id = fields.Integer()
    created_at = fields.DateTime(format="iso")


class LoginResultSchema(Schema):
    token = fields.String(metadata={"description": "API 令牌：请求头 Authorization: Bearer <token>"})
    account = fields.Nested(AccountSchema)


# ---- retirees ----------------------------------------------------------------------------------

class RetireeSummarySchema(Schema):
    """What a binding shows of its retiree: masked, no birth date or phone."""

    id = fields.Integer()
    name = fields.String()
    id_number = fields.String(attribute="id_masked", metadata={"description": "脱敏身份证号"})
    community = fields.String(attribute="community.name", metadata={"description": "所属社区"})


class CommunitySchema(Schema):
    code = fields.String()
    name = fields.String()


class RetireeProfileSchema(Schema):
    """`archives.masked_profile`: no full ID number, no full phone."""

    id = fields.Integer()
    name = fields.String()
    id_number = fields.String(metadata={"description": "脱敏身份证号，如 510302********0027"})
    gender = fields.String()
    birth_date = fields.String()
    age = fields.Integer()
    phone = fields.String(allow_none=True, metadata={"description": "脱敏手机号，如 138****5678"})
    community = fields.Nested(CommunitySchema)
    former_employer = fields.String(allow_none=True)
    retirement_date = fields.String(allow_none=True)
    categories = fields.List(fields.String())
    category_labels = fields.List(fields.String())
    mobility_limited = fields.Boolean()
    life_status = fields.String()
    pension_status = fields.String()


# ---- bindings ----------------------------------------------------------------------------------

class BindingCreateSchema(Schema):
    relation = fields.String(required=True, validate=validate.OneOf(RELATIONS),
                             metadata={"description": "self 本人 / spouse 配偶 / child 子女 / other 其他"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX))
    id_number = fields.String(required=True, validate=validate.Length(min=1, max=ID_NUMBER_MAX))


class BindingSchema(Schema):
    id = fields.Integer()
    relation = fields.String(validate=validate.OneOf(RELATIONS))
    status = fields.String(validate=validate.OneOf(BINDING_STATUSES))
    created_at = fields.DateTime(format="iso")
    decided_at = fields.DateTime(format="iso", allow_none=True)
    retiree = fields.Method("_retiree", allow_none=True,
                            metadata={"description": "仅在绑定生效（active）时给出脱敏摘要"})

    def _retiree(self, binding):
        return RetireeSummarySchema().dump(binding.retiree) if binding.status == "active" else None


class BindingRequestSchema(Schema):
    """A relative's pending request, as the retiree's own account sees it."""

    id = fields.Integer()
    relation = fields.String()
    created_at = fields.DateTime(format="iso")
    retiree = fields.Nested(RetireeSummarySchema)


class MeSchema(Schema):
    account = fields.Nested(AccountSchema)
    bindings = fields.List(fields.Nested(BindingSchema))
    pending_approvals = fields.List(fields.Nested(BindingRequestSchema),
                                    metadata={"description": "等待本人审核的家属绑定申请"})
