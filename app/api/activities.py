"""Activities (重阳节文体活动 and others) for a bound retiree: list, detail, register, cancel."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.blueprint import ApiBlueprint, operation
from app.api.fields import LocalDateTime
from app.api.schemas import PageQuerySchema, nullable_ref, page_of, page_schema, retiree_id_param
from app.api.security import current_account, require_account
from app.domain.accounts import bindings
from app.domain.accounts.errors import NotBound
from app.domain.errors import RetireeDeceased
from app.domain.events import activities
from app.domain.events.errors import (
    ActivityNotFound,
    ActivityNotOpen,
    ActivityPast,
    AlreadyRegistered,
    NotCancellable,
    RegistrationNotFound,
    SignupClosed,
    SignupNotOpen,
)
from app.extensions import db
from app.models.events import ACTIVITY_KINDS, REGISTRATION_STATUSES

blp = ApiBlueprint("activities", __name__, description="文体活动报名（重阳节等）")


class RetireeQuerySchema(Schema):
    retiree_id = retiree_id_param(required=True, strict=False)


class ActivityPageQuerySchema(PageQuerySchema, RetireeQuerySchema):
    pass


class RegistrationCreateSchema(Schema):
    retiree_id = retiree_id_param(required=True)


class RegistrationSchema(Schema):
    """A registration, dumped from an `ActivityView` (the registration and its waitlist position)."""

    id = fields.Integer(attribute="registration.id", required=True)
    activity_id = fields.Integer(attribute="registration.activity_id", required=True)
    retiree_id = fields.Integer(attribute="registration.retiree_id", required=True)
    status = fields.String(attribute="registration.status", required=True,
                           validate=validate.OneOf(REGISTRATION_STATUSES), metadata={
                               "description": "registered 已报名 / waitlisted 候补 / cancelled 已取消 / "
                                              "attended 已出席 / absent 缺席"})
    position = fields.Integer(allow_none=True, metadata={"description": "候补位次（仅 waitlisted）"})
    created_at = LocalDateTime(attribute="registration.created_at", required=True)


class ActivitySchema(Schema):
    id = fields.Integer(attribute="activity.id", required=True)
    title = fields.String(attribute="activity.title", required=True)
    description = fields.String(attribute="activity.description", allow_none=True)
    kind = fields.String(attribute="activity.kind", required=True, validate=validate.OneOf(ACTIVITY_KINDS),
                         metadata={"description": "double_ninth 重阳节 / spring_festival 春节 / other 其他"})
    place = fields.String(attribute="activity.place", required=True)
    starts_at = LocalDateTime(attribute="activity.starts_at", required=True)
    ends_at = LocalDateTime(attribute="activity.ends_at", required=True)
    signup_opens_at = LocalDateTime(attribute="activity.signup_opens_at", required=True)
    signup_closes_at = LocalDateTime(attribute="activity.signup_closes_at", required=True)
    capacity = fields.Integer(attribute="activity.capacity", required=True)
    remaining = fields.Integer(attribute="activity.remaining", required=True, metadata={"description": "剩余名额"})
    signup_open = fields.Method("_signup_open", metadata={"type": "boolean", "description": "现在是否可以报名"})
    registration = fields.Method("_registration", metadata={**nullable_ref("Registration"),
                                                            "description": "该退休人员的报名（未报名为 null）"})

    def _signup_open(self, view) -> bool:
        return activities.is_signup_open(view.activity)

    def _registration(self, view):
        return None if view.registration is None else RegistrationSchema().dump(view)


ActivityPageSchema = page_schema(ActivitySchema, "ActivityPage")


@blp.get("/activities")
@blp.arguments(ActivityPageQuerySchema, location="query")
@blp.response(200, ActivityPageSchema)
@operation("listActivities", NotBound)
@require_account
def list_activities(args):
    """面向该退休人员所在社区的活动：即将开始的在前（按开始时间），之后是往期活动"""
    retiree = bindings.bound_retiree(current_account(), args["retiree_id"])
    items, total = activities.list_for_retiree(retiree, args["page"], args["per_page"])
    return page_of(items, total, args)


@blp.get("/activities/<int:activity_id>")
@blp.arguments(RetireeQuerySchema, location="query")
@blp.response(200, ActivitySchema)
@operation("getActivity", NotBound, ActivityNotFound, ActivityNotOpen)
@require_account
def get_activity(args, activity_id: int):
    """一个活动的详情与该退休人员的报名状态"""
    retiree = bindings.bound_retiree(current_account(), args["retiree_id"])
    return activities.view_for_retiree(retiree, activity_id)


@blp.post("/activities/<int:activity_id>/registrations")
@blp.arguments(RegistrationCreateSchema)
@blp.response(201, RegistrationSchema)
@operation("registerForActivity", NotBound, ActivityNotFound, ActivityNotOpen, AlreadyRegistered, SignupNotOpen,
           SignupClosed, ActivityPast, RetireeDeceased)
@require_account
def register(args, activity_id: int):
    """报名：有名额为 registered，名额已满为 waitlisted（返回候补位次）；本人或家属均可代报"""
    account = current_account()
    retiree = bindings.bound_retiree(account, args["retiree_id"])
    view = activities.register(account, retiree, activity_id)
    db.session.commit()
    return view


@blp.delete("/activities/<int:activity_id>/registrations/<int:registration_id>")
@blp.response(200, RegistrationSchema)
@operation("cancelActivityRegistration", NotBound, RegistrationNotFound, NotCancellable, ActivityPast)
@require_account
def cancel(activity_id: int, registration_id: int):
    """取消报名；空出的名额自动递补给候补第一位（并通知）"""
    registration = activities.cancel(current_account(), activity_id, registration_id)
    db.session.commit()
    return activities.ActivityView(registration.activity, registration, None)
