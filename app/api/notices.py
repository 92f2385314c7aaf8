"""Notices (宣传推广) for a bound retiree's community."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.blueprint import ApiBlueprint, operation
from app.api.fields import Choice, LocalDateTime
from app.api.schemas import PageQuerySchema, page_of, page_schema, retiree_id_param
from app.api.security import current_account, require_account
from app.domain.accounts import bindings
from app.domain.accounts.errors import NotBound
from app.domain.events import notices
from app.models.notices import NOTICE_KINDS

blp = ApiBlueprint("notices", __name__, description="政策宣传与活动资讯")


class NoticeQuerySchema(PageQuerySchema):
    retiree_id = retiree_id_param(required=True, strict=False)
    kind = Choice(NOTICE_KINDS, load_default=None,
                  metadata={"description": "policy 政策宣传 / activity 活动资讯（不填为全部）"})


class NoticeSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(NOTICE_KINDS))
    region = fields.String(attribute="region.name", required=True, metadata={"description": "发布范围"})
    published_at = LocalDateTime(required=True)


NoticePageSchema = page_schema(NoticeSchema, "NoticePage")


@blp.get("/notices")
@blp.arguments(NoticeQuerySchema, location="query")
@blp.response(200, NoticePageSchema)
@operation("listNotices", NotBound)
@require_account
def list_notices(args):
    """发布范围包含该退休人员所在社区的公告，最新在前，分页"""
    retiree = bindings.bound_retiree(current_account(), args["retiree_id"])
    items, total = notices.for_retiree(retiree, args["page"], args["per_page"], args["kind"])
    return page_of(items, total, args)
