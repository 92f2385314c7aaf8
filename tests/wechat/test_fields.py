"""WeChat's subscribe-message field rules, as the sandbox (and the messaging code) apply them."""
from __future__ import annotations

import pytest

from app.wechat.fields import check_data, check_value, field_type


@pytest.mark.parametrize("key, kind", [("thing1", "thing"), ("character_string12", "character_string"),
                                       ("short_thing3", "short_thing"), ("thing", None), ("foo1", None)])
def test_field_type(key, kind):
    assert field_type(key) == kind


@pytest.mark.parametrize("kind, value", [
    ("thing", "春节慰问：社区工作人员将上门看望您"[:20]),
    ("thing", "a" * 20),
    ("number", "12.5"),
    ("letter", "ABC"),
    ("symbol", "%$"),
    ("character_string", "TG-2025-0001"),
    ("time", "15:01"),
    ("time", "2025年1月29日 15:01"),
    ("time", "09:00~11:30"),
    ("date", "2025年10月29日"),
    ("date", "2025-10-29 09:30"),
    ("date", "2025年1月29日 ~ 2025年2月4日"),
    ("amount", "¥90.00元"),
    ("phone_number", "+86-0816-2224466"),
    ("car_number", "川B12345"),
    ("name", "王秀英"),
    ("name", "Wang Xiuying"),
    ("phrase", "已预约"),
])
def test_accepted_values(kind, value):
    assert check_value(kind, value) is None


@pytest.mark.parametrize("kind, value, reason", [
    ("thing", "长" * 21, "exceeds 20"),
    ("thing", "", "empty"),
    ("thing", "换行\n不行", "control"),
    ("thing", 12, "string"),
    ("phrase", "配送中了吗啊", "exceeds 5"),
    ("phrase", "OK", "phrase"),
    ("name", "王" * 11, "exceeds 10"),
    ("name", "a" * 21, "exceeds 20"),
    ("name", "王2", "Chinese characters or letters"),
    ("number", "12a", "number"),
    ("character_string", "中文", "character_string"),
    ("character_string", "x" * 33, "exceeds 32"),
    ("date", "29/10/2025", "date"),
    ("time", "25:00", "time"),
    ("amount", "90块", "amount"),
    ("symbol", "abc", "symbol"),
    ("mystery", "x", "unknown field type"),
])
def test_rejected_values(kind, value, reason):
    assert reason in check_value(kind, value)


def test_check_data_names_the_field():
    assert check_data({"thing1": {"value": "ok"}, "date2": {"value": "2025-01-29"}}) is None
    assert check_data({"thing1": {"value": "长" * 21}}) == ("thing1", "exceeds 20 characters")
    assert check_data({"thing1": "bare"})[0] == "thing1"
    assert check_data({"thing1": {"value": "x"}}, allowed_keys={"date2"}) == ("thing1", "key not in template")
    assert check_data({})[0] == "data"
