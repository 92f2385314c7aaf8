"""Bounds in the shared input layer (issue 10.7, 10.13): ids past the database's integer, dates at
the calendar's edges, over-long strings, NUL inside a value, a body nested thousands deep and a
missing body — each a 400 naming the field in Chinese, never a 500 and never a stored row, the
same on SQLite and PostgreSQL. Staff pages' query parameters go through the same layer."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.messaging import ConsentEvent
from tests.support.api import account_with_binding, assert_envelope
from tests.support.factories import make_service_point, make_staff
from tests.support.staff import fresh_client, login

_CJK = re.compile(r"[\u3400-\u9fff]")


def _error(response, status=400) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = assert_envelope(response, "bounds")
    assert _CJK.search(error["message"]) and all(_CJK.search(m) for m in error["fields"].values()), error
    return error


@pytest.fixture
def bound(archive):
    return account_with_binding(archive)[1]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-30", "1899-12-31", "2101-01-01"])
def test_dates_beyond_the_service_calendar_are_refused(client, tree, bound, day):
    point = make_service_point(tree["community_a"], code="SP-EDGE")
    db.session.commit()
    for name in ("from", "to"):
        error = _error(client.get(f"/api/v1/slots?service_point_id={point.id}&{name}={day}", headers=bound))
        assert error["fields"] == {name: "日期应在 1900-01-01 至 2100-12-31 之间"}


def test_dates_inside_the_calendar_are_answered(client, tree, bound):
    point = make_service_point(tree["community_a"], code="SP-EDGE")
    db.session.commit()
    response = client.get(f"/api/v1/slots?service_point_id={point.id}&from=2100-12-20&to=2100-12-31", headers=bound)
    assert response.status_code == 200 and response.get_json()["items"] == []


def test_paging_errors_are_chinese(client, bound):
    error = _error(client.get("/api/v1/notifications?page=0&per_page=abc", headers=bound))
    assert error["fields"] == {"page": "应为 1–10000 之间的整数", "per_page": "应为整数"}
    error = _error(client.get("/api/v1/feedback?per_page=51", headers=bound))
    assert error["fields"] == {"per_page": "应为 1–50 之间的整数"}


@pytest.mark.parametrize("body", [
    {"tmpl-a": "a" * 40},
    {"tmpl-a": "accept" * 1000},
    {"tmpl-a": "acc\x00ept"},
    {"tmpl\x00a": "accept"},
    {"t" * 65: "accept"},
    {"tmpl-a": {"nested": "accept"}},
    {"errMsg": "requestSubscribeMessage:ok"},
    {},
])
def test_subscription_results_are_bounded_like_their_columns(client, bound, body):
    _error(client.post("/api/v1/subscriptions", headers=bound, json=body))
    assert db.session.scalar(select(func.count(ConsentEvent.id))) == 0


def test_subscriptions_without_a_body_are_a_400(client, bound):
    error = _error(client.post("/api/v1/subscriptions", headers=bound))
    assert error["code"] == "invalid_input" and "_body" in error["fields"]


def test_a_body_nested_thousands_deep_is_invalid_json(client, bound):
    deep = ("[" * 5000 + "]" * 5000).encode()
    for path in ("/api/v1/subscriptions", "/api/v1/feedback", "/api/v1/bookings"):
        error = _error(client.post(path, headers={**bound, "Content-Type": "application/json"}, data=deep))
        assert error["code"] == "invalid_json"
    nested = ('{"a":' * 5000 + "1" + "}" * 5000).encode()
    assert _error(client.post("/api/v1/subscriptions", headers={**bound, "Content-Type": "application/json"},
                              data=nested))["code"] == "invalid_json"


def test_every_string_field_has_a_length_and_a_character_rule(app):
    from app.api import api

    document = api.spec.to_dict()
    loose = []
    for name, schema in document["components"]["schemas"].items():
        for prop, spec in schema.get("properties", {}).items():
            if spec.get("readOnly"):
                continue
            types = spec.get("type") if isinstance(spec.get("type"), list) else [spec.get("type")]
            if "string" in types and "enum" not in spec and "format" not in spec and name in _INPUTS(document):
                if not ("maxLength" in spec and "pattern" in spec):
                    loose.append(f"{name}.{prop}")
    assert not loose, f"input strings without maxLength and pattern: {loose}"


def _INPUTS(document) -> set[str]:  # noqa: N802 — reads as a constant
    names = set()
    for item in document["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                names.add(ref.rsplit("/", 1)[1])
    return names


# ---- staff pages: the same shared input layer ---------------------------------------------------

@pytest.fixture
def admin_client(app, tree):
    admin = make_staff("agency_admin", tree["city"], "bounds-admin")
    db.session.commit()
    client = fresh_client(app)
    assert login(client, admin).status_code == 302
    return client


@pytest.mark.parametrize(("path", "message"), [
    ("/staff/certification/points/{point}/roster?day=0001-01-01", "日期应在"),
    ("/staff/certification/points/{point}/roster?day=9999-12-30", "日期应在"),
    ("/staff/certification/points/{point}/roster?day=not-a-day", "日期格式"),
    ("/staff/certification/work-fees?from=0001-01-01", "日期应在"),
    ("/staff/tasks?assignee=99999999999999999999", "整数"),
    ("/staff/costs?region=99999999999999999999", "整数"),
    ("/staff/costs?region=" + "9" * 5000, "整数"),
])
def test_staff_query_parameters_out_of_range_are_a_chinese_400(admin_client, tree, path, message):
    point = make_service_point(tree["community_a"], code="SP-STAFF")
    db.session.commit()
    response = admin_client.get(path.format(point=point.id))
    assert response.status_code == 400, response.status_code
    assert message in response.get_data(as_text=True)
