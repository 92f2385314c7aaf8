"""The in-app inbox: every notification, whether or not WeChat could deliver it."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.activities import LocalDateTime
from app.api.security import current_account, require_account
from app.domain.messaging import outbox, templates
from app.extensions import db

blp = Blueprint("notifications", __name__, description="站内消息（所有通知，含未能通过微信送达的）")

MAX_PER_PAGE = 50


class InboxQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class LineSchema(Schema):
    label = fields.String()
    value = fields.String()


class NotificationSchema(Schema):
    id = fields.Integer()
    template_key = fields.String()
    title = fields.String()
    lines = fields.List(fields.Nested(LineSchema))
    text = fields.String(metadata={"description": "一行文字摘要"})
    link = fields.String(allow_none=True, metadata={"description": "小程序内跳转路径"})
    retiree_id = fields.Integer(allow_none=True)
    read = fields.Boolean()
    read_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()


class InboxSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    unread = fields.Integer(metadata={"description": "未读总数"})


def _item(row) -> dict:
    lines = templates.inbox_lines(templates.get(row.template_key), row.data or {})
    return {"id": row.id, "template_key": row.template_key, "title": row.title, "lines": lines,
            "text": "；".join(f"{line['label']}：{line['value']}" for line in lines),
            "link": row.link or templates.get(row.template_key).page, "retiree_id": row.retiree_id,
            "read": row.read_at is not None, "read_at": row.read_at, "created_at": row.created_at}


@blp.get("/notifications")
@blp.arguments(InboxQuerySchema, location="query")
@blp.response(200, InboxSchema)
@require_account
def inbox(args):
    """我的消息，最新在前，分页；含未读数"""
    rows, total, unread = outbox.inbox(current_account(), args["page"], args["per_page"])
    return {"items": [_item(r) for r in rows], "page": args["page"], "per_page": args["per_page"],
            "total": total, "unread": unread}


@blp.post("/notifications/<int:notification_id>/read")
@blp.response(200, NotificationSchema)
@blp.alt_response(404, response="NOT_FOUND", description="notification_not_found")
@require_account
def mark_read(notification_id: int):
    """标记一条消息为已读（只能标记自己的消息，他人的消息返回 404）"""
    row = outbox.mark_read(current_account(), notification_id)
    db.session.commit()
    return _item(row)
