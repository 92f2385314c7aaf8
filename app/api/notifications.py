"""The in-app inbox: every notification, whether or not WeChat could deliver it."""
from __future__ import annotations

from marshmallow import Schema, fields

from app.api.blueprint import ApiBlueprint, operation
from app.api.fields import LocalDateTime
from app.api.schemas import PageQuerySchema, page_schema
from app.api.security import current_account, require_account
from app.domain.messaging import outbox
from app.domain.messaging.errors import NotificationNotFound
from app.extensions import db

blp = ApiBlueprint("notifications", __name__, description="站内消息（所有通知，含未能通过微信送达的）")


class LineSchema(Schema):
    label = fields.String(required=True)
    value = fields.String(required=True)


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    template_key = fields.String(required=True)
    title = fields.String(required=True)
    lines = fields.List(fields.Nested(LineSchema), required=True)
    text = fields.String(required=True, metadata={"description": "一行文字摘要"})
    link = fields.String(allow_none=True, metadata={"description": "小程序内跳转路径"})
    retiree_id = fields.Integer(allow_none=True)
    read = fields.Boolean(required=True)
    read_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime(required=True)


InboxSchema = page_schema(NotificationSchema, "InboxPage",
                          unread=fields.Integer(required=True, metadata={"description": "未读总数"}))


@blp.get("/notifications")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, InboxSchema)
@operation("listNotifications")
@require_account
def inbox(args):
    """我的消息，最新在前，分页；含未读数"""
    return outbox.inbox_page(current_account(), args["page"], args["per_page"])


@blp.post("/notifications/<int:notification_id>/read")
@blp.response(200, NotificationSchema)
@operation("markNotificationRead", NotificationNotFound)
@require_account
def mark_read(notification_id: int):
    """标记一条消息为已读（只能标记自己的消息，他人的消息返回 404）"""
    entry = outbox.inbox_entry(outbox.mark_read(current_account(), notification_id))
    db.session.commit()
    return entry
