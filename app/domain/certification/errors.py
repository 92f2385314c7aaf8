"""Error codes of certification: slots, bookings, the waitlist (see app/domain/errors.py)."""
from __future__ import annotations

from app.domain.errors import Conflict, NotFound, Unprocessable


class ServicePointNotFound(NotFound):
    code, message = "service_point_not_found", "未找到该服务点"


class SlotNotFound(NotFound):
    code, message = "slot_not_found", "未找到该时段"


class BookingNotFound(NotFound):
    code, message = "booking_not_found", "未找到该预约"


class WaitlistNotFound(NotFound):
    code, message = "waitlist_not_found", "未找到该候补记录"


class HoursNotFound(NotFound):
    code, message = "hours_not_found", "未找到该开放时间"


class ClosedDateNotFound(NotFound):
    code, message = "closed_date_not_found", "未找到该闭馆日期"


class SlotFull(Conflict):
    code, message = "slot_full", "该时段已约满"


class AlreadyBooked(Conflict):
    code, message = "already_booked", "已有一个有效预约，如需更改请改约"


class BookingNotActive(Conflict):
    code, message = "booking_not_active", "该预约已取消或已办理"


class SlotAvailable(Conflict):
    code, message = "slot_available", "该时段还有空位，请直接预约"


class AlreadyWaiting(Conflict):
    code, message = "already_waiting", "已在该时段的候补队列中"


class WaitlistNotActive(Conflict):
    code, message = "waitlist_not_active", "该候补已结束"


class OfferNotActive(Conflict):
    code, message = "offer_not_active", "候补名额已过期或已失效"


class HoursOverlap(Conflict):
    code, message = "hours_overlap", "与已有的开放时间重叠"


class NotDue(Unprocessable):
    code, message = "not_due", "近期已完成认证，{opens_on} 起可办理下次认证"


class SlotPast(Unprocessable):
    code, message = "slot_past", "该时段已过，请选择其他时段"


class SlotNotStarted(Unprocessable):
    code, message = "slot_not_started", "预约日期未到，不能登记"


class CutoffPassed(Unprocessable):
    code, message = "cutoff_passed", "距预约时间不足 {minutes} 分钟，不能取消或改约"
