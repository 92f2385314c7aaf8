"""Activities (重阳节文体活动 and others) for a bound retiree: list, detail, register, cancel."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api.schemas import LocalDateTime, PageQuerySchema, page_schema
from app.api.security import current_account, require_account
from app.domain.accounts import bindings
from app.domain.events import activities
from app.extensions import db

blp = Blueprint("activities", __name__, description="文体活动报名（重阳节等）")


class RetireeQuerySchema(Schema):
    retiree_id = fields.Integer(required=True, strict=False, metadata={"description": "已绑定的退休人员 id"})


class ActivityPageQuerySchema(PageQuerySchema, RetireeQuerySchema):
    pass


class RegistrationCreateSchema(Schema):
    retiree_id = fields.Integer(required=True, strict=True)


class RegistrationSchema(Schema):
    id = fields.Integer()
    activity_id = fields.Integer()
    retiree_id = fields.Integer()
    status = fields.String(metadata={"description": "registered 已报名 / waitlisted 候补 / cancelled 已取消 / "
                                                    "attended 已出席 / absent 缺席"})
    position = fields.Integer(allow_none=True, metadata={"description": "候补位次（仅 waitlisted）"})
    created_at = LocalDateTime()


class ActivitySchema(Schema):
    id = fields.Integer(attribute="activity.id")
    title = fields.String(attribute="activity.title")
    description = fields.String(attribute="activity.description", allow_none=True)
    kind = fields.String(attribute="activity.kind", metadata={"description": "double_ninth / spring_festival / other"})
    place = fields.String(attribute="activity.place")
    starts_at = LocalDateTime(attribute="activity.starts_at")
    ends_at = LocalDateTime(attribute="activity.ends_at")
    signup_opens_at = LocalDateTime(attribute="activity.signup_opens_at")
    signup_closes_at = LocalDateTime(attribute="activity.signup_closes_at")
    capacity = fields.Integer(attribute="activity.capacity")
    remaining = fields.Integer(attribute="activity.remaining", metadata={"description": "剩余名额"})
    signup_open = fields.Method("_signup_open", metadata={"description": "现在是否可以报名"})
    registration = fields.Method("_registration", allow_none=True,
                                 metadata={"description": "该退休人员的报名（未报名为 null）"})

    def _signup_open(self, view) -> bool:
        return activities.is_signup_open(view.activity)

    def _registration(self, view):
        if view.registration is None:
            return None
        return RegistrationSchema().dump(_registration_data(view))


ActivityPageSchema = page_schema(ActivitySchema, "ActivityPage")


def _registration_data(view) -> dict:
    r = view.registration
    return {"id": r.id, "activity_id": r.activity_id, "retiree_id": r.retiree_id, "status": r.status,
            "position": view.position, "created_at": r.created_at}


@blp.get("/activities")
@blp.arguments(ActivityPageQuerySchema, location="query")
@blp.response(200, ActivityPageSchema)
@blp.alt_response(403, response="FORBIDDEN")
@require_account
def list_activities(args):
    """面向该退休人员所在社区的活动：即将开始的在前（按开始时间），之后是往期活动"""
    retiree = bindings.bound_retiree(current_account(), args["retiree_id"])
    items, total = activities.list_for_retiree(retiree, args["page"], args["per_page"])
    return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}


@blp.get("/activities/<int:activity_id>")
@blp.arguments(RetireeQuerySchema, location="query")
@blp.response(200, ActivitySchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@require_account
def get_activity(args, activity_id: int):
    """一个活动的详情与该退休人员的报名状态"""
    retiree = bindings.bound_retiree(current_account(), args["retiree_id"])
    return activities.view_for_retiree(retiree, activity_id)


@blp.post("/activities/<int:activity_id>/registrations")
@blp.arguments(RegistrationCreateSchema)
@blp.response(201, RegistrationSchema)
@blp.alt_response(403, response="FORBIDDEN", description="not_bound / activity_not_open")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT", description="already_registered")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY",
                  description="signup_not_open / signup_closed / activity_past / retiree_deceased")
@require_account
def register(args, activity_id: int):
    """报名：有名额为 registered，名额已满为 waitlisted（返回候补位次）；本人或家属均可代报"""
    account = current_account()
    retiree = bindings.bound_retiree(account, args["retiree_id"])
    view = activities.register(account, retiree, activity_id)
    db.session.commit()
    return _registration_data(view)


@blp.delete("/activities/<int:activity_id>/registrations/<int:registration_id>")
@blp.response(200, RegistrationSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="not_cancellable / activity_past")
@require_account
def cancel(activity_id: int, registration_id: int):
    """取消报名；空出的名额自动递补给候补第一位（并通知）"""
    registration = activities.cancel(current_account(), activity_id, registration_id)
    db.session.commit()
    return _registration_data(activities.ActivityView(registration.activity, registration, None))
