"""The API contract: the committed document is the generated one, and real answers of every
operation — successes and the errors clients must handle — match the document's schemas and
the error codes each operation lists.

Adding an operation without driving it here fails `test_every_operation_answers_as_documented`
(the set of operations seen must equal the document's).
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from openapi_spec_validator import validate

from app.api import api, docs
from app.domain.events import notices
from app.extensions import db
from app.models import Binding
from app.models.certification import Booking, Slot
from tests.support.api import auth_headers, bind, make_account
from tests.support.certification import at, due_retiree, make_slot
from tests.support.clock import NOW
from tests.support.contract import Contract
from tests.support.events import new_activity
from tests.support.factories import make_staff

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def document(app) -> dict:
    return api.spec.to_dict()


def test_committed_document_is_the_generated_one(document):
    committed = docs.DOCUMENT_PATH.read_text(encoding="utf-8") if docs.DOCUMENT_PATH.exists() else ""
    assert docs.render(document) == committed, (
        f"docs/openapi.json differs from the API's generated document. Regenerate it and commit the "
        f"change (client authors review it): {docs.REGENERATE}")


def test_document_is_valid_openapi_with_ids_and_types(document):
    validate(document)
    operations = [op for item in document["paths"].values() for method, op in item.items()
                  if method in ("get", "post", "put", "patch", "delete")]
    ids = [op.get("operationId") for op in operations]
    assert all(ids) and len(ids) == len(set(ids)), ids
    untyped = [f"{name}.{prop}" for name, schema in document["components"]["schemas"].items()
               for prop, spec in schema.get("properties", {}).items()
               if not ({"type", "$ref", "allOf", "oneOf", "anyOf"} & set(spec))]
    assert not untyped, f"properties without a type: {untyped}"


def test_every_list_has_the_one_page_shape(document):
    for path, item in document["paths"].items():
        op = item.get("get")
        if not op:
            continue
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        body = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
        assert body.get("type") != "array", f"{path} answers a bare array"
        if "items" in body.get("properties", {}):
            assert {"items", "page", "per_page", "total"} <= set(body["required"]), path
            names = {p["name"] for p in op.get("parameters", [])}
            assert {"page", "per_page"} <= names, f"{path} is a list without page/per_page"


def test_every_timestamp_is_documented_as_one_type(document):
    for name, schema in document["components"]["schemas"].items():
        for prop, spec in schema.get("properties", {}).items():
            if prop.endswith("_at"):
                assert spec.get("format") == "date-time", f"{name}.{prop}"


@pytest.fixture
def world(tree, point):
    staff = make_staff("community_worker", tree["community_a"], "worker-contract")
    retiree = due_retiree(tree["community_a"], name="赵淑珍", phone="13812345678")
    me, son, pending, stranger = make_account(), make_account(), make_account(), make_account()
    bind(me, retiree, "self")
    bind(son, retiree, "child")
    request = bind(pending, retiree, "spouse", status="pending")
    db.session.commit()
    open_slot = make_slot(point, at(1), capacity=3)
    full_slot = make_slot(point, at(2), capacity=1)
    full_slot.booked = 1
    past = make_slot(point, at(-3), capacity=2)
    attended = Booking(slot_id=past.id, retiree_id=retiree.id, status="attended", booked_by_account_id=me.id)
    db.session.add(attended)
    activity = new_activity(staff, tree["community_a"], signup_opens_at=NOW - timedelta(days=1),
                            signup_closes_at=NOW + timedelta(days=3))
    notices.publish(staff, title="2025 年资格认证安排", body="请于生日所在月份前完成认证。", kind="policy",
                    region=tree["community_a"])
    db.session.commit()
    return {"retiree": retiree, "me": auth_headers(me), "son": auth_headers(son), "pending": auth_headers(pending),
            "stranger": auth_headers(stranger), "request": request, "open_slot": open_slot, "full_slot": full_slot,
            "attended": attended, "activity": activity, "point": point}


def test_every_operation_answers_as_documented(client, document, world, wechat_sandbox):
    contract = Contract(document)
    w = world
    me, son, rid = w["me"], w["son"], w["retiree"].id

    def call(method, path, expected, headers=None, **kwargs):
        response = client.open(path, method=method, headers=headers or {}, **kwargs)
        assert response.status_code == expected, (method, path, response.get_data(as_text=True)[:500])
        contract.check(response)
        return response.get_json(silent=True)

    login = call("POST", "/api/v1/auth/login", 200, json={"code": "contract.1"})
    fresh = {"Authorization": f"Bearer {login['token']}"}
    call("POST", "/api/v1/auth/login", 400, json={"code": ""})
    call("GET", "/api/v1/me", 200, headers=me)
    call("GET", "/api/v1/me", 401)
    call("POST", "/api/v1/me/phone", 200, headers=me, json={"code": "phone-13900001111.c1"})
    call("POST", "/api/v1/me/phone", 400, headers=me, json={"code": "phone-13900001111.c1"})  # used
    binding = call("POST", "/api/v1/bindings", 404, headers=fresh,
                   json={"relation": "child", "name": "赵淑珍", "id_number": "110101194805060023"})
    assert binding["error"]["code"] == "archive_not_matched"
    call("GET", f"/api/v1/retirees/{rid}/bindings", 200, headers=me)
    call("GET", f"/api/v1/retirees/{rid}/bindings", 403, headers=son)
    call("POST", f"/api/v1/bindings/{w['request'].id}/reject", 200, headers=me)
    again = bind(db.session.get(Binding, w["request"].id).account, w["retiree"], "spouse", status="pending")
    db.session.commit()
    call("POST", f"/api/v1/bindings/{again.id}/approve", 200, headers=me)
    call("DELETE", f"/api/v1/bindings/{again.id}", 204, headers=me)
    call("POST", f"/api/v1/bindings/{again.id}/approve", 409, headers=me)
    call("GET", f"/api/v1/retirees/{rid}", 200, headers=son)
    call("GET", f"/api/v1/retirees/{rid}", 403, headers=w["stranger"])
    call("GET", f"/api/v1/retirees/{rid}/certification", 200, headers=me)
    call("GET", f"/api/v1/service-points?retiree_id={rid}", 200, headers=me)
    call("GET", f"/api/v1/slots?service_point_id={w['point'].id}", 200, headers=me)
    call("GET", "/api/v1/slots?service_point_id=2147483648", 400, headers=me)
    call("GET", f"/api/v1/slots?service_point_id={w['point'].id}&from=0001-01-01", 400, headers=me)
    booking = call("POST", "/api/v1/bookings", 201, headers=son, json={"slot_id": w["open_slot"].id, "retiree_id": rid})
    call("POST", "/api/v1/bookings", 409, headers=me, json={"slot_id": w["full_slot"].id, "retiree_id": rid})
    call("GET", "/api/v1/bookings", 200, headers=me)
    call("GET", "/api/v1/bookings?status=booked", 200, headers=son)
    call("POST", f"/api/v1/bookings/{booking['id']}/reschedule", 409, headers=me, json={"slot_id": w["full_slot"].id})
    entry = call("POST", "/api/v1/waitlist", 201, headers=me, json={"slot_id": w["full_slot"].id, "retiree_id": rid})
    call("POST", f"/api/v1/waitlist/{entry['id']}/accept", 409, headers=me)
    call("DELETE", f"/api/v1/waitlist/{entry['id']}", 200, headers=me)
    call("DELETE", f"/api/v1/bookings/{booking['id']}", 200, headers=me)
    call("POST", f"/api/v1/bookings/{booking['id']}/reschedule", 409, headers=me, json={"slot_id": w["open_slot"].id})
    call("POST", f"/api/v1/retirees/{rid}/home-certification", 201, headers=son, json={"note": "卧床，请下午上门"})
    report = call("POST", "/api/v1/reports", 201, headers=son, json={
        "type": "hospitalization", "retiree_id": rid, "hospital": "市第一人民医院", "admitted_on": "2025-03-09"})
    call("GET", "/api/v1/reports", 200, headers=son)
    call("GET", f"/api/v1/reports/{report['id']}", 200, headers=son)
    call("GET", f"/api/v1/reports/{report['id']}", 404, headers=me)
    activity = w["activity"].id
    call("GET", f"/api/v1/activities?retiree_id={rid}", 200, headers=me)
    registration = call("POST", f"/api/v1/activities/{activity}/registrations", 201, headers=me,
                        json={"retiree_id": rid})
    call("GET", f"/api/v1/activities/{activity}?retiree_id={rid}", 200, headers=me)
    call("DELETE", f"/api/v1/activities/{activity}/registrations/{registration['id']}", 200, headers=me)
    call("GET", f"/api/v1/notices?retiree_id={rid}", 200, headers=me)
    inbox = call("GET", "/api/v1/notifications", 200, headers=son)
    call("POST", f"/api/v1/notifications/{inbox['items'][0]['id']}/read", 200, headers=son)
    call("POST", "/api/v1/ratings", 201, headers=me,
         json={"subject_type": "booking", "subject_id": w["attended"].id, "score": 5, "comment": "很方便"})
    call("GET", "/api/v1/ratings", 200, headers=me)
    call("POST", "/api/v1/feedback", 201, headers=me, json={"category": "suggestion", "text": "希望增加周末时段"})
    call("GET", "/api/v1/feedback", 200, headers=me)
    call("GET", "/api/v1/subscriptions", 200, headers=me)
    call("POST", "/api/v1/subscriptions", 200, headers=me, json={"tmpl-unknown": "accept", "errMsg": "ok"})
    call("POST", "/api/v1/subscriptions", 400, headers=me)
    call("POST", "/api/v1/auth/logout", 204, headers=fresh)
    assert contract.seen == contract.operation_ids(), f"not driven: {contract.operation_ids() - contract.seen}"


def test_every_timestamp_answers_in_the_service_zone(client, world, wechat_sandbox):
    assert client.post("/api/v1/me/phone", headers=world["me"], json={"code": "phone-13812345678.z"}).status_code == 200
    for path in ("/api/v1/me", f"/api/v1/retirees/{world['retiree'].id}"):
        body = client.get(path, headers=world["me"]).get_data(as_text=True)
        stamps = _timestamps(body)
        assert stamps and all(s.endswith("+08:00") for s in stamps), (path, stamps)


def _timestamps(text: str) -> list[str]:
    return re.findall(r'"(\d{4}-\d\d-\d\dT[^"]+)"', text)


def test_a_slot_is_a_utc_instant_shown_in_local_time(client, world):
    slot: Slot = world["open_slot"]
    body = client.get(f"/api/v1/slots?service_point_id={world['point'].id}", headers=world["me"]).get_json()
    item = next(i for i in body["items"] if i["id"] == slot.id)
    assert datetime.fromisoformat(item["starts_at"]).astimezone(UTC) == slot.starts_at.astimezone(UTC)
    assert item["starts_at"].endswith("+08:00")


def test_the_contract_check_refuses_what_the_document_does_not_say(client, document):
    from flask.testing import FlaskClient

    assert FlaskClient.open.__name__ == "open_and_check"  # every API test's answers are checked
    strict = json.loads(json.dumps(document))
    strict["paths"]["/api/v1/me"]["get"]["responses"]["401"]["x-error-codes"] = []
    response = client.get("/api/v1/me")
    with pytest.raises(AssertionError, match="not_authenticated"):
        Contract(strict).check(response)
    del strict["paths"]["/api/v1/me"]["get"]["responses"]["401"]
    with pytest.raises(AssertionError, match="status not documented"):
        Contract(strict).check(response)
