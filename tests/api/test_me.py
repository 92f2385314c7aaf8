"""The account's own page and its phone number verified through WeChat's getPhoneNumber code:
the retiree's own account confirms or updates the archive's phone (encrypted, audited); a
relative's account keeps the number for itself only."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain import pii
from app.extensions import db
from app.models import Account, AuditEntry, Retiree
from tests.support.api import auth_headers, bind, make_account


@pytest.fixture
def family(tree, archive):
    me, son, pending, revoked = (make_account() for _ in range(4))
    bind(me, archive, "self")
    bind(son, archive, "child")
    bind(pending, archive, "self", status="pending")
    bind(revoked, archive, "self", status="revoked")
    db.session.commit()
    return {"retiree": archive, **{n: auth_headers(a) for n, a in
                                    (("me", me), ("son", son), ("pending", pending), ("revoked", revoked))},
            "accounts": {"me": me, "son": son}}


def _phone(client, headers, code):
    return client.post("/api/v1/me/phone", headers=headers, json={"code": code})


def _archive_phone(retiree_id: int) -> str | None:
    db.session.expire_all()
    retiree = db.session.get(Retiree, retiree_id)
    return pii.decrypt(retiree.phone_enc) if retiree.phone_enc else None


def test_the_retirees_own_number_confirms_the_archive(client, family, wechat_sandbox):
    response = _phone(client, family["me"], "phone-13812345678.a")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["archive"] == "confirmed" and body["retiree_id"] == family["retiree"].id
    assert body["account"]["phone"] == "138****5678" and body["account"]["phone_verified_at"].endswith("+08:00")
    assert "13812345678" not in response.get_data(as_text=True)
    assert _archive_phone(family["retiree"].id) == "13812345678"
    retiree = db.session.get(Retiree, family["retiree"].id)
    assert retiree.phone_confirmed_at is not None
    me = client.get("/api/v1/me", headers=family["me"]).get_json()
    assert me["account"]["phone"] == "138****5678"


def test_a_new_number_updates_the_archive_encrypted_and_audited(client, family, wechat_sandbox):
    assert _phone(client, family["me"], "phone-13900001111.b").get_json()["archive"] == "updated"
    assert _archive_phone(family["retiree"].id) == "13900001111"
    retiree = db.session.get(Retiree, family["retiree"].id)
    assert retiree.phone_masked == "139****1111" and b"13900001111" not in retiree.phone_enc
    account = db.session.get(Account, family["accounts"]["me"].id)
    assert pii.decrypt(account.phone_enc) == "13900001111" and b"13900001111" not in account.phone_enc
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "retiree.phone_updated"))
    assert entry.subject_id == retiree.id and entry.detail == {"from": "138****5678", "to": "139****1111",
                                                               "source": "wechat"}
    profile = client.get(f"/api/v1/retirees/{retiree.id}", headers=family["son"]).get_json()
    assert profile["phone"] == "139****1111" and profile["phone_confirmed_at"].endswith("+08:00")


@pytest.mark.parametrize("who", ["son", "pending", "revoked"])
def test_a_number_verified_by_anyone_but_the_retiree_leaves_the_archive_alone(client, family, wechat_sandbox, who):
    response = _phone(client, family[who], f"phone-13700007777.{who}")
    assert response.status_code == 200
    assert response.get_json()["archive"] is None and response.get_json()["retiree_id"] is None
    assert _archive_phone(family["retiree"].id) == "13812345678"
    assert db.session.get(Retiree, family["retiree"].id).phone_confirmed_at is None


def test_phone_needs_a_token(client, family):
    response = _phone(client, {}, "phone-13900001111.c")
    assert response.status_code == 401
    assert _archive_phone(family["retiree"].id) == "13812345678"


@pytest.mark.parametrize(("code", "status", "error"), [
    ("invalid-code", 400, "phone_code_invalid"),
    ("phone-85291234567.x", 422, "phone_not_mainland"),
    ("phone-12345.x", 422, "phone_not_mainland"),
])
def test_bad_codes_change_nothing(client, family, wechat_sandbox, code, status, error):
    response = _phone(client, family["me"], code)
    assert response.status_code == status and response.get_json()["error"]["code"] == error
    assert _archive_phone(family["retiree"].id) == "13812345678"
    assert db.session.get(Account, family["accounts"]["me"].id).phone_enc is None


def test_a_used_code_is_refused(client, family, wechat_sandbox):
    assert _phone(client, family["me"], "phone-13900001111.once").status_code == 200
    again = _phone(client, family["me"], "phone-13900001111.once")
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "phone_code_invalid"


def test_wechat_down_is_a_503_with_retry_after(client, family, wechat_sandbox):
    wechat_sandbox.fail("getuserphonenumber", -1)
    response = _phone(client, family["me"], "phone-13900001111.down")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "wechat_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert _archive_phone(family["retiree"].id) == "13812345678"
