"""Ratings of completed services and feedback tickets (满意度评价与反馈)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.schemas import LocalDateTime, PageQuerySchema, page_schema
from app.api.security import current_account, require_account
from app.domain.evaluation import feedback
from app.extensions import db
from app.models.evaluation import FEEDBACK_CATEGORIES, RATING_SUBJECTS

blp = Blueprint("feedback", __name__, description="服务评价与意见反馈")


class RatingCreateSchema(Schema):
    subject_type = fields.String(required=True, validate=validate.OneOf(RATING_SUBJECTS),
                                 metadata={"description": "visit 上门走访 / booking 认证预约 / activity 活动报名"})
    subject_id = fields.Integer(required=True, strict=True,
                                metadata={"description": "走访任务 id / 预约 id / 活动报名 id"})
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=feedback.TEXT_MAX))


class RatingSchema(Schema):
    id = fields.Integer()
    subject_type = fields.String()
    subject_id = fields.Integer()
    retiree_id = fields.Integer()
    score = fields.Integer()
    comment = fields.String(allow_none=True)
    created_at = LocalDateTime()
    ticket_id = fields.Function(lambda rating: rating.ticket.id if rating.ticket else None, allow_none=True,
                                metadata={"type": "integer", "description": "低分（≤2）自动生成的投诉单 id"})


class FeedbackCreateSchema(Schema):
    category = fields.String(required=True, validate=validate.OneOf(FEEDBACK_CATEGORIES),
                             metadata={"description": "complaint 投诉 / suggestion 建议 / question 咨询"})
    text = fields.String(required=True, validate=validate.Length(min=1, max=feedback.TEXT_MAX))
    retiree_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                                metadata={"description": "涉及的已绑定退休人员（可选）"})


class TicketSchema(Schema):
    id = fields.Integer()
    category = fields.String()
    text = fields.String()
    retiree_id = fields.Integer(allow_none=True)
    status = fields.String(metadata={"description": "open 待回复 / replied 已回复 / closed 已关闭"})
    reply = fields.String(allow_none=True)
    replied_at = LocalDateTime(allow_none=True)
    reply_due_at = LocalDateTime(metadata={"description": "答复期限"})
    created_at = LocalDateTime()


TicketPageSchema = page_schema(TicketSchema, "TicketPage")


@blp.post("/ratings")
@blp.arguments(RatingCreateSchema)
@blp.response(201, RatingSchema)
@blp.alt_response(403, response="FORBIDDEN", description="not_bound")
@blp.alt_response(404, response="NOT_FOUND", description="subject_not_found")
@blp.alt_response(409, response="CONFLICT", description="already_rated")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="subject_not_completed")
@require_account
def rate(args):
    """评价一项已完成的服务（每个账号每项服务一次）；2 分及以下自动生成投诉单"""
    rating = feedback.rate(current_account(), args["subject_type"], args["subject_id"], args["score"],
                           args["comment"])
    db.session.commit()
    return rating


@blp.post("/feedback")
@blp.arguments(FeedbackCreateSchema)
@blp.response(201, TicketSchema)
@blp.alt_response(403, response="FORBIDDEN", description="not_bound")
@require_account
def submit(args):
    """提交投诉、建议或咨询；按类别设定答复期限（投诉 3 天、咨询 5 天、建议 10 天，可配置）"""
    ticket = feedback.submit(current_account(), args["category"], args["text"], args["retiree_id"])
    db.session.commit()
    return ticket


@blp.get("/feedback")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, TicketPageSchema)
@require_account
def list_feedback(args):
    """本账号提交的反馈及答复，最新在前"""
    items, total = feedback.tickets_for_account(current_account(), args["page"], args["per_page"])
    return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}
