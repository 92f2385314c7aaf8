"""Subscribe-message consent: the mini-program reports `wx.requestSubscribeMessage` results here."""
from __future__ import annotations

import re

from marshmallow import INCLUDE, Schema, ValidationError, fields, validates_schema

from app.api.blueprint import ApiBlueprint, operation
from app.api.fields import Text
from app.api.security import current_account, require_account
from app.domain.messaging import consent
from app.domain.messaging.errors import InvalidSubscriptionResult
from app.extensions import db

blp = ApiBlueprint("subscriptions", __name__, description="订阅消息授权（一次性订阅额度与长期订阅）")

MAX_RESULT_KEYS = 20  # WeChat asks for at most 3 templates per dialog; anything near 20 is not a result
TEMPLATE_ID_MAX = 64  # consent_event.template_id
RESULT_MAX = 32  # consent_event.status
# A template id is WeChat's base64url-like token; a result is a word such as accept / reject / ban.
_TEMPLATE_ID = r"^[A-Za-z0-9_-]+$"
_RESULT = r"^[A-Za-z_]+$"


class SubscribeResultSchema(Schema):
    """The object `wx.requestSubscribeMessage` resolves with, passed on unchanged:
    `{"<template_id>": "accept" | "reject" | "ban" | "filter" | …, "errMsg": "requestSubscribeMessage:ok"}`."""

    class Meta:
        unknown = INCLUDE
        # Documented through the API's schema-extras plugin (app/api/docs.py).
        openapi = {"minProperties": 1, "maxProperties": MAX_RESULT_KEYS + 1, "additionalProperties": {
            "type": "string", "minLength": 1, "maxLength": RESULT_MAX, "pattern": _RESULT,
            "description": "模板 id（最多 64 个字符）→ accept / reject / ban / filter"}}

    errMsg = Text(200, load_default=None, allow_none=True)  # noqa: N815 — WeChat's own key

    @validates_schema
    def _shape(self, data, **_kwargs):
        results = {key: value for key, value in data.items() if key != "errMsg"}
        if not results:
            raise ValidationError("请提交订阅结果（模板 id → accept / reject 等）", "_body")
        if len(results) > MAX_RESULT_KEYS:
            raise ValidationError(f"最多 {MAX_RESULT_KEYS} 项", "_body")
        problems = {}
        for key, value in results.items():
            if not (len(key) <= TEMPLATE_ID_MAX and re.fullmatch(_TEMPLATE_ID, key)):
                problems[key[:TEMPLATE_ID_MAX]] = f"模板 id 应为最多 {TEMPLATE_ID_MAX} 个字母、数字、_ 或 -"
            elif not (isinstance(value, str) and 0 < len(value) <= RESULT_MAX and re.fullmatch(_RESULT, value)):
                problems[key] = f"应为最多 {RESULT_MAX} 个字母的结果，如 accept / reject"
        if problems:
            raise ValidationError(problems)


class TemplateLedgerSchema(Schema):
    template_key = fields.String(required=True)
    template_id = fields.String(required=True, metadata={"description": "传给 wx.requestSubscribeMessage 的 tmplIds"})
    title = fields.String(required=True)
    long_term = fields.Boolean(required=True, metadata={"description": "长期订阅模板（一次授权可多次发送）"})
    credits = fields.Integer(required=True, metadata={"description": "一次性订阅剩余可发送次数"})
    long_term_active = fields.Boolean(required=True)


class LedgerSchema(Schema):
    templates = fields.List(fields.Nested(TemplateLedgerSchema), required=True)
    ignored = fields.List(fields.String(), required=True, metadata={"description": "未配置的模板 id（忽略）"})


@blp.post("/subscriptions")
@blp.arguments(SubscribeResultSchema)
@blp.response(200, LedgerSchema)
@operation("reportSubscriptions", InvalidSubscriptionResult)
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
@operation("getSubscriptions")
@require_account
def show():
    """各消息模板的模板 id 与本账号的订阅额度（小程序据此调用 wx.requestSubscribeMessage）"""
    return consent.ledger_view(current_account())
