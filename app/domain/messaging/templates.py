"""Subscribe-message templates: the registry, and WeChat's rules for template field values.

A template is configuration, not data: its WeChat template id is the setting
`WECHAT_TEMPLATE_<KEY>` (e.g. `WECHAT_TEMPLATE_BOOKING_CONFIRMED`; the family `WECHAT_TEMPLATES` in
`config/wechat.py`), until configured a placeholder only the sandbox accepts (`tpl-booking-confirmed`).
Callers pass data by our own keys (`name`, `time`…); `render` maps them to WeChat field names
(`name1`, `time2`…) after checking each value against the rules of its WeChat field type, so WeChat
never answers 47003 for our formatting. Only `thing` values are truncated (with "…"); everything
else that breaks a rule is refused with the field named.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote

from flask import current_app

from app.domain import clock
from app.wechat import fields as wechat_fields

# Who may still receive a template once the retiree's life status changes:
#   living   — the retiree and relatives while alive; relatives (not self) after a death report;
#              nobody once deceased (reminders, bookings, activities).
#   bereaved — like living, but relatives keep receiving after death (condolence, visit records).
#   alive_only — only while alive, to nobody after a death report (holiday greetings).
LIFE_RULES = ("living", "bereaved", "alive_only")


@dataclass(frozen=True)
class Field:
    key: str          # our data key
    wx_name: str      # WeChat field name, e.g. "thing1"
    label: str        # Chinese label, shown in the in-app inbox

    @property
    def wx_type(self) -> str:
        return self.wx_name.rstrip("0123456789")


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    page: str
    fields: tuple[Field, ...]
    long_term: bool = False
    life_rule: str = "living"

    @property
    def template_id(self) -> str:
        """The WeChat template id configured for this key (see WECHAT_TEMPLATES)."""
        return current_app.config["WECHAT_TEMPLATES"][self.key]


def _t(key: str, title: str, page: str, fields: list[tuple[str, str, str]], **kw) -> Template:
    return Template(key, title, page, tuple(Field(*f) for f in fields), **kw)


_TEMPLATES: dict[str, Template] = {t.key: t for t in (
    _t("certification_due", "资格认证提醒", "pages/certification/index",
       [("name", "name1", "认证人"), ("due_date", "date2", "截止日期"),
        ("place", "thing3", "办理地点"), ("note", "thing4", "温馨提示")], long_term=True),
    _t("booking_confirmed", "预约成功通知", "pages/bookings/index",
       [("name", "name1", "预约人"), ("service", "thing2", "预约事项"), ("time", "time3", "预约时间"),
        ("place", "thing4", "办理地点"), ("booking_no", "character_string5", "预约编号")]),
    _t("booking_reminder", "预约到期提醒", "pages/bookings/index",
       [("service", "thing1", "预约事项"), ("time", "time2", "预约时间"),
        ("place", "thing3", "办理地点"), ("note", "thing4", "温馨提示")]),
    _t("waitlist_offer", "候补成功通知", "pages/bookings/index",
       [("service", "thing1", "预约事项"), ("time", "time2", "预约时间"),
        ("place", "thing3", "办理地点"), ("deadline", "time4", "确认截止")]),
    _t("report_received", "报告受理通知", "pages/reports/index",
       [("kind", "phrase1", "报告类型"), ("name", "name2", "退休人员"),
        ("received_at", "time3", "受理时间"), ("status", "phrase4", "受理状态"), ("note", "thing5", "备注")],
       life_rule="bereaved"),
    _t("visit_done", "走访服务完成通知", "pages/visits/index",
       [("service", "thing1", "服务项目"), ("name", "name2", "服务对象"),
        ("visit_date", "date3", "走访日期"), ("visitor", "thing4", "走访人员"), ("note", "thing5", "备注")],
       life_rule="bereaved"),
    _t("condolence", "吊唁慰问通知", "pages/reports/index",
       [("name", "name1", "逝者"), ("message", "thing2", "慰问内容"),
        ("contact", "thing3", "联系人"), ("visit_date", "date4", "慰问日期")], life_rule="bereaved"),
    _t("activity_registered", "活动报名成功通知", "pages/activities/index",
       [("activity", "thing1", "活动名称"), ("time", "time2", "活动时间"),
        ("place", "thing3", "活动地点"), ("name", "name4", "报名人")]),
    _t("activity_reminder", "活动开始提醒", "pages/activities/index",
       [("activity", "thing1", "活动名称"), ("time", "time2", "活动时间"),
        ("place", "thing3", "活动地点"), ("note", "thing4", "温馨提示")]),
    _t("feedback_reply", "意见反馈回复通知", "pages/feedback/index",
       [("topic", "thing1", "反馈主题"), ("reply", "thing2", "回复内容"), ("replied_at", "time3", "回复时间")],
       life_rule="bereaved"),
    _t("holiday_greeting", "节日慰问", "pages/index/index",
       [("festival", "phrase1", "节日"), ("greeting", "thing2", "祝福"),
        ("sender", "thing3", "慰问单位"), ("date", "date4", "日期")], life_rule="alive_only"),
)}


class UnknownTemplate(ValueError):
    """A template key nobody registered: a programming error, raised loudly."""


class InvalidTemplateData(ValueError):
    """A value breaks its WeChat field rule; `field` is our data key."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def get(key: str) -> Template:
    """The registered template for `key`, or UnknownTemplate."""
    try:
        return _TEMPLATES[key]
    except KeyError:
        raise UnknownTemplate(f"unknown message template {key!r}") from None


def all_templates() -> list[Template]:
    return list(_TEMPLATES.values())


def by_template_id(template_id: str) -> list[Template]:
    """Templates configured with this WeChat template id (several keys may share one)."""
    return [t for t in _TEMPLATES.values() if t.template_id == template_id]


def is_long_term(template_id: str) -> bool:
    return any(t.long_term for t in by_template_id(template_id))


# ---- values ------------------------------------------------------------------------------------

def to_text(value: object) -> str:
    """Callers may pass dates and datetimes; they are stored as WeChat's date/time text."""
    if isinstance(value, datetime):
        local = value.astimezone(clock.SERVICE_ZONE) if value.tzinfo else value
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return "" if value is None else str(value)


def normalize_data(template: Template, data: dict[str, object]) -> dict[str, str]:
    """The data as stored on the notification: text values, only the template's keys kept."""
    keys = {f.key for f in template.fields}
    return {k: to_text(v) for k, v in data.items() if k in keys}


_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN}]")
_PHRASE_RE = re.compile(f"^[{_HAN}]{{1,5}}$")
_NAME_HAN_RE = re.compile(f"^[{_HAN}A-Za-z·• .]{{1,10}}$")
_NAME_LATIN_RE = re.compile(r"^[A-Za-z .·'\-]{1,20}$")
_CHAR_STRING_RE = re.compile(r"^[\x21-\x7e]{1,32}$")
_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")
_LETTER_RE = re.compile(r"^[A-Za-z]{1,32}$")
_AMOUNT_RE = re.compile(r"^[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?$")
_PHONE_RE = re.compile(r"^[0-9+\-() ]{1,17}$")
_DATE_PART = r"(\d{4})(?:年(\d{1,2})月(\d{1,2})日|-(\d{1,2})-(\d{1,2})|/(\d{1,2})/(\d{1,2}))"
_TIME_PART = r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?"
_DATE_RE = re.compile(f"^{_DATE_PART}(?: {_TIME_PART})?$")
_TIME_RE = re.compile(f"^(?:{_DATE_PART} )?{_TIME_PART}$")
THING_MAX = 20


def _clean(value: str) -> str:
    # Line breaks and tabs become spaces (WeChat shows one line); other control characters are refused.
    value = re.sub(r"[\t\r\n]+", " ", value).strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValueError("含有控制字符")
    return value


def _valid_date(match: re.Match) -> bool:
    groups = match.groups()
    year = int(groups[0])
    month, day = next((groups[i], groups[i + 1]) for i in (1, 3, 5) if groups[i] is not None)
    try:
        date(year, int(month), int(day))
    except ValueError:
        return False
    return True


def _check_range(value: str, regex: re.Pattern, needs_date: bool) -> bool:
    # A period is two points joined by "~" (WeChat's own notation).
    for part in value.split("~"):
        match = regex.match(part.strip())
        if not match:
            return False
        if (needs_date or match.group(1)) and not _valid_date(match):
            return False
    return value.count("~") <= 1


def check_value(wx_type: str, value: str) -> str:
    """The value WeChat will accept for a field of `wx_type`, or ValueError with a Chinese reason.

    `thing` (≤ 20 characters) is truncated with "…"; every other rule is refused, because a cut
    name, number or date would say something false.
    """
    value = _clean(value)
    if not value:
        raise ValueError("不能为空")
    if wx_type == "thing":
        return value if len(value) <= THING_MAX else value[: THING_MAX - 1] + "…"
    if wx_type == "phrase":
        if not _PHRASE_RE.match(value):
            raise ValueError("应为 5 个以内汉字")
        return value
    if wx_type == "name":
        ok = _NAME_HAN_RE.match(value) if _HAN_RE.search(value) else _NAME_LATIN_RE.match(value)
        if not ok:
            raise ValueError("姓名应为 10 个以内汉字或 20 个以内字母")
        return value
    if wx_type == "character_string":
        if not _CHAR_STRING_RE.match(value):
            raise ValueError("应为 32 位以内数字、字母或符号（不含汉字和空格）")
        return value
    if wx_type == "number":
        if not _NUMBER_RE.match(value) or len(value) > 32:
            raise ValueError("应为 32 位以内数字")
        return value
    if wx_type == "letter":
        if not _LETTER_RE.match(value):
            raise ValueError("应为 32 个以内字母")
        return value
    if wx_type == "symbol":
        if len(value) > 5 or any(ch.isalnum() for ch in value):
            raise ValueError("应为 5 个以内符号")
        return value
    if wx_type == "amount":
        if not _AMOUNT_RE.match(value):
            raise ValueError("金额格式应为 ¥100.00 或 100元")
        return value
    if wx_type == "phone_number":
        if not _PHONE_RE.match(value):
            raise ValueError("电话应为 17 位以内数字或符号")
        return value
    if wx_type == "car_number":
        if len(value) > 8:
            raise ValueError("车牌号最多 8 位")
        return value
    if wx_type == "date":
        if not _check_range(value, _DATE_RE, needs_date=True):
            raise ValueError("日期格式应为 2025年1月29日 或 2025-01-29（可带 15:01）")
        return value
    if wx_type == "time":
        if not _check_range(value, _TIME_RE, needs_date=False):
            raise ValueError("时间格式应为 15:01 或 2025年1月29日 15:01")
        return value
    raise ValueError(f"未知的字段类型 {wx_type}")


def render(template: Template, data: dict[str, str]) -> dict[str, dict[str, str]]:
    """WeChat's `data` object ({"thing1": {"value": "…"}}), or InvalidTemplateData naming the field."""
    out: dict[str, dict[str, str]] = {}
    for field in template.fields:
        raw = data.get(field.key)
        if raw is None:
            raise InvalidTemplateData(field.key, f"缺少字段（{field.label}）")
        try:
            value = check_value(field.wx_type, str(raw))
        except ValueError as exc:
            raise InvalidTemplateData(field.key, f"{field.label}（{field.wx_name}）{exc}") from None
        # Backstop: the rules as app/wechat reads them (the sandbox answers 47003 by the same code).
        problem = wechat_fields.check_value(field.wx_type, value)
        if problem:
            raise InvalidTemplateData(field.key, f"{field.label}（{field.wx_name}）{problem}")
        out[field.wx_name] = {"value": value}
    return out


def wechat_page(template: Template, link: str | None) -> str:
    """The mini-program page a message opens. A `link` that is a page path ("pages/…?id=3") is
    used as is; any other link (an in-app route such as "/reports/12") rides on the template's
    page as `?link=…`, since WeChat refuses pages the mini-program does not have (41030)."""
    if not link:
        return template.page
    path = link.lstrip("/")
    if path.startswith("pages/"):
        return path
    return f"{template.page}?link={quote(link, safe='')}"


def inbox_lines(template: Template, data: dict[str, str]) -> list[dict[str, str]]:
    """Label/value pairs for the in-app inbox (full values: the inbox has no WeChat limits)."""
    return [{"label": f.label, "value": data[f.key]} for f in template.fields if data.get(f.key)]
