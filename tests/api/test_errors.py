"""The error envelope: bad input is a 400 with field messages, never a 500.

`test_every_api_route_survives_garbage` walks EVERY /api/v1 route in the url map, so each
service added later is held to the same rule without writing anything new.
"""
from __future__ import annotations

import json

import pytest

from tests.support.api import PUBLIC, api_routes, assert_envelope, auth_headers, make_account

_NULLS = {name: None for name in ("code", "name", "id_number", "relation", "id", "date", "slot_id",
                                  "retiree_id", "text", "content", "type", "status", "page")}
_HUGE = {name: "字" * 20000 for name in _NULLS}
# NUL and escape characters: PostgreSQL refuses NUL in any text parameter, so one that reaches a
# query is a 500 there (and only there).
_CONTROL = {name: "张\x00桂\x1b芳" for name in (*_NULLS, "comment", "category", "subject_type", "hospital", "ward",
                                                "note", "description", "reason", "template_key", "result")}
GARBAGE: list[tuple[str | None, bytes]] = [
    (None, b""),
    ("text/plain", "不是 JSON".encode()),
    ("application/x-www-form-urlencoded", b"code=abc&name=x"),
    ("application/json", b"{not json"),
    ("application/json", b"\xff\xfe\x00garbage"),
    ("application/json", b"[1, 2, 3]"),
    ("application/json", b"null"),
    ("application/json", b'"' + b"x" * 200000 + b'"'),
    ("application/json", b"123456789012345678901234567890"),
    ("application/json", json.dumps(_NULLS).encode()),
    ("application/json", json.dumps(_HUGE).encode()),
    ("application/json", json.dumps(_CONTROL).encode()),
    ("application/json", json.dumps({"unexpected": {"nested": [1, {"deep": None}]}}).encode()),
    ("application/json", json.dumps({k: [1, 2] for k in _NULLS}).encode()),
    ("application/json", json.dumps({k: {"$gt": ""} for k in _NULLS}).encode()),
]
# Routes that answer without a token. Every other /api/v1 route must say 401 first (here) and
# declare bearer security (test_openapi.py). Add a public route here deliberately, or not at all.
GARBAGE_QUERY = ("?page=-1&per_page=abc&limit=999999999999999999999&date=not-a-date&id=%00&q=" + "x" * 3000
                 + "&retiree_id=99999999999999999999&kind=%00&status=%00")


def test_every_api_route_survives_garbage(app, client, archive):
    routes = api_routes(app)
    assert ("POST", "/api/v1/bindings") in routes and ("GET", "/api/v1/me") in routes
    account = make_account()
    token = auth_headers(account)
    for method, path in routes:
        for content_type, body in GARBAGE:
            for authed in (False, True):
                if authed and path.endswith("/logout"):
                    token = auth_headers(account)  # the last request may have revoked it
                headers = dict(token) if authed else {}
                if content_type:
                    headers["Content-Type"] = content_type
                query = GARBAGE_QUERY if method == "GET" else ""
                context = f"{method} {path} authed={authed} {content_type} {body[:40]!r}"
                try:
                    response = client.open(path + query, method=method, data=body, headers=headers)
                except Exception as exc:  # noqa: BLE001 — name the route that broke
                    pytest.fail(f"{context}: raised {exc!r}")
                assert_envelope(response, context)
                if not authed and (method, path) not in PUBLIC:
                    # Authentication comes before parsing: no field errors for a caller without a token.
                    assert response.status_code == 401, context
                    assert response.get_json()["error"]["code"] == "not_authenticated", context


def _login_error(client, payload=None, **kwargs):
    if payload is not None:
        kwargs["json"] = payload
    response = client.post("/api/v1/auth/login", **kwargs)
    assert response.status_code in (400, 415), response.get_data(as_text=True)
    return response, assert_envelope(response, "login")


def test_missing_unknown_wrong_type_null_and_oversized_fields(client):
    _, error = _login_error(client, {})
    assert error["code"] == "invalid_input" and error["fields"] == {"code": "必填"}
    _, error = _login_error(client, {"code": "abc", "extra": 1})
    assert error["fields"] == {"extra": "不支持的字段"}
    _, error = _login_error(client, {"code": 123})
    assert error["fields"] == {"code": "应为文本"}
    _, error = _login_error(client, {"code": None})
    assert error["fields"] == {"code": "不能为空"}
    _, error = _login_error(client, {"code": "c" * 129})
    assert error["fields"] == {"code": "应为 1–128 个字符"}
    _, error = _login_error(client, [{"code": "abc"}])
    assert error["code"] == "invalid_input"


def test_binding_fields_are_bounded(client, app):
    headers = auth_headers(make_account())
    response = client.post("/api/v1/bindings", headers=headers,
                           json={"relation": "cousin", "name": "名" * 51, "id_number": "1" * 33})
    assert response.status_code == 400
    fields = response.get_json()["error"]["fields"]
    assert fields == {"relation": "取值应为：self, spouse, child, other", "name": "应为 1–50 个字符",
                      "id_number": "应为 1–32 个字符"}
    blank = client.post("/api/v1/bindings", headers=headers, json={"relation": "self", "name": " ", "id_number": "1"})
    assert blank.status_code == 400 and "id_number" in blank.get_json()["error"]["fields"]


def test_invalid_json_and_wrong_content_type(client):
    response, error = _login_error(client, data=b"{oops", content_type="application/json")
    assert response.status_code == 400 and error["message"] == "请求体不是有效的 JSON"
    response, error = _login_error(client, data=b"code=abc", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and error["code"] == "unsupported_media_type"


def test_oversized_body_and_wrong_method(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = client.post("/api/v1/auth/login", json={"code": "x" * 5000})
    assert response.status_code == 413
    assert assert_envelope(response, "413")["code"] == "payload_too_large"
    response = client.put("/api/v1/me")
    assert response.status_code == 405
    assert assert_envelope(response, "405")["code"] == "method_not_allowed"
