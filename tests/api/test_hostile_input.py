"""Hostile input that used to reach the database as an error: ids beyond the 32-bit columns
(PostgreSQL "integer out of range", SQLite OverflowError), NUL and control characters (PostgreSQL
refuses NUL in text), and requests the app-wide CSRF check refused although a bearer token, not
a cookie, authenticates them."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from app.extensions import db
from app.models import Binding
from app.models.evaluation import FeedbackTicket, Rating
from tests.support.api import PUBLIC, account_with_binding, api_routes, assert_envelope, auth_headers, make_account
from tests.support.factories import make_retiree, make_staff
from tests.support.staff import fresh_client, login

OUT_OF_RANGE = (2**31, 2**63, 10**30)


def _int_routes(app, prefix: str):
    """(method, rule) for every route under `prefix` whose placeholders are all integers."""
    for rule in app.url_map.iter_rules():
        converters = rule._converters.values()
        if rule.rule.startswith(prefix) and converters and all(isinstance(c, IntegerConverter) for c in converters):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule


def _path(app, rule, value: int) -> str:
    return app.url_map.bind("localhost").build(rule.endpoint, dict.fromkeys(rule._converters, value))


def test_out_of_range_ids_in_any_url_are_404_not_a_server_error(app, client, tree, archive):
    account, headers = account_with_binding(archive)
    admin = make_staff("agency_admin", tree["province"], "province-admin")
    api_routes = list(_int_routes(app, "/api/v1"))
    staff_routes = list(_int_routes(app, "/staff"))
    assert api_routes and staff_routes
    for method, rule in api_routes:
        for value in OUT_OF_RANGE:
            response = client.open(_path(app, rule, value) + f"?retiree_id={archive.id}", method=method,
                                   json={"retiree_id": archive.id}, headers=headers)
            assert response.status_code == 404, (method, rule.rule, value)
            assert assert_envelope(response, rule.rule)["code"] == "not_found"
    staff_client = fresh_client(app)
    assert login(staff_client, admin).status_code == 302
    for method, rule in staff_routes:
        for value in OUT_OF_RANGE:
            response = staff_client.open(_path(app, rule, value), method=method, data={"region_id": str(value)})
            assert response.status_code == 404, (method, rule.rule, value)


def test_out_of_range_ids_in_bodies_and_queries_are_a_400_naming_the_field(client, tree, archive):
    """The schemas bound every id to the database's integer (and the document says so): a bigger
    one is the caller's mistake, a 400 naming the field, never a database error."""
    account, headers = account_with_binding(archive)
    for value in OUT_OF_RANGE:
        for subject_type in ("visit", "booking", "activity"):
            response = client.post("/api/v1/ratings", headers=headers,
                                   json={"subject_type": subject_type, "subject_id": value, "score": 1})
            assert response.status_code == 400, (subject_type, value)
            assert set(assert_envelope(response, "ratings")["fields"]) == {"subject_id"}
        for path, body, field in (
                ("/api/v1/feedback", {"category": "question", "text": "你好", "retiree_id": value}, "retiree_id"),
                ("/api/v1/activities/1/registrations", {"retiree_id": value}, "retiree_id"),
                ("/api/v1/bookings", {"slot_id": value, "retiree_id": archive.id}, "slot_id"),
                ("/api/v1/bookings/1/reschedule", {"slot_id": value}, "slot_id"),
                ("/api/v1/waitlist", {"slot_id": value, "retiree_id": archive.id}, "slot_id")):
            response = client.post(path, headers=headers, json=body)
            assert response.status_code == 400, (path, value, response.get_json())
            assert field in assert_envelope(response, path)["fields"], path
        for path in (f"/api/v1/notices?retiree_id={value}", f"/api/v1/slots?service_point_id={value}",
                     f"/api/v1/service-points?retiree_id={value}"):
            response = client.get(path, headers=headers)
            assert response.status_code == 400, path
            assert assert_envelope(response, path)["fields"], path
    assert db.session.scalar(select(func.count(Rating.id))) == 0


@pytest.mark.parametrize("text", ["认证\x00材料", "认证\x1b[31m材料", "\x7f"])
def test_control_characters_in_text_are_a_400_not_a_database_error(client, tree, archive, text):
    _, headers = account_with_binding(archive)
    response = client.post("/api/v1/feedback", headers=headers, json={"category": "question", "text": text})
    assert response.status_code == 400 and "text" in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(FeedbackTicket.id)) is None


def test_line_breaks_and_tabs_are_ordinary_text(client, tree, archive):
    _, headers = account_with_binding(archive)
    response = client.post("/api/v1/feedback", headers=headers,
                           json={"category": "suggestion", "text": "第一条：多组织合唱\n第二条：\t活动室加暖气"})
    assert response.status_code == 201
    assert db.session.get(FeedbackTicket, response.get_json()["id"]).text.endswith("活动室加暖气")


# ---- no token → 401 for the routes no other test names explicitly ---------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/bindings/{binding}/approve"),
    ("POST", "/api/v1/bindings/{binding}/reject"),
    ("DELETE", "/api/v1/bindings/{binding}"),
    ("GET", "/api/v1/activities/1?retiree_id={retiree}"),
])
def test_no_token_is_401_before_anything_else(client, archive, method, path):
    relative = make_account()
    binding = Binding(account_id=relative.id, retiree_id=archive.id, relation="child", status="pending")
    db.session.add(binding)
    db.session.commit()
    response = client.open(path.format(binding=binding.id, retiree=archive.id), method=method)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "not_authenticated"
    assert db.session.get(Binding, binding.id).status == "pending"


# ---- CSRF: the staff pages' protection must not refuse the bearer-token API ----------------------

def test_api_writes_work_with_csrf_protection_on(app, csrf_app, wechat_sandbox):
    """Production runs with WTF_CSRF_ENABLED: the mini-program must still log in and post."""
    assert csrf_app.config["WTF_CSRF_ENABLED"] is True
    client = csrf_app.test_client()
    login_response = client.post("/api/v1/auth/login", json={"code": "csrf-user.1"})
    assert login_response.status_code == 200, login_response.get_json()
    headers = {"Authorization": f"Bearer {login_response.get_json()['token']}"}
    response = client.post("/api/v1/feedback", headers=headers, json={"category": "question", "text": "你好"})
    assert response.status_code == 201, response.get_json()
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204


def test_no_api_route_is_refused_for_a_missing_csrf_token(app, csrf_app):
    """Every API write answers for itself (2xx, 401/403/404/409/422, or 400 naming fields), never
    the CSRF refusal: a 400 that names no field."""

    account = make_account()
    headers = auth_headers(account)
    client = csrf_app.test_client()
    for method, path in api_routes(csrf_app):
        if method == "GET" or (method, path) in PUBLIC:
            continue
        response = client.open(path, method=method, json={}, headers=headers)
        if path.endswith("/logout"):
            headers = auth_headers(account)
        error = assert_envelope(response, f"{method} {path}")
        assert not (response.status_code == 400 and not error.get("fields")), (method, path, error)


def test_search_with_control_characters_is_explained(app, tree, archive):
    worker = make_staff("community_worker", tree["community_a"], "worker-a")
    make_retiree(tree["community_a"], name="王秀英")
    client = fresh_client(app)
    login(client, worker)
    response = client.get("/staff/?q=%E7%8E%8B%00")
    assert response.status_code == 200
    assert "控制字符" in response.get_data(as_text=True)
