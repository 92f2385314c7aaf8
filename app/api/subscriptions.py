"""Subscribe-message consent: the mini-program reports `wx.requestSubscribeMessage` results here."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import INCLUDE, Schema, ValidationError, fields, validates_schema

from app.api.security import current_account, require_account
from app.domain.messaging import consent
from app.extensions import db

blp = Blueprint("subscriptions", __name__, description="订阅消息授权（一次性订阅额度与长期订阅）")

MAX_RESULT_KEYS = 20  # WeChat asks for at most 3 templates per dialog; anything near 20 is not a result


class SubscribeResultSchema(Schema):
    """The object `wx.requestSubscribeMessage` resolves with, passed on unchanged:
    `{"<template_id>": "accept" | "reject" | "ban" | "filter" | …, "errMsg": "requestSubscribeMessage:ok"}`."""

    class Meta:
        unknown = INCLUDE

    errMsg = fields.String(load_default=None, allow_none=True)  # noqa: N815 — WeChat's own key

    @validates_schema
    def _shape(self, data, **_kwargs):
        if len(data) > MAX_RESULT_KEYS:
            raise ValidationError(f"最多 {MAX_RESULT_KEYS} 项", "_body")
        bad = [key for key, value in data.items() if key != "errMsg" and not isinstance(value, str)]
        if bad:
            raise ValidationError({key: ["应为文本，如 accept / reject"] for key in bad})


class TemplateLedgerSchema(Schema):
    template_key = fields.String()
    template_id = fields.String(metadata={"description": "传给 wx.requestSubscribeMessage 的 tmplIds"})
    title = fields.String()
    long_term = fields.Boolean(metadata={"description": "长期订阅模板（一次授权可多次发送）"})
    credits = fields.Integer(metadata={"description": "一次性订阅剩余可发送次数"})
    long_term_active = fields.Boolean()


class LedgerSchema(Schema):
    templates = fields.List(fields.Nested(TemplateLedgerSchema))
    ignored = fields.List(fields.String(), metadata={"description": "未配置的模板 id（忽略）"})


@blp.post("/subscriptions")
@blp.arguments(SubscribeResultSchema)
@blp.response(200, LedgerSchema)
@require_account
def report(args):
    """上报订阅结果：accept（及 accept 开头的值）为一次性模板加一次发送额度，长期模板开启长期订阅

    reject / filter 不改变额度；ban 清零。与微信推送的同一次授权事件（subscribe_msg_popup_event）
    配对去重，不会重复计数。
    """
    result = consent.record_api_result(current_account(), args)
    db.session.commit()
    return result


@blp.get("/subscriptions")
@blp.response(200, LedgerSchema)
@require_account
def show():
    """各消息模板的模板 id 与本账号的订阅额度（小程序据此调用 wx.requestSubscribeMessage）"""
    return {"templates": consent.ledger(current_account()), "ignored": []}
