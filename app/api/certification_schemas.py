"""Schemas of the certification operations (app/api/certification.py)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.fields import CalendarDate, Choice, Id, LocalDateTime, Text
from app.api.schemas import PageQuerySchema, page_schema, retiree_id_param
from app.domain.certification import waitlist
from app.models.certification import METHODS

BOOKING_STATUSES = ("booked", "cancelled", "attended", "no_show")
WAITLIST_STATUSES = ("waiting", "offered", "accepted", "expired", "left")
CERTIFICATION_STATUSES = ("ok", "due", "overdue", "suspended", "ended")
NOTE_MAX = 2000


class ServicePointSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    address = fields.String(allow_none=True)
    community = fields.String(attribute="region.name", required=True, metadata={"description": "所在社区"})


class SlotSchema(Schema):
    id = fields.Integer(required=True)
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)
    capacity = fields.Integer(required=True)
    remaining = fields.Integer(required=True, metadata={"description": "剩余名额（候补保留中的名额不计入）"})


class BookingSchema(Schema):
    id = fields.Integer(required=True)
    retiree_id = fields.Integer(required=True)
    retiree_name = fields.String(attribute="retiree.name", required=True)
    status = fields.String(required=True, validate=validate.OneOf(BOOKING_STATUSES), metadata={
        "description": "booked 已预约 / cancelled 已取消 / attended 已认证 / no_show 未到"})
    slot_id = fields.Integer(required=True)
    starts_at = LocalDateTime(attribute="slot.starts_at", required=True)
    ends_at = LocalDateTime(attribute="slot.ends_at", required=True)
    service_point = fields.Nested(ServicePointSchema, attribute="slot.service_point", required=True)
    created_at = LocalDateTime(required=True)


class WaitlistEntrySchema(Schema):
    id = fields.Integer(required=True)
    slot_id = fields.Integer(required=True)
    retiree_id = fields.Integer(required=True)
    starts_at = LocalDateTime(attribute="slot.starts_at", required=True)
    ends_at = LocalDateTime(attribute="slot.ends_at", required=True)
    service_point = fields.Nested(ServicePointSchema, attribute="slot.service_point", required=True)
    status = fields.String(required=True, validate=validate.OneOf(WAITLIST_STATUSES), metadata={
        "description": "waiting 排队中 / offered 已为您保留名额 / accepted 已转为预约 / expired 已过期 / left 已退出"})
    position = fields.Method("_position", allow_none=True,
                             metadata={"type": "integer", "description": "排队位次（仅 waiting）"})
    offer_expires_at = LocalDateTime(allow_none=True, metadata={"description": "保留名额的确认截止时间"})
    booking_id = fields.Integer(allow_none=True)

    def _position(self, entry):
        return waitlist.waitlist_position(entry)


class CertificationSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(CERTIFICATION_STATUSES), metadata={
        "description": "ok 正常 / due 待认证 / overdue 已逾期 / suspended 已暂停发放 / ended 已退出认证（已故）"})
    due_on = fields.Date(allow_none=True, metadata={"description": "本周期认证截止日期"})
    window_opens_on = fields.Date(allow_none=True, metadata={"description": "可预约本周期认证的起始日期"})
    last_certified_on = fields.Date(allow_none=True)
    last_method = fields.String(allow_none=True, validate=validate.OneOf(METHODS), metadata={
        "description": "on_site 现场 / home_visit 上门 / self_service_face 人脸识别 / data_match 数据比对"})
    home_visit_pending = fields.Boolean(required=True, metadata={"description": "是否有待办的上门认证"})
    booking = fields.Nested(BookingSchema, allow_none=True)
    waitlist = fields.List(fields.Nested(WaitlistEntrySchema), required=True,
                           metadata={"description": "排队中或已保留名额的候补（offered 时请在截止前确认）"})


ServicePointPageSchema = page_schema(ServicePointSchema, "ServicePointPage")
SlotPageSchema = page_schema(SlotSchema, "SlotPage")
BookingPageSchema = page_schema(BookingSchema, "BookingPage")


class RetireePageQuerySchema(PageQuerySchema):
    retiree_id = retiree_id_param(required=True, strict=False)


class SlotQuerySchema(PageQuerySchema):
    service_point_id = Id(required=True, strict=False, metadata={"description": "服务点 id"})
    from_ = CalendarDate(data_key="from", load_default=None, metadata={"description": "起始日期，默认今天"})
    to = CalendarDate(load_default=None, metadata={"description": "结束日期（含），默认起始后 14 天"})


class BookingQuerySchema(PageQuerySchema):
    status = Choice(BOOKING_STATUSES, load_default=None, metadata={"description": "按状态筛选（不填为全部）"})


class BookingCreateSchema(Schema):
    slot_id = Id(required=True, metadata={"description": "时段 id"})
    retiree_id = retiree_id_param(required=True)


class RescheduleSchema(Schema):
    slot_id = Id(required=True, metadata={"description": "新时段 id"})


class HomeVisitRequestSchema(Schema):
    note = Text(NOTE_MAX, multiline=True, load_default=None, allow_none=True,
                metadata={"description": "情况说明（如：卧床，请下午上门）"})
