"""Binding an account to a retiree archive: every happy path and every denial."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from app import create_app
from app.domain import clock
from app.domain.accounts import bindings
from app.domain.errors import Conflict, NotAuthorized, NotFound
from app.extensions import db
from app.models import AuditEntry, Binding
from tests.support.api import account_with_binding, auth_headers, bind, make_account
from tests.support.factories import make_id_number, make_retiree, make_staff


def _bind(client, headers, archive, relation="self", name=None, id_number=None):
    return client.post("/api/v1/bindings", headers=headers, json={
        "relation": relation, "name": name or archive.name,
        "id_number": id_number or archive.test_id_number})


def _new_headers():
    account = make_account()
    return account, auth_headers(account)


# ---- happy paths -----------------------------------------------------------------------------

def test_self_binding_is_active_at_once_and_shows_masked_summary(client, archive):
    account, headers = _new_headers()
    response = _bind(client, headers, archive)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "active" and body["relation"] == "self"
    assert body["retiree"] == {"id": archive.id, "name": "张桂芳", "community": "光大街社区",
                               "id_number": archive.test_id_number[:6] + "********" + archive.test_id_number[-4:]}
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert [b["id"] for b in me["bindings"]] == [body["id"]]
    assert me["bindings"][0]["retiree"]["id"] == archive.id
    assert client.get(f"/api/v1/retirees/{archive.id}", headers=headers).status_code == 200


def test_id_number_is_matched_after_normalization(client, archive):
    _, headers = _new_headers()
    spaced = archive.test_id_number[:6] + " " + archive.test_id_number[6:].lower()
    assert _bind(client, headers, archive, name=" 张 桂芳 ", id_number=spaced).status_code == 201


def test_relative_is_pending_until_the_retiree_approves(client, archive):
    self_account, self_headers = account_with_binding(archive)
    relative, rel_headers = _new_headers()

    created = _bind(client, rel_headers, archive, relation="child")
    assert created.status_code == 201
    binding = created.get_json()
    assert binding["status"] == "pending" and binding["retiree"] is None
    assert client.get(f"/api/v1/retirees/{archive.id}", headers=rel_headers).status_code == 403

    waiting = client.get("/api/v1/me", headers=self_headers).get_json()["pending_approvals"]
    assert [w["id"] for w in waiting] == [binding["id"]]

    approved = client.post(f"/api/v1/bindings/{binding['id']}/approve", headers=self_headers)
    assert approved.status_code == 200
    assert approved.get_json()["status"] == "active"
    assert client.get(f"/api/v1/retirees/{archive.id}", headers=rel_headers).status_code == 200
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "binding.approve"))
    assert (entry.actor_type, entry.actor_id, entry.subject_id) == ("account", self_account.id, binding["id"])


def test_retiree_rejects_a_relative(client, archive):
    _, self_headers = account_with_binding(archive)
    _, rel_headers = _new_headers()
    binding_id = _bind(client, rel_headers, archive, relation="spouse").get_json()["id"]
    response = client.post(f"/api/v1/bindings/{binding_id}/reject", headers=self_headers)
    assert response.status_code == 200 and response.get_json()["status"] == "rejected"
    assert client.get(f"/api/v1/retirees/{archive.id}", headers=rel_headers).status_code == 403
    again = client.post(f"/api/v1/bindings/{binding_id}/approve", headers=self_headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "binding_not_pending"


def test_staff_in_scope_approve_and_see_pending(client, tree, archive):
    other = make_retiree(tree["community_b"], name="李建国")
    db.session.commit()
    relative = make_account()
    mine = bindings.create_binding(relative, "child", "张桂芳", archive.test_id_number)
    theirs = bind(make_account(), other, relation="other", status="pending")
    db.session.commit()
    street = make_staff("street_admin", tree["street_a"])
    db.session.commit()

    assert [b.id for b in bindings.pending_for_staff(street)] == [mine.id]
    city = make_staff("agency_admin", tree["city"])
    assert {b.id for b in bindings.pending_for_staff(city)} == {mine.id, theirs.id}

    approved = bindings.approve_by_staff(street, mine.id)
    db.session.commit()
    assert approved.status == "active" and approved.approved_by_staff_id == street.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "binding.approve"))
    assert (entry.actor_type, entry.actor_id) == ("staff", street.id)
    headers = auth_headers(relative)
    assert client.get(f"/api/v1/retirees/{archive.id}", headers=headers).status_code == 200
    assert bindings.pending_for_staff(street) == []


def test_staff_reject(tree, archive):
    pending = bindings.create_binding(make_account(), "other", "张桂芳", archive.test_id_number)
    worker = make_staff("community_worker", tree["community_a"])
    assert bindings.reject_by_staff(worker, pending.id).status == "rejected"
    with pytest.raises(Conflict):
        bindings.approve_by_staff(worker, pending.id)


# ---- denials -----------------------------------------------------------------------------------

def test_no_token_garbage_token_and_expired_token_are_401(client, archive):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer " + "x" * 5000}):
        response = _bind(client, headers, archive)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "not_authenticated"
    with clock.frozen(date(2025, 1, 1)):
        account = make_account()
        headers = auth_headers(account)
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        clock.advance(timedelta(days=31))
        assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_name_mismatch_and_unknown_id_give_the_same_404(client, archive):
    _, headers = _new_headers()
    wrong_name = _bind(client, headers, archive, name="张桂花")
    unknown = _bind(client, headers, archive, id_number=make_id_number(date(1949, 1, 1), "male"))
    assert wrong_name.status_code == unknown.status_code == 404
    assert wrong_name.get_json() == unknown.get_json()
    assert wrong_name.get_json()["error"]["code"] == "archive_not_matched"
    assert db.session.scalar(select(Binding.id)) is None


def test_wrong_name_and_unknown_id_do_the_same_database_work(client, archive):
    """No timing oracle: both misses run the same statements (one keyed-hash lookup)."""
    _, headers = _new_headers()
    number = archive.test_id_number
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement.split()[0])

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        db.session.remove()
        assert _bind(client, headers, archive, name="张桂花", id_number=number).status_code == 404
        wrong_name = list(statements)
        statements.clear()
        db.session.remove()
        other = make_id_number(date(1949, 1, 1), "male")
        assert _bind(client, headers, archive, name="张桂芳", id_number=other).status_code == 404
        unknown = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert wrong_name == unknown and wrong_name


def test_deceased_retiree_cannot_be_bound(client, archive):
    archive.life_status = "deceased"
    db.session.commit()
    _, headers = _new_headers()
    response = _bind(client, headers, archive, relation="child")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "archive_not_matched"


def test_bad_id_number_is_400_with_field_message(client, archive):
    _, headers = _new_headers()
    bad = archive.test_id_number[:17] + ("0" if archive.test_id_number[17] != "0" else "1")
    response = _bind(client, headers, archive, id_number=bad)
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["id_number"] == "身份证号校验位不正确"


def test_second_active_self_binding_is_409(client, archive):
    _, first = _new_headers()
    assert _bind(client, first, archive).status_code == 201
    _, second = _new_headers()
    response = _bind(client, second, archive)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "already_bound"
    assert db.session.query(Binding).count() == 1


def test_same_account_cannot_bind_twice_or_be_self_of_two_archives(client, tree, archive):
    account, headers = _new_headers()
    assert _bind(client, headers, archive).status_code == 201
    again = _bind(client, headers, archive, relation="child")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "duplicate_binding"
    number = make_id_number(date(1952, 2, 2), "male")
    make_retiree(tree["community_a"], name="王大山", id_number=number)
    db.session.commit()
    other = client.post("/api/v1/bindings", headers=headers,
                        json={"relation": "self", "name": "王大山", "id_number": number})
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "self_already_bound"


def test_only_the_retirees_own_account_may_approve(client, tree, archive):
    _, self_headers = account_with_binding(archive)
    _, approved_relative = account_with_binding(archive, relation="spouse")
    _, asker = _new_headers()
    binding_id = _bind(client, asker, archive, relation="child").get_json()["id"]
    stranger_retiree = make_retiree(tree["community_b"], name="李建国")
    db.session.commit()
    _, stranger_self = account_with_binding(stranger_retiree)

    for headers in (approved_relative, asker, stranger_self):
        for action in ("approve", "reject"):
            response = client.post(f"/api/v1/bindings/{binding_id}/{action}", headers=headers)
            assert response.status_code == 403
            assert response.get_json()["error"]["code"] == "not_binding_approver"
    nonexistent = client.post("/api/v1/bindings/999999/approve", headers=self_headers)
    assert nonexistent.status_code == 403
    assert db.session.get(Binding, binding_id).status == "pending"


def test_staff_outside_the_subtree_or_helpers_cannot_approve(tree, archive):
    pending = bindings.create_binding(make_account(), "child", "张桂芳", archive.test_id_number)
    other_street = make_staff("street_admin", tree["street_b"])
    # Outside the subtree looks exactly like an unknown id: no probing of binding ids.
    with pytest.raises(NotFound) as denied:
        bindings.approve_by_staff(other_street, pending.id)
    assert denied.value.status == 404 and denied.value.code == "binding_not_found"
    with pytest.raises(NotFound):
        bindings.reject_by_staff(other_street, pending.id)
    assert bindings.pending_for_staff(other_street) == []
    helper = make_staff("helper", tree["community_a"])
    with pytest.raises(NotAuthorized):
        bindings.approve_by_staff(helper, pending.id)
    with pytest.raises(NotFound):
        bindings.approve_by_staff(make_staff("street_admin", tree["street_a"]), 999999)
    assert pending.status == "pending"


# ---- failed-attempt limit ---------------------------------------------------------------------

def test_sixth_failed_attempt_is_refused_even_when_correct(client, archive):
    _, headers = _new_headers()
    for _ in range(5):
        assert _bind(client, headers, archive, name="王五").status_code == 404
    refused = _bind(client, headers, archive)
    assert refused.status_code == 429
    body = refused.get_json()["error"]
    assert body["code"] == "too_many_attempts"
    assert 0 < int(refused.headers["Retry-After"]) <= 901 and body["retry_after"] == int(refused.headers["Retry-After"])
    assert db.session.scalar(select(Binding.id)) is None
    # Another account is not affected.
    _, other = _new_headers()
    assert _bind(client, other, archive).status_code == 201


def test_successes_do_not_count_and_the_window_reopens(client, tree, archive):
    with clock.frozen(date(2025, 3, 1)):
        account, headers = _new_headers()
        for _ in range(4):
            assert _bind(client, headers, archive, name="王五").status_code == 404
        assert _bind(client, headers, archive).status_code == 201  # success: still 4 failures
        assert _bind(client, headers, archive, name="王五").status_code == 404  # 5th failure
        assert _bind(client, headers, archive, relation="child").status_code == 429
        clock.advance(timedelta(minutes=16))
        # Fresh window: the attempt goes through to the rules again.
        assert _bind(client, headers, archive, relation="child").status_code == 409


def test_limit_holds_across_app_instances_sharing_redis(client, archive, base_overrides):
    account, headers = _new_headers()
    for _ in range(5):
        assert _bind(client, headers, archive, name="王五").status_code == 404
    db.session.remove()  # end this app's transaction (SQLite: one writer) before the other app runs
    second = create_app("testing", base_overrides)  # another "gunicorn worker": same DB, same Redis
    with second.app_context():
        response = second.test_client().post("/api/v1/bindings", headers=headers, json={
            "relation": "self", "name": "张桂芳", "id_number": archive.test_id_number})
        assert response.status_code == 429
        db.session.remove()


# ---- revocation ---------------------------------------------------------------------------------

def test_revoked_binding_loses_access_on_the_next_request(client, archive):
    _, headers = _new_headers()
    binding_id = _bind(client, headers, archive).get_json()["id"]
    assert client.get(f"/api/v1/retirees/{archive.id}", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/bindings/{binding_id}", headers=headers).status_code == 204
    denied = client.get(f"/api/v1/retirees/{archive.id}", headers=headers)
    assert denied.status_code == 403
    again = client.delete(f"/api/v1/bindings/{binding_id}", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "binding_not_live"
    # The archive is free for a new self binding.
    _, other = _new_headers()
    assert _bind(client, other, archive).status_code == 201


def test_retiree_may_revoke_a_relative_but_not_the_reverse(client, archive):
    self_account, self_headers = account_with_binding(archive)
    self_binding = db.session.scalar(select(Binding).where(Binding.account_id == self_account.id))
    relative, rel_headers = account_with_binding(archive, relation="child")
    rel_binding = db.session.scalar(select(Binding).where(Binding.account_id == relative.id))

    denied = client.delete(f"/api/v1/bindings/{self_binding.id}", headers=rel_headers)
    assert denied.status_code == 403
    _, stranger = _new_headers()
    assert client.delete(f"/api/v1/bindings/{rel_binding.id}", headers=stranger).status_code == 403
    assert client.delete("/api/v1/bindings/999999", headers=stranger).status_code == 403

    assert client.delete(f"/api/v1/bindings/{rel_binding.id}", headers=self_headers).status_code == 204
    assert client.get(f"/api/v1/retirees/{archive.id}", headers=rel_headers).status_code == 403
    assert client.get(f"/api/v1/retirees/{archive.id}", headers=self_headers).status_code == 200


# ---- the retiree's own view of relatives' bindings ---------------------------------------------

def _relatives_world(archive):
    me, son, daughter, stranger = (make_account() for _ in range(4))
    bind(me, archive, "self")
    bind(son, archive, "child")
    bind(daughter, archive, "child", status="pending")
    bind(stranger, archive, "other", status="revoked")
    son.phone_masked = "139****1111"
    db.session.commit()
    return {name: auth_headers(a) for name, a in
            (("me", me), ("son", son), ("daughter", daughter), ("stranger", stranger))}


def test_the_retiree_lists_relatives_bindings_with_who_asked(client, archive):
    headers = _relatives_world(archive)
    body = client.get(f"/api/v1/retirees/{archive.id}/bindings", headers=headers["me"]).get_json()
    assert body["total"] == 3
    assert sorted((b["relation"], b["status"]) for b in body["items"]) == [
        ("child", "active"), ("child", "pending"), ("other", "revoked")]
    assert {b["requester_phone"] for b in body["items"]} == {"139****1111", None}
    son = next(b for b in body["items"] if b["status"] == "active")
    assert client.delete(f"/api/v1/bindings/{son['id']}", headers=headers["me"]).status_code == 204
    assert client.get(f"/api/v1/retirees/{archive.id}", headers=headers["son"]).status_code == 403


@pytest.mark.parametrize("who", ["son", "daughter", "stranger"])
def test_only_the_retiree_sees_relatives_bindings(client, archive, who):
    headers = _relatives_world(archive)
    response = client.get(f"/api/v1/retirees/{archive.id}/bindings", headers=headers[who])
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_retiree_self"
    unknown = client.get("/api/v1/retirees/424242/bindings", headers=headers["me"])
    assert unknown.status_code == 403 and unknown.get_json() == response.get_json()
    assert client.get(f"/api/v1/retirees/{archive.id}/bindings").status_code == 401
