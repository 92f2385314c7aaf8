"""The masked retiree profile: only for an active binding, never the full ID number or phone."""
from __future__ import annotations

from app.extensions import db
from tests.support.api import account_with_binding, auth_headers, bind, make_account
from tests.support.factories import make_retiree


def test_bound_account_sees_the_masked_profile(client, archive):
    _, headers = account_with_binding(archive)
    response = client.get(f"/api/v1/retirees/{archive.id}", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "张桂芳"
    assert body["id_number"] == archive.test_id_number[:6] + "********" + archive.test_id_number[-4:]
    assert body["phone"] == "138****5678"
    assert body["community"] == {"code": "510302001001", "name": "光大街社区"}
    assert body["birth_date"] == "1948-05-06" and body["gender"] == "female"
    raw = response.get_data(as_text=True)
    assert archive.test_id_number not in raw
    assert archive.test_id_number[6:14] not in raw.replace("1948-05-06", "")
    assert "13812345678" not in raw


def test_unbound_nonexistent_and_pending_all_get_the_same_403(client, tree, archive):
    stranger = make_retiree(tree["community_b"], name="李建国")
    db.session.commit()
    _, headers = account_with_binding(stranger)
    pending = make_account()
    bind(pending, archive, relation="child", status="pending")
    pending_headers = auth_headers(pending)

    bodies = []
    for path, hdrs in ((f"/api/v1/retirees/{archive.id}", headers),
                       ("/api/v1/retirees/999999", headers),
                       (f"/api/v1/retirees/{2**31 - 1}", headers),
                       (f"/api/v1/retirees/{archive.id}", pending_headers)):
        response = client.get(path, headers=hdrs)
        assert response.status_code == 403, path
        bodies.append(response.get_json())
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["error"]["code"] == "not_bound"
    # Beyond the id column's range no row can exist: routing answers 404 before any lookup,
    # whoever asks, so it tells nothing about the archives.
    for big in (2**31, 2**63, 10**30):
        response = client.get(f"/api/v1/retirees/{big}", headers=headers)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_profile_needs_a_token(client, archive):
    response = client.get(f"/api/v1/retirees/{archive.id}")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"
