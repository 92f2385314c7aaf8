"""Ratings of completed services and feedback tickets (满意度评价与反馈)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.blueprint import ApiBlueprint, operation
from app.api.fields import BoundedInt, Choice, Id, LocalDateTime, Text
from app.api.schemas import PageQuerySchema, page_of, page_schema, retiree_id_param
from app.api.security import current_account, require_account
from app.domain.accounts.errors import NotBound
from app.domain.evaluation import feedback
from app.domain.evaluation.errors import AlreadyRated, SubjectNotCompleted, SubjectNotFound
from app.extensions import db
from app.models.evaluation import FEEDBACK_CATEGORIES, FEEDBACK_STATUSES, RATING_SUBJECTS

blp = ApiBlueprint("feedback", __name__, description="服务评价与意见反馈")


class RatingCreateSchema(Schema):
    subject_type = Choice(RATING_SUBJECTS, required=True,
                          metadata={"description": "visit 上门走访 / booking 认证预约 / activity 活动报名"})
    subject_id = Id(required=True, metadata={"description": "走访任务 id / 预约 id / 活动报名 id"})
    score = BoundedInt(1, 5, required=True, strict=True)
    comment = Text(feedback.TEXT_MAX, multiline=True, load_default=None, allow_none=True)


class RatingSchema(Schema):
    id = fields.Integer(required=True)
    subject_type = fields.String(required=True, validate=validate.OneOf(RATING_SUBJECTS))
    subject_id = fields.Integer(required=True)
    retiree_id = fields.Integer(required=True)
    score = fields.Integer(required=True)
    comment = fields.String(allow_none=True)
    created_at = LocalDateTime(required=True)
    ticket_id = fields.Function(lambda rating: rating.ticket.id if rating.ticket else None, allow_none=True,
                                metadata={"type": "integer", "description": "低分（≤2）自动生成的投诉单 id"})


class FeedbackCreateSchema(Schema):
    category = Choice(FEEDBACK_CATEGORIES, required=True,
                      metadata={"description": "complaint 投诉 / suggestion 建议 / question 咨询"})
    text = Text(feedback.TEXT_MAX, min_length=1, multiline=True, required=True)
    retiree_id = retiree_id_param("涉及的已绑定退休人员（可选）", load_default=None, allow_none=True)


class TicketSchema(Schema):
    id = fields.Integer(required=True)
    category = fields.String(required=True, validate=validate.OneOf(FEEDBACK_CATEGORIES))
    text = fields.String(required=True)
    retiree_id = fields.Integer(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(FEEDBACK_STATUSES),
                           metadata={"description": "open 待回复 / replied 已回复 / closed 已关闭"})
    reply = fields.String(allow_none=True)
    replied_at = LocalDateTime(allow_none=True)
    reply_due_at = LocalDateTime(required=True, metadata={"description": "答复期限"})
    created_at = LocalDateTime(required=True)


TicketPageSchema = page_schema(TicketSchema, "TicketPage")
RatingPageSchema = page_schema(RatingSchema, "RatingPage")


@blp.post("/ratings")
@blp.arguments(RatingCreateSchema)
@blp.response(201, RatingSchema)
@operation("rateService", NotBound, SubjectNotFound, AlreadyRated, SubjectNotCompleted)
@require_account
def rate(args):
    """评价一项已完成的服务（每个账号每项服务一次）；2 分及以下自动生成投诉单"""
    rating = feedback.rate(current_account(), args["subject_type"], args["subject_id"], args["score"],
                           args["comment"])
    db.session.commit()
    return rating


@blp.get("/ratings")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, RatingPageSchema)
@operation("listRatings")
@require_account
def list_ratings(args):
    """本账号已给出的评价，最新在前（据 subject_type + subject_id 标记已评价的服务）"""
    return feedback.ratings_for_account(current_account(), args["page"], args["per_page"])


@blp.post("/feedback")
@blp.arguments(FeedbackCreateSchema)
@blp.response(201, TicketSchema)
@operation("submitFeedback", NotBound)
@require_account
def submit(args):
    """提交投诉、建议或咨询；按类别设定答复期限（投诉 3 天、咨询 5 天、建议 10 天，可配置）"""
    ticket = feedback.submit(current_account(), args["category"], args["text"], args["retiree_id"])
    db.session.commit()
    return ticket


@blp.get("/feedback")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, TicketPageSchema)
@operation("listFeedback")
@require_account
def list_feedback(args):
    """本账号提交的反馈及答复，最新在前"""
    items, total = feedback.tickets_for_account(current_account(), args["page"], args["per_page"])
    return page_of(items, total, args)
