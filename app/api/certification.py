"""Certification (资格认证) for bound accounts: the cycle, service points, slots, bookings, the
waitlist and the home-visit request."""
from __future__ import annotations

from flask import request

from app.api.blueprint import ApiBlueprint, operation
from app.api.certification_schemas import (
    BookingCreateSchema,
    BookingPageSchema,
    BookingQuerySchema,
    BookingSchema,
    CertificationSchema,
    HomeVisitRequestSchema,
    RescheduleSchema,
    RetireePageQuerySchema,
    ServicePointPageSchema,
    SlotPageSchema,
    SlotQuerySchema,
    WaitlistEntrySchema,
)
from app.api.reports import IDEMPOTENCY_HEADER, ReportSchema
from app.api.security import current_account, require_account
from app.domain.accounts import bindings
from app.domain.accounts.errors import NotBound
from app.domain.cases import reports
from app.domain.cases.errors import IdempotencyKeyReused
from app.domain.certification import account_view, booking, waitlist
from app.domain.certification.errors import (
    AlreadyBooked,
    AlreadyWaiting,
    BookingNotActive,
    BookingNotFound,
    CutoffPassed,
    NotDue,
    OfferNotActive,
    ServicePointNotFound,
    SlotAvailable,
    SlotFull,
    SlotNotFound,
    SlotPast,
    WaitlistNotActive,
    WaitlistNotFound,
)
from app.domain.errors import RetireeDeceased
from app.extensions import db

blp = ApiBlueprint("certification", __name__, description="养老金领取资格认证：状态、预约、候补、上门认证")


@blp.get("/retirees/<int:retiree_id>/certification")
@blp.response(200, CertificationSchema)
@operation("getCertificationStatus", NotBound)
@require_account
def certification_status(retiree_id: int):
    """认证状态：截止日期、上次认证、当前有效预约与候补"""
    retiree = bindings.bound_retiree(current_account(), retiree_id)
    return account_view.status_of(retiree)


@blp.post("/retirees/<int:retiree_id>/home-certification")
@blp.arguments(HomeVisitRequestSchema)
@blp.response(201, ReportSchema)
@blp.alt_response(200, schema=ReportSchema, description="同一 Idempotency-Key 与相同内容的重放：原申请")
@blp.doc(parameters=[IDEMPOTENCY_HEADER])
@operation("requestHomeCertification", NotBound, NotDue, RetireeDeceased, IdempotencyKeyReused)
@require_account
def request_home_certification(args, retiree_id: int):
    """申请上门认证（行动不便、高龄、残疾等无法到服务点的）：生成上门认证任务，社区工作人员上门办理

    已有待办的上门认证时返回同一任务；近期已认证（未到下次认证期）返回 422 not_due。
    """
    report, created = reports.request_home_certification(current_account(), retiree_id, args.get("note"),
                                                         request.headers.get("Idempotency-Key"))
    db.session.commit()
    return report if created else (report, 200, {"Idempotent-Replayed": "true"})


@blp.get("/service-points")
@blp.arguments(RetireePageQuerySchema, location="query")
@blp.response(200, ServicePointPageSchema)
@operation("listServicePoints", NotBound)
@require_account
def service_points(args):
    """可办理认证的服务点：本社区的在前，其次本街道，再次本区（分页）"""
    retiree = bindings.bound_retiree(current_account(), args["retiree_id"])
    return account_view.points_page(retiree, args["page"], args["per_page"])


@blp.get("/slots")
@blp.arguments(SlotQuerySchema, location="query")
@blp.response(200, SlotPageSchema)
@operation("listSlots", ServicePointNotFound)
@require_account
def slots(args):
    """服务点的可预约时段（默认今天起 14 天，分页）"""
    return account_view.slots_page(args["service_point_id"], args["from_"], args["to"], args["page"],
                                   args["per_page"])


@blp.get("/bookings")
@blp.arguments(BookingQuerySchema, location="query")
@blp.response(200, BookingPageSchema)
@operation("listBookings")
@require_account
def list_bookings(args):
    """我和我已绑定的家人的认证预约（时段最新的在前，分页；可按状态筛选）"""
    return account_view.bookings_page(current_account(), args["page"], args["per_page"], args["status"])


@blp.post("/bookings")
@blp.arguments(BookingCreateSchema)
@blp.response(201, BookingSchema)
@operation("createBooking", NotBound, SlotNotFound, SlotFull, AlreadyBooked, NotDue, SlotPast, RetireeDeceased)
@require_account
def create_booking(args):
    """预约认证时段（本人或已绑定家属）；名额已满可加入候补"""
    account = current_account()
    retiree = bindings.bound_retiree(account, args["retiree_id"])
    found = booking.book(account, retiree, args["slot_id"])
    db.session.commit()
    return found


@blp.delete("/bookings/<int:booking_id>")
@blp.response(200, BookingSchema)
@operation("cancelBooking", NotBound, BookingNotFound, BookingNotActive, CutoffPassed)
@require_account
def cancel_booking(booking_id: int):
    """取消预约（预约时间前的截止时间之前）；空出的名额优先给候补"""
    found = booking.cancel(account_view.owned_booking(current_account(), booking_id))
    db.session.commit()
    return found


@blp.post("/bookings/<int:booking_id>/reschedule")
@blp.arguments(RescheduleSchema)
@blp.response(200, BookingSchema)
@operation("rescheduleBooking", NotBound, BookingNotFound, SlotNotFound, SlotFull, BookingNotActive, CutoffPassed,
           SlotPast, NotDue, RetireeDeceased)
@require_account
def reschedule_booking(args, booking_id: int):
    """改约：先占新时段名额再释放原名额；新时段已满则原预约不变"""
    found = booking.reschedule(account_view.owned_booking(current_account(), booking_id), args["slot_id"])
    db.session.commit()
    return found


@blp.post("/waitlist")
@blp.arguments(BookingCreateSchema)
@blp.response(201, WaitlistEntrySchema)
@operation("joinWaitlist", NotBound, SlotNotFound, SlotAvailable, AlreadyBooked, AlreadyWaiting, NotDue, SlotPast,
           RetireeDeceased)
@require_account
def join_waitlist(args):
    """加入已满时段的候补；有人取消时按顺序为候补保留名额并通知"""
    account = current_account()
    retiree = bindings.bound_retiree(account, args["retiree_id"])
    entry = waitlist.join_waitlist(account, retiree, args["slot_id"])
    db.session.commit()
    return entry


@blp.delete("/waitlist/<int:entry_id>")
@blp.response(200, WaitlistEntrySchema)
@operation("leaveWaitlist", NotBound, WaitlistNotFound, WaitlistNotActive)
@require_account
def leave_waitlist(entry_id: int):
    """退出候补（已保留的名额顺延给下一位）"""
    entry = waitlist.leave_waitlist(account_view.owned_waitlist_entry(current_account(), entry_id))
    db.session.commit()
    return entry


@blp.post("/waitlist/<int:entry_id>/accept")
@blp.response(201, BookingSchema)
@operation("acceptWaitlistOffer", NotBound, WaitlistNotFound, OfferNotActive, BookingNotActive, AlreadyBooked,
           SlotPast, NotDue, RetireeDeceased)
@require_account
def accept_offer(entry_id: int):
    """确认候补保留的名额，转为预约（已有其他预约则改约到此时段）"""
    account = current_account()
    found = waitlist.accept_offer(account, account_view.owned_waitlist_entry(account, entry_id))
    db.session.commit()
    return found
