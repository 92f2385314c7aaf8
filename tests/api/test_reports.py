"""POST/GET /api/v1/reports end to end: every report type, idempotency, and every denial."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Retiree
from app.models.cases import HardshipCase, Report
from app.models.tasks import VisitTask
from tests.support.cases import TODAY, notifications, post_report

pytestmark = pytest.mark.usefixtures("frozen_clock")

HOSPITAL = {"type": "hospitalization", "hospital": "自贡市第一人民医院", "ward": "心内科 12 床",
            "admitted_on": "2025-03-09", "note": "急性心梗，已脱离危险"}


def body(retiree, **overrides):
    return {**HOSPITAL, "retiree_id": retiree.id, **overrides}


def test_hospitalization_creates_a_hospital_visit_task_due_in_three_days(api, family):
    response = post_report(api, family.son_headers, body(family.retiree))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["type"] == "hospitalization" and data["status"] == "received"
    assert data["task"]["kind"] == "hospital_visit"
    assert data["task"]["due_on"] == (TODAY + timedelta(days=3)).isoformat()
    task = db.session.get(VisitTask, data["task"]["id"])
    assert (task.source_type, task.source_id) == ("report", data["id"])
    assert task.community_id == family.retiree.community_id and "心内科" in task.note
    assert [n.account_id for n in notifications("report_received")] == [family.son.id]


def test_hospital_visit_deadline_is_configurable(app, api, family):
    app.config["HOSPITAL_VISIT_DUE_DAYS"] = 1
    try:
        data = post_report(api, family.son_headers, body(family.retiree)).get_json()
    finally:
        app.config["HOSPITAL_VISIT_DUE_DAYS"] = 3
    assert data["task"]["due_on"] == (TODAY + timedelta(days=1)).isoformat()


def test_second_report_of_the_same_stay_joins_the_open_task(api, family):
    first = post_report(api, family.son_headers, body(family.retiree)).get_json()
    second = post_report(api, family.me_headers, body(family.retiree, note="我自己也报一下")).get_json()
    assert second["id"] != first["id"]
    assert second["task"]["id"] == first["task"]["id"]
    assert db.session.query(VisitTask).filter_by(kind="hospital_visit").count() == 1


def test_death_report_changes_nothing_irreversible(api, family):
    response = post_report(api, family.son_headers,
                           {"type": "death", "retiree_id": family.retiree.id, "died_on": "2025-03-08"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "received" and response.get_json()["task"] is None
    retiree = db.session.get(Retiree, family.retiree.id)
    assert retiree.life_status == "death_reported"
    assert retiree.pension_status == "normal" and retiree.died_on is None
    assert db.session.query(VisitTask).count() == 0


def test_hardship_report_opens_a_case_for_assessment(api, family):
    response = post_report(api, family.me_headers, {"type": "hardship", "retiree_id": family.retiree.id,
                                                    "description": "老伴去世后独居，医药费负担重"})
    assert response.status_code == 201
    case = db.session.get(HardshipCase, response.get_json()["hardship_case_id"])
    assert case.status == "open" and case.assessment is None and "医药费" in case.description
    again = post_report(api, family.son_headers, {"type": "hardship", "retiree_id": family.retiree.id,
                                                  "description": "房屋漏雨"}).get_json()
    assert again["hardship_case_id"] == case.id  # one open case per retiree
    db.session.refresh(case)
    assert "房屋漏雨" in case.description


def test_home_certification_report_delegates_to_certification(api, family):
    from app.domain.certification import certify

    certify.record_certification(family.retiree, TODAY - timedelta(days=335), "on_site")
    db.session.commit()
    response = post_report(api, family.me_headers, {"type": "home_certification", "retiree_id": family.retiree.id,
                                                    "note": "行动不便"})
    assert response.status_code == 201, response.get_json()
    task = db.session.get(VisitTask, response.get_json()["task"]["id"])
    assert task.kind == "home_certification" and task.retiree_id == family.retiree.id


def test_home_certification_not_due_is_refused_without_a_report(api, family):
    from app.domain.certification import certify

    certify.record_certification(family.retiree, TODAY - timedelta(days=10), "on_site")
    db.session.commit()
    response = post_report(api, family.me_headers, {"type": "home_certification", "retiree_id": family.retiree.id})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "not_due"
    assert db.session.query(Report).count() == 0


def test_same_key_same_body_returns_the_original_report(api, family):
    first = post_report(api, family.son_headers, body(family.retiree), key="k-123")
    replay = post_report(api, family.son_headers, body(family.retiree), key="k-123")
    assert first.status_code == 201 and replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    assert db.session.query(Report).count() == 1
    assert db.session.query(VisitTask).count() == 1
    assert len(notifications("report_received")) == 1


def test_same_key_different_body_is_409(api, family):
    assert post_report(api, family.son_headers, body(family.retiree), key="k-9").status_code == 201
    response = post_report(api, family.son_headers, body(family.retiree, ward="骨科"), key="k-9")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert db.session.query(Report).count() == 1


def test_keys_belong_to_one_account(api, family):
    assert post_report(api, family.son_headers, body(family.retiree), key="shared").status_code == 201
    assert post_report(api, family.me_headers, body(family.retiree), key="shared").status_code == 201
    assert db.session.query(Report).count() == 2


def test_no_key_makes_a_new_report_each_time(api, family):
    post_report(api, family.son_headers, {"type": "hardship", "retiree_id": family.retiree.id, "description": "困难"})
    post_report(api, family.son_headers, {"type": "hardship", "retiree_id": family.retiree.id, "description": "困难"})
    assert db.session.query(Report).count() == 2


def test_bad_idempotency_key_is_400(api, family):
    response = post_report(api, family.son_headers, body(family.retiree), key="x" * 101)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]["fields"]


def test_no_token_is_401(api, family):
    response = api.post("/api/v1/reports", json=body(family.retiree))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"
    assert api.get("/api/v1/reports").status_code == 401


def test_unbound_account_is_403_and_nothing_is_written(api, family):
    response = post_report(api, family.stranger_headers, body(family.retiree))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "not_bound"
    assert db.session.query(Report).count() == 0 and db.session.query(VisitTask).count() == 0


def test_pending_binding_is_not_enough(api, family):
    from tests.support.api import bind

    bind(family.stranger, family.retiree, "other", status="pending")
    db.session.commit()
    assert post_report(api, family.stranger_headers, body(family.retiree)).status_code == 403


def test_missing_and_foreign_fields_are_400_with_field_messages(api, family):
    response = post_report(api, family.son_headers, {"type": "hospitalization", "retiree_id": family.retiree.id})
    assert response.status_code == 400
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"hospital", "admitted_on"}
    response = post_report(api, family.son_headers, {"type": "death", "retiree_id": family.retiree.id,
                                                     "died_on": "2025-03-01", "hospital": "某医院"})
    assert response.status_code == 400 and "hospital" in response.get_json()["error"]["fields"]
    response = post_report(api, family.son_headers, {"type": "flood", "retiree_id": family.retiree.id})
    assert response.status_code == 400 and "type" in response.get_json()["error"]["fields"]
    response = post_report(api, family.son_headers, body(family.retiree, admitted_on="2025-03-11"))
    assert response.status_code == 400 and "admitted_on" in response.get_json()["error"]["fields"]
    response = post_report(api, family.son_headers, body(family.retiree, retiree_id="7"))
    assert response.status_code == 400 and "retiree_id" in response.get_json()["error"]["fields"]
    assert db.session.query(Report).count() == 0


def test_list_shows_only_my_reports_with_status(api, family):
    post_report(api, family.son_headers, body(family.retiree))
    post_report(api, family.me_headers, {"type": "hardship", "retiree_id": family.retiree.id, "description": "困难"})
    mine = api.get("/api/v1/reports", headers=family.son_headers).get_json()
    assert mine["total"] == 1 and mine["items"][0]["type"] == "hospitalization"
    assert mine["items"][0]["status_label"] == "已受理"
    assert mine["items"][0]["created_at"].endswith("+08:00")
    assert api.get("/api/v1/reports", headers=family.stranger_headers).get_json()["total"] == 0


def test_someone_elses_report_is_404(api, family):
    report_id = post_report(api, family.son_headers, body(family.retiree)).get_json()["id"]
    assert api.get(f"/api/v1/reports/{report_id}", headers=family.son_headers).status_code == 200
    response = api.get(f"/api/v1/reports/{report_id}", headers=family.me_headers)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "report_not_found"


def test_reports_about_the_deceased_are_refused(api, family):
    retiree = db.session.get(Retiree, family.retiree.id)
    retiree.life_status, retiree.died_on = "deceased", TODAY - timedelta(days=3)
    db.session.commit()
    response = post_report(api, family.son_headers, body(family.retiree))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "retiree_deceased"
    response = post_report(api, family.son_headers, {"type": "death", "retiree_id": family.retiree.id,
                                                     "died_on": "2025-03-07"})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "already_deceased"
    assert db.session.query(Report).count() == 0


def test_openapi_documents_the_reports_routes(api):
    spec = api.get("/api/v1/openapi.json").get_json()
    post = spec["paths"]["/api/v1/reports"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert {"200", "201", "401", "403", "409"} <= set(post["responses"])


def test_concurrent_first_requests_with_one_key_make_one_report(app, family):
    import threading

    payload, headers = body(family.retiree), family.son_headers
    db.session.commit()
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def send():
        client = app.test_client()
        barrier.wait()
        response = post_report(client, headers, payload, key="race-1")
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    db.session.expire_all()
    assert sorted(statuses) == [200, 200, 200, 201]
    assert db.session.query(Report).count() == 1
    assert db.session.query(VisitTask).count() == 1
