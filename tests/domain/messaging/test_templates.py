"""WeChat field rules: truncation where WeChat allows it, a clear refusal elsewhere."""
from __future__ import annotations

import pytest

from app import create_app
from app.domain.messaging import templates
from app.wechat.fields import check_data
from tests.support.messaging import BOOKING_DATA, GREETING

check = templates.check_value


def test_thing_is_truncated_to_twenty_with_an_ellipsis():
    long = "重阳节登高活动暨老年文体展演在社区广场举行欢迎参加"
    out = check("thing", long)
    assert len(out) == 20 and out.endswith("…") and out[:19] == long[:19]
    assert check("thing", "短文本") == "短文本"
    assert check("thing", "第一行\n第二行\t完") == "第一行 第二行 完"


@pytest.mark.parametrize("kind,value", [
    ("phrase", "已受理"), ("phrase", "春节"), ("name", "欧阳娜娜"), ("name", "John Smith"),
    ("character_string", "BK20250301-001"), ("number", "12.5"), ("number", "100"),
    ("date", "2025年1月29日"), ("date", "2025-01-29"), ("date", "2025年1月29日 15:01"),
    ("date", "2025年1月29日~2025年2月4日"), ("time", "15:01"), ("time", "2025年1月29日 09:30"),
    ("time", "09:00~11:30"), ("amount", "¥100.00"), ("amount", "50元"), ("letter", "abc"),
    ("phone_number", "+86-0813-1234567"), ("symbol", "★"),
])
def test_valid_values_pass_unchanged_and_wechat_agrees(kind, value):
    assert check(kind, value) == value
    from app.wechat.fields import check_value as wechat_check

    assert wechat_check(kind, value) is None


@pytest.mark.parametrize("kind,value,reason", [
    ("phrase", "已经受理完毕了", "5 个以内汉字"), ("phrase", "OK", "5 个以内汉字"),
    ("name", "阿卜杜热合曼·买买提艾力", "姓名"), ("name", "A" * 21, "姓名"), ("name", "张3", "姓名"),
    ("character_string", "编号12", "不含汉字"), ("character_string", "x" * 33, "32 位"),
    ("character_string", "has space", "不含汉字和空格"),
    ("number", "12a", "数字"), ("number", "1" * 33, "数字"),
    ("date", "2025-02-30", "日期格式"), ("date", "29/01/2025", "日期格式"), ("date", "明天", "日期格式"),
    ("time", "25:00", "时间格式"), ("time", "下午三点", "时间格式"),
    ("thing", "", "不能为空"), ("thing", "   ", "不能为空"), ("thing", "响铃\x07", "控制字符"),
    ("thing", "零宽\u200b字符", "控制字符"), ("amount", "一百元", "金额"),
])
def test_invalid_values_are_refused_with_a_reason(kind, value, reason):
    with pytest.raises(ValueError, match=reason):
        check(kind, value)


def test_render_names_the_field_and_maps_to_wechat_keys():
    template = templates.get("booking_confirmed")
    data = templates.render(template, BOOKING_DATA)
    assert data["character_string5"] == {"value": "BK20250301001"}
    with pytest.raises(templates.InvalidTemplateData) as excinfo:
        templates.render(template, dict(BOOKING_DATA, booking_no="预约一号"))
    assert excinfo.value.field == "booking_no" and "character_string5" in excinfo.value.reason
    with pytest.raises(templates.InvalidTemplateData, match="缺少字段"):
        templates.render(template, {"name": "王秀英"})


SAMPLES = {
    "certification_due": {"name": "王秀英", "due_date": "2025年6月30日", "place": "光大街社区服务站",
                          "note": "请带身份证"},
    "booking_confirmed": BOOKING_DATA,
    "booking_reminder": {"service": "养老金资格认证", "time": "2025年3月1日 09:30", "place": "服务站", "note": "准时"},
    "waitlist_offer": {"service": "资格认证", "time": "2025年3月1日 09:30", "place": "服务站",
                       "deadline": "2025年2月28日 18:00"},
    "report_received": {"kind": "住院报告", "name": "王秀英", "received_at": "2025年3月1日 09:30", "status": "已受理",
                        "note": "我们会尽快与您联系"},
    "visit_done": {"service": "住院探视", "name": "王秀英", "visit_date": "2025年3月2日", "visitor": "李专干",
                   "note": "祝早日康复"},
    "condolence": {"name": "王秀英", "message": "沉痛哀悼", "contact": "李专干", "visit_date": "2025年3月2日"},
    "activity_registered": {"activity": "重阳登高", "time": "2025年10月29日 09:00", "place": "公园", "name": "王秀英"},
    "activity_reminder": {"activity": "重阳登高", "time": "2025年10月29日 09:00", "place": "公园", "note": "带水"},
    "feedback_reply": {"topic": "路灯不亮", "reply": "已修好", "replied_at": "2025年3月1日 10:00"},
    "holiday_greeting": GREETING,
}


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_every_template_renders_what_the_sandbox_accepts(app, key):
    template = templates.get(key)
    data = templates.render(template, SAMPLES[key])
    assert check_data(data, {f.wx_name for f in template.fields}) is None
    assert template.template_id == "tpl-" + key.replace("_", "-")


def test_template_ids_come_from_config(app, monkeypatch):
    monkeypatch.setitem(app.config["WECHAT_TEMPLATES"], "holiday_greeting", "real-wechat-id")
    assert templates.get("holiday_greeting").template_id == "real-wechat-id"
    assert [t.key for t in templates.by_template_id("real-wechat-id")] == ["holiday_greeting"]
    assert templates.get("booking_confirmed").template_id == "tpl-booking-confirmed"


def test_template_ids_come_from_the_environment(base_overrides, monkeypatch):
    monkeypatch.setenv("WECHAT_TEMPLATE_HOLIDAY_GREETING", "wechat-id-from-env")
    app = create_app("testing", base_overrides)
    with app.app_context():
        assert templates.get("holiday_greeting").template_id == "wechat-id-from-env"
        assert templates.get("condolence").template_id == "tpl-condolence"


def test_links_become_mini_program_pages():
    template = templates.get("report_received")
    assert templates.wechat_page(template, None) == "pages/reports/index"
    assert templates.wechat_page(template, "pages/reports/detail?id=3") == "pages/reports/detail?id=3"
    assert templates.wechat_page(template, "/reports/12") == "pages/reports/index?link=%2Freports%2F12"
