"""WeChat login through the sandbox over real HTTP, and token revocation."""
from __future__ import annotations

import socket
from datetime import date, timedelta

from sqlalchemy import select

from app import create_app
from app.domain import clock, pii
from app.extensions import db
from app.models import Account, ApiToken


def _login(client, code: str):
    return client.post("/api/v1/auth/login", json={"code": code})


def test_first_login_creates_the_account_and_a_revocable_token(client, wechat_sandbox):
    response = _login(client, "alice.1")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    # No openid, unionid or session_key: the phone fields are null until the user verifies one.
    assert set(body) == {"token", "account"}
    assert body["account"] == {"id": body["account"]["id"], "created_at": body["account"]["created_at"],
                               "phone": None, "phone_verified_at": None}
    assert body["account"]["created_at"].endswith("+08:00")
    assert len(body["token"]) >= 32
    account = db.session.scalar(select(Account).where(Account.openid == "openid-alice"))
    assert account.id == body["account"]["id"] and account.unionid == "unionid-alice"
    # The session_key is kept, encrypted, and never leaves the server.
    assert account.session_key_enc and b"session" not in account.session_key_enc
    assert pii.decrypt(account.session_key_enc)
    raw = response.get_data(as_text=True)
    assert "session_key" not in raw and pii.decrypt(account.session_key_enc) not in raw
    # Only the token's hash is stored.
    assert db.session.scalar(select(ApiToken.token_hash)) != body["token"]
    assert wechat_sandbox.received("jscode2session")

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["account"]["id"] == account.id and me.get_json()["bindings"] == []


def test_second_login_finds_the_same_account(client):
    first = _login(client, "bob.1").get_json()
    second = _login(client, "bob.2").get_json()
    assert first["account"]["id"] == second["account"]["id"]
    assert first["token"] != second["token"]
    assert db.session.query(Account).count() == 1


def test_bad_code_is_401(client):
    response = _login(client, "invalid-code")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "wechat_code_invalid"
    assert db.session.query(Account).count() == 0


def test_used_code_is_401(client):
    assert _login(client, "carol.once").status_code == 200
    response = _login(client, "carol.once")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "wechat_code_invalid"


def test_wechat_busy_is_503_with_retry_hint(client, wechat_sandbox):
    wechat_sandbox.fail("jscode2session", -1, times=-1)
    response = _login(client, "dave.1")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "wechat_unavailable"
    assert int(response.headers["Retry-After"]) >= 1 and error["retry_after"] == int(response.headers["Retry-After"])
    assert db.session.query(Account).count() == 0


def test_wechat_http_502_is_503(client, wechat_sandbox):
    wechat_sandbox.http_error("jscode2session", 502, times=-1)
    response = _login(client, "erin.1")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "wechat_unavailable"
    assert "Retry-After" in response.headers


def test_wechat_unreachable_is_503(base_overrides):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # bound, never listening: connections are refused
        app = create_app("testing", dict(base_overrides, WECHAT_API_BASE=f"http://127.0.0.1:{closed_port}/"))
        with app.app_context():
            response = app.test_client().post("/api/v1/auth/login", json={"code": "frank.1"})
            db.session.remove()
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "wechat_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


def test_misconfigured_appid_is_503_not_500(base_overrides):
    app = create_app("testing", dict(base_overrides, WECHAT_APPID="wx-wrong-appid"))
    with app.app_context():
        response = app.test_client().post("/api/v1/auth/login", json={"code": "ivan.1"})
        db.session.remove()
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "wechat_unavailable"


def test_logout_revokes_the_token_on_the_next_request(client):
    token = _login(client, "gina.1").get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    other = {"Authorization": "Bearer " + _login(client, "gina.2").get_json()["token"]}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 401
    # Only that token: the same account's other session still works.
    assert client.get("/api/v1/me", headers=other).status_code == 200


def test_tokens_expire(client, app):
    with clock.frozen(date(2025, 5, 1)):
        token = _login(client, "hank.1").get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        clock.advance(timedelta(days=app.config["API_TOKEN_TTL_DAYS"]) - timedelta(minutes=1))
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        clock.advance(timedelta(minutes=2))
        assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_me_requires_a_token(client):
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer nonsense"},
                    {"Authorization": "Token x"}):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "not_authenticated"
