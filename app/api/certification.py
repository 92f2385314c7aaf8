"""Certification (资格认证) for bound accounts: the clock, service points, slots, bookings, waitlist."""
from __future__ import annotations

from datetime import timedelta

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api.security import current_account, require_account
from app.domain import clock
from app.domain.accounts import bindings
from app.domain.certification import booking, certify, cycle, waitlist
from app.domain.certification import slots as certification_slots
from app.extensions import db

blp = Blueprint("certification", __name__, description="养老金领取资格认证：状态、预约、候补")


class LocalDateTime(fields.DateTime):
    """ISO 8601 in the service zone (Asia/Shanghai), with its offset."""
    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(clock.SERVICE_ZONE).isoformat()


class ServicePointSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    community = fields.String(attribute="region.name", metadata={"description": "所在社区"})


class SlotSchema(Schema):
    id = fields.Integer()
    starts_at = LocalDateTime()
    ends_at = LocalDateTime()
    capacity = fields.Integer()
    remaining = fields.Integer(metadata={"description": "剩余名额（候补保留中的名额不计入）"})


class BookingSchema(Schema):
    id = fields.Integer()
    retiree_id = fields.Integer()
    status = fields.String(metadata={"description": "booked 已预约 / cancelled 已取消 / attended 已认证 / "
                                                    "no_show 未到"})
    slot_id = fields.Integer()
    starts_at = LocalDateTime(attribute="slot.starts_at")
    ends_at = LocalDateTime(attribute="slot.ends_at")
    service_point = fields.Nested(ServicePointSchema, attribute="slot.service_point")
    created_at = LocalDateTime()


class CertificationSchema(Schema):
    status = fields.String(metadata={"description": "ok 正常 / due 待认证 / overdue 已逾期 / "
                                                    "suspended 已暂停发放 / ended 已退出认证（已故）"})
    due_on = fields.Date(allow_none=True, metadata={"description": "本周期认证截止日期"})
    window_opens_on = fields.Date(allow_none=True, metadata={"description": "可预约本周期认证的起始日期"})
    last_certified_on = fields.Date(allow_none=True)
    last_method = fields.String(allow_none=True, metadata={
        "description": "on_site 现场 / home_visit 上门 / self_service_face 人脸识别 / data_match 数据比对"})
    home_visit_pending = fields.Boolean(metadata={"description": "是否有待办的上门认证"})
    booking = fields.Nested(BookingSchema, allow_none=True)
    waitlist = fields.List(fields.Nested(lambda: WaitlistEntrySchema()),
                           metadata={"description": "排队中或已保留名额的候补（offered 时请在截止前确认）"})


class RetireeQuerySchema(Schema):
    retiree_id = fields.Integer(required=True, metadata={"description": "已绑定的退休人员 id"})


class SlotQuerySchema(Schema):
    service_point_id = fields.Integer(required=True)
    from_ = fields.Date(data_key="from", load_default=None, metadata={"description": "起始日期，默认今天"})
    to = fields.Date(load_default=None, metadata={"description": "结束日期（含），默认起始后 14 天"})


class BookingCreateSchema(Schema):
    slot_id = fields.Integer(required=True, strict=True)
    retiree_id = fields.Integer(required=True, strict=True)


class RescheduleSchema(Schema):
    slot_id = fields.Integer(required=True, strict=True)


class WaitlistEntrySchema(Schema):
    id = fields.Integer()
    slot_id = fields.Integer()
    retiree_id = fields.Integer()
    status = fields.String(metadata={"description": "waiting 排队中 / offered 已为您保留名额 / accepted 已转为预约 / "
                                                    "expired 已过期 / left 已退出"})
    position = fields.Method("_position", allow_none=True, metadata={"description": "排队位次（仅 waiting）"})
    offer_expires_at = LocalDateTime(allow_none=True, metadata={"description": "保留名额的确认截止时间"})
    booking_id = fields.Integer(allow_none=True)

    def _position(self, entry):
        return waitlist.waitlist_position(entry)


@blp.get("/retirees/<int:retiree_id>/certification")
@blp.response(200, CertificationSchema)
@blp.alt_response(403, response="FORBIDDEN", description="not_bound")
@require_account
def certification_status(retiree_id: int):
    """认证状态：截止日期、上次认证、当前有效预约"""
    retiree = bindings.bound_retiree(current_account(), retiree_id)
    view = cycle.current(retiree)
    return {"status": view.status, "due_on": view.due_on, "window_opens_on": view.window_opens_on,
            "last_certified_on": view.last_certified_on, "last_method": view.last_method,
            "home_visit_pending": certify.open_home_certification_task(retiree) is not None,
            "booking": booking.active_booking(retiree), "waitlist": waitlist.live_waitlist(retiree)}


@blp.get("/service-points")
@blp.arguments(RetireeQuerySchema, location="query")
@blp.response(200, ServicePointSchema(many=True))
@blp.alt_response(403, response="FORBIDDEN", description="not_bound")
@require_account
def service_points(args):
    """可办理认证的服务点：本社区的在前，其次本街道，再次本区"""
    retiree = bindings.bound_retiree(current_account(), args["retiree_id"])
    return certification_slots.points_for_retiree(retiree)


@blp.get("/slots")
@blp.arguments(SlotQuerySchema, location="query")
@blp.response(200, SlotSchema(many=True))
@blp.alt_response(404, response="NOT_FOUND", description="service_point_not_found")
@require_account
def slots(args):
    """服务点的可预约时段（默认今天起 14 天）"""
    point = certification_slots.get_point(args["service_point_id"])
    start = args["from_"] or clock.today()
    end = args["to"] or start + timedelta(days=14)
    return certification_slots.list_slots(point, start, end)


@blp.post("/bookings")
@blp.arguments(BookingCreateSchema)
@blp.response(201, BookingSchema)
@blp.alt_response(403, response="FORBIDDEN", description="not_bound")
@blp.alt_response(404, response="NOT_FOUND", description="slot_not_found")
@blp.alt_response(409, response="CONFLICT", description="slot_full / already_booked")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="not_due / slot_past / retiree_deceased")
@require_account
def create_booking(args):
    """预约认证时段（本人或已绑定家属）；名额已满可加入候补"""
    account = current_account()
    retiree = bindings.bound_retiree(account, args["retiree_id"])
    found = booking.book(account, retiree, args["slot_id"])
    db.session.commit()
    return found


def _owned_booking(booking_id: int):
    found = booking.get_booking(booking_id)
    bindings.bound_retiree(current_account(), found.retiree_id)
    return found


@blp.delete("/bookings/<int:booking_id>")
@blp.response(200, BookingSchema)
@blp.alt_response(403, response="FORBIDDEN", description="not_bound")
@blp.alt_response(404, response="NOT_FOUND", description="booking_not_found")
@blp.alt_response(409, response="CONFLICT", description="booking_not_active")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="cutoff_passed")
@require_account
def cancel_booking(booking_id: int):
    """取消预约（预约时间前的截止时间之前）；空出的名额优先给候补"""
    found = booking.cancel(_owned_booking(booking_id))
    db.session.commit()
    return found


@blp.post("/bookings/<int:booking_id>/reschedule")
@blp.arguments(RescheduleSchema)
@blp.response(200, BookingSchema)
@blp.alt_response(403, response="FORBIDDEN", description="not_bound")
@blp.alt_response(404, response="NOT_FOUND", description="booking_not_found / slot_not_found")
@blp.alt_response(409, response="CONFLICT", description="slot_full（原预约保留）/ booking_not_active")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="cutoff_passed / slot_past / not_due")
@require_account
def reschedule_booking(args, booking_id: int):
    """改约：先占新时段名额再释放原名额；新时段已满则原预约不变"""
    found = booking.reschedule(_owned_booking(booking_id), args["slot_id"])
    db.session.commit()
    return found


@blp.post("/waitlist")
@blp.arguments(BookingCreateSchema)
@blp.response(201, WaitlistEntrySchema)
@blp.alt_response(403, response="FORBIDDEN", description="not_bound")
@blp.alt_response(404, response="NOT_FOUND", description="slot_not_found")
@blp.alt_response(409, response="CONFLICT", description="slot_available / already_booked / already_waiting")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="not_due / slot_past")
@require_account
def join_waitlist(args):
    """加入已满时段的候补；有人取消时按顺序为候补保留名额并通知"""
    account = current_account()
    retiree = bindings.bound_retiree(account, args["retiree_id"])
    entry = waitlist.join_waitlist(account, retiree, args["slot_id"])
    db.session.commit()
    return entry


def _owned_entry(entry_id: int):
    entry = waitlist.get_waitlist_entry(entry_id)
    bindings.bound_retiree(current_account(), entry.retiree_id)
    return entry


@blp.delete("/waitlist/<int:entry_id>")
@blp.response(200, WaitlistEntrySchema)
@blp.alt_response(403, response="FORBIDDEN", description="not_bound")
@blp.alt_response(404, response="NOT_FOUND", description="waitlist_not_found")
@blp.alt_response(409, response="CONFLICT", description="waitlist_not_active")
@require_account
def leave_waitlist(entry_id: int):
    """退出候补（已保留的名额顺延给下一位）"""
    entry = waitlist.leave_waitlist(_owned_entry(entry_id))
    db.session.commit()
    return entry


@blp.post("/waitlist/<int:entry_id>/accept")
@blp.response(201, BookingSchema)
@blp.alt_response(403, response="FORBIDDEN", description="not_bound")
@blp.alt_response(404, response="NOT_FOUND", description="waitlist_not_found")
@blp.alt_response(409, response="CONFLICT", description="offer_not_active")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="slot_past / not_due")
@require_account
def accept_offer(entry_id: int):
    """确认候补保留的名额，转为预约（已有其他预约则改约到此时段）"""
    account = current_account()
    found = waitlist.accept_offer(account, _owned_entry(entry_id))
    db.session.commit()
    return found
