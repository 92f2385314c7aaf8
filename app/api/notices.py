"""Notices (宣传推广) for a bound retiree's community."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.schemas import LocalDateTime, PageQuerySchema, page_schema
from app.api.security import current_account, require_account
from app.domain.accounts import bindings
from app.domain.events import notices
from app.models.notices import NOTICE_KINDS

blp = Blueprint("notices", __name__, description="政策宣传与活动资讯")


class NoticeQuerySchema(PageQuerySchema):
    retiree_id = fields.Integer(required=True, metadata={"description": "已绑定的退休人员 id"})
    kind = fields.String(load_default=None, validate=validate.OneOf(NOTICE_KINDS),
                         metadata={"description": "policy 政策宣传 / activity 活动资讯（不填为全部）"})


class NoticeSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String()
    kind = fields.String()
    region = fields.String(attribute="region.name", metadata={"description": "发布范围"})
    published_at = LocalDateTime()


NoticePageSchema = page_schema(NoticeSchema, "NoticePage")


@blp.get("/notices")
@blp.arguments(NoticeQuerySchema, location="query")
@blp.response(200, NoticePageSchema)
@blp.alt_response(403, response="FORBIDDEN")
@require_account
def list_notices(args):
    """发布范围包含该退休人员所在社区的公告，最新在前，分页"""
    retiree = bindings.bound_retiree(current_account(), args["retiree_id"])
    items, total = notices.for_retiree(retiree, args["page"], args["per_page"], args["kind"])
    return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}
