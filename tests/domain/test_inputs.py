"""The shared input layer: ids a row can have, the service calendar, query-string values."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from app.domain import inputs
from app.domain.errors import ValidationFailed


@pytest.mark.parametrize(("value", "ok"), [(1, True), (2**31 - 1, True), (0, False), (2**31, False), (-1, False),
                                           (True, False), ("1", False), (None, False)])
def test_valid_id(value, ok):
    assert inputs.valid_id(value) is ok


@pytest.mark.parametrize(("day", "ok"), [(date(1900, 1, 1), True), (date(2100, 12, 31), True),
                                         (date(1899, 12, 31), False), (date(2101, 1, 1), False),
                                         (date(1, 1, 1), False), (datetime(9999, 12, 30), False)])
def test_in_calendar(day, ok):
    assert inputs.in_calendar(day) is ok


@pytest.mark.parametrize("raw", ["99999999999999999999", "2147483648", "0", "-3", "1.5", "abc", "²", "9" * 5000])
def test_query_id_refuses_what_no_row_can_have(raw):
    with pytest.raises(ValidationFailed) as caught:
        inputs.query_id({"assignee": raw}, "assignee")
    assert caught.value.fields == {"assignee": "应为 1–2147483647 之间的整数"}


def test_query_id_reads_an_id_or_nothing():
    assert inputs.query_id({"region": " 42 "}, "region") == 42
    assert inputs.query_id({"region": ""}, "region") is None and inputs.query_id({}, "region") is None


@pytest.mark.parametrize(("raw", "message"), [("0001-01-01", "日期应在"), ("9999-12-30", "日期应在"),
                                              ("2025-02-30", "日期格式"), ("20250301", "日期格式"),
                                              ("2025-03-01T00:00", "日期格式")])
def test_query_date_refuses_bad_and_far_dates(raw, message):
    with pytest.raises(ValidationFailed) as caught:
        inputs.query_date({"day": raw}, "day", date(2025, 3, 1))
    assert message in caught.value.fields["day"]


def test_query_date_defaults_and_reads():
    assert inputs.query_date({}, "day", date(2025, 3, 1)) == date(2025, 3, 1)
    assert inputs.query_date({"day": "2100-12-31"}, "day", date(2025, 3, 1)) == date(2100, 12, 31)

