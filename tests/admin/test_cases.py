"""Staff pages for tasks, visits, deaths, hardship, festivals and unit costs: flows and denials."""
from __future__ import annotations

import io
from datetime import date

import pytest

from app.domain import clock
from app.domain.cases import reports, visits
from app.extensions import db
from app.models import Retiree
from app.models.cases import CostLine, HardshipCase, Report, UnitCost, VisitRecord
from app.models.tasks import VisitTask
from tests.support.cases import TODAY

pytestmark = pytest.mark.usefixtures("frozen_clock")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def hospital_task(family) -> VisitTask:
    report, _ = reports.file_report(family.son, {"type": "hospitalization", "retiree_id": family.retiree.id,
                                                 "hospital": "市一医院", "ward": "3 病区", "admitted_on": TODAY})
    db.session.commit()
    return report.visit_task


def visit_form(staff, **extra):
    return {"visit-visited_at": "2025-03-10T08:30", "visit-visited_by": str(staff.id), "visit-outcome": "completed",
            "visit-notes": "精神尚可", "cost_category_0": "hospital_visit", "cost_amount_0": "50.00",
            "cost_category_1": "", "cost_amount_1": "", **extra}


def test_staff_must_log_in(api, family):
    task = hospital_task(family)
    for path in ("/staff/tasks", f"/staff/tasks/{task.id}", "/staff/deaths", "/staff/hardship", "/staff/festivals",
                 "/staff/costs"):
        response = api.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_queue_page_highlights_overdue_and_scopes(staff_client, family, case_staff):
    task = hospital_task(family)
    with clock.frozen(date(2025, 3, 20)):
        page = staff_client(case_staff.worker).get("/staff/tasks").get_data(as_text=True)
    assert f'data-testid="overdue-{task.id}"' in page and 'class="overdue"' in page
    assert "王秀英" not in staff_client(case_staff.other_worker).get("/staff/tasks").get_data(as_text=True)
    assert staff_client(case_staff.other_worker).get(f"/staff/tasks/{task.id}").status_code == 403
    helper_page = staff_client(case_staff.helper).get("/staff/tasks").get_data(as_text=True)
    assert "王秀英" not in helper_page
    assert staff_client(case_staff.helper).get(f"/staff/tasks/{task.id}").status_code == 403


def test_record_a_visit_with_photo_and_costs(app, staff_client, family, case_staff, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    task = hospital_task(family)
    client = staff_client(case_staff.worker)
    page = client.get(f"/staff/tasks/{task.id}").get_data(as_text=True)
    assert 'value="50.00"' in page  # prefilled from the unit cost
    response = client.post(f"/staff/tasks/{task.id}/visit", data={
        **visit_form(case_staff.worker), "visit-photo": (io.BytesIO(PNG), "visit.png")},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    record = db.session.query(VisitRecord).one()
    assert record.photo is not None and record.photo.content_type == "image/png"
    assert [(c.category, c.amount_fen) for c in db.session.query(CostLine)] == [("hospital_visit", 5000)]
    assert db.session.query(Report).one().status == "done"
    photo = client.get(f"/staff/visits/{record.id}/photo")
    assert photo.status_code == 200 and photo.data == PNG and "no-store" in photo.headers["Cache-Control"]
    assert staff_client(case_staff.other_worker).get(f"/staff/visits/{record.id}/photo").status_code == 403
    assert staff_client(case_staff.helper).get(f"/staff/visits/{record.id}/photo").status_code == 403
    again = client.post(f"/staff/tasks/{task.id}/visit", data=visit_form(case_staff.worker))
    assert again.status_code == 409


def test_visit_form_errors_are_shown_and_nothing_saved(app, staff_client, family, case_staff, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    task = hospital_task(family)
    client = staff_client(case_staff.worker)
    bad_photo = client.post(f"/staff/tasks/{task.id}/visit", data={
        **visit_form(case_staff.worker), "visit-photo": (io.BytesIO(b"GIF89a not allowed"), "x.gif")},
        content_type="multipart/form-data")
    assert bad_photo.status_code == 400 and "文件类型不支持" in bad_photo.get_data(as_text=True)
    bad_amount = client.post(f"/staff/tasks/{task.id}/visit", data=visit_form(case_staff.worker, cost_amount_0="-5"))
    assert bad_amount.status_code == 400 and "金额" in bad_amount.get_data(as_text=True)
    assert db.session.query(VisitRecord).count() == 0
    assert db.session.get(VisitTask, task.id).status == "open"


def test_empty_visit_page_schedules_a_revisit(staff_client, family, case_staff):
    task = hospital_task(family)
    visits.assign(case_staff.worker, task, case_staff.helper)
    db.session.commit()
    client = staff_client(case_staff.helper)
    response = client.post(f"/staff/tasks/{task.id}/empty-visit", data={
        "empty-visited_at": "2025-03-10T08:30", "empty-visited_by": str(case_staff.helper.id),
        "empty-reason": "无人在家"})
    assert response.status_code == 302
    revisit = db.session.query(VisitTask).filter_by(kind="revisit").one()
    assert response.headers["Location"].endswith(f"/staff/tasks/{revisit.id}")
    page = client.get(f"/staff/tasks/{revisit.id}").get_data(as_text=True)
    assert "空访（无人在家）：无人在家" in page and "2025-03-12" in page
    # A helper may not record in someone else's name, nor on tasks not theirs.
    other = visits.create_task("hardship_visit", family.retiree, TODAY)
    visits.assign(case_staff.worker, other, case_staff.helper2)
    db.session.commit()
    denied = client.post(f"/staff/tasks/{other.id}/visit", data=visit_form(case_staff.helper))
    assert denied.status_code == 403
    assert client.post(f"/staff/tasks/{revisit.id}/assign", data={"assignee": str(case_staff.helper.id)}).status_code \
        == 403


def test_assign_page(staff_client, family, case_staff):
    task = hospital_task(family)
    client = staff_client(case_staff.street)
    response = client.post(f"/staff/tasks/{task.id}/assign", data={"assignee": str(case_staff.helper.id)})
    assert response.status_code == 302
    assert db.session.get(VisitTask, task.id).assignee_id == case_staff.helper.id
    # Someone outside the community is not a valid choice.
    client.post(f"/staff/tasks/{task.id}/assign", data={"assignee": str(case_staff.other_worker.id)})
    assert db.session.get(VisitTask, task.id).assignee_id == case_staff.helper.id


def death_report(family) -> Report:
    report, _ = reports.file_report(family.son, {"type": "death", "retiree_id": family.retiree.id,
                                                 "died_on": date(2025, 3, 8)})
    db.session.commit()
    return report


def test_death_verification_page(staff_client, family, case_staff):
    report = death_report(family)
    client = staff_client(case_staff.worker)
    page = client.get("/staff/deaths").get_data(as_text=True)
    assert f'data-testid="death-report-{report.id}"' in page and "子女" in page
    response = client.post(f"/staff/deaths/{report.id}/verify", data={f"v{report.id}-died_on": "2025-03-08"})
    assert response.status_code == 302
    retiree = db.session.get(Retiree, family.retiree.id)
    assert retiree.life_status == "deceased" and retiree.pension_status == "stopped"
    condolence = db.session.query(VisitTask).filter_by(kind="condolence_visit").one()
    assert response.headers["Location"].endswith(f"/staff/tasks/{condolence.id}")
    twice = client.post(f"/staff/deaths/{report.id}/verify", data={f"v{report.id}-died_on": "2025-03-08"})
    assert twice.status_code == 409
    assert client.get("/staff/pension-stops").status_code == 200
    assert "王秀英" in staff_client(case_staff.agency).get("/staff/pension-stops").get_data(as_text=True)


def test_death_page_denials(staff_client, family, case_staff):
    report = death_report(family)
    assert staff_client(case_staff.helper).get("/staff/deaths").status_code == 403
    assert staff_client(case_staff.other_worker).post(f"/staff/deaths/{report.id}/verify",
                                                  data={f"v{report.id}-died_on": "2025-03-08"}).status_code == 403
    assert "王秀英" not in staff_client(case_staff.other_street).get("/staff/deaths").get_data(as_text=True)
    assert staff_client(case_staff.worker).post(f"/staff/deaths/{report.id}/reject",
                                            data={f"r{report.id}-reason": ""}).status_code == 400
    assert db.session.get(Retiree, family.retiree.id).life_status == "death_reported"
    assert staff_client(case_staff.worker).post(f"/staff/deaths/{report.id}/reject",
                                            data={f"r{report.id}-reason": "误报"}).status_code == 302
    assert db.session.get(Retiree, family.retiree.id).life_status == "alive"


def test_hardship_pages(staff_client, family, case_staff):
    from app.domain.archives import records

    client = staff_client(case_staff.worker)
    number = records.full_id_number(family.retiree)
    response = client.post("/staff/hardship/new", data={"id_number": number, "description": "独居困难"})
    assert response.status_code == 302
    case = db.session.query(HardshipCase).one()
    path = f"/staff/hardship/{case.id}"
    assert client.post(f"{path}/assess", data={"assess-assessment": "符合条件", "assess-review_days": "30"}
                       ).status_code == 302
    assert client.post(f"{path}/helpers", data={"helper-helper": str(case_staff.helper.id)}).status_code == 302
    helper = staff_client(case_staff.helper)
    assert helper.post(f"{path}/help", data={"help-kind": "money", "help-amount": "200",
                                             "help-helped_on": "2025-03-10"}).status_code == 302
    assert helper.post(f"{path}/close", data={"close-reason": "x"}).status_code == 403
    bad = client.post(f"{path}/help", data={"help-kind": "money", "help-amount": "", "help-helped_on": "2025-03-10"})
    assert bad.status_code == 400
    page = client.get(path).get_data(as_text=True)
    assert "¥200.00" in page and "符合条件" in page
    assert staff_client(case_staff.other_worker).get(path).status_code == 403
    assert staff_client(case_staff.helper2).get(path).status_code == 403
    assert client.post(f"{path}/close", data={"close-reason": "已脱困"}).status_code == 302
    assert db.session.get(HardshipCase, case.id).status == "closed"
    # An ID number outside the staff member's subtree finds nothing.
    outsider = staff_client(case_staff.other_worker).post("/staff/hardship/new",
                                                      data={"id_number": number, "description": "x"})
    assert outsider.status_code == 302 and db.session.query(HardshipCase).count() == 1


def test_festival_pages(staff_client, family, case_staff, tree):
    from app.models import RetireeCategory

    family.retiree.category_rows.append(RetireeCategory(category="lonely"))
    db.session.commit()
    client = staff_client(case_staff.street)
    with clock.frozen(date(2026, 1, 10)):
        page = client.get("/staff/festivals").get_data(as_text=True)
        assert "2026-02-17" in page and "丙午" in page
        assert client.post("/staff/festivals/generate", data={"year": "2026"}).status_code == 302
        page = client.get("/staff/festivals?year=2026").get_data(as_text=True)
        assert f'data-testid="percent-{tree["community_a"].code}">0.0%' in page
    assert staff_client(case_staff.helper).get("/staff/festivals").status_code == 403


def test_unit_cost_page(staff_client, case_staff, tree):
    client = staff_client(case_staff.street)
    page = client.get("/staff/costs").get_data(as_text=True)
    assert "服务包默认标准" in page and "50.00" in page
    assert client.post(f"/staff/costs/{tree['street_a'].id}", data={"category": "hospital_visit",
                                                                     "amount": "60"}).status_code == 302
    assert db.session.query(UnitCost).one().amount_fen == 6000
    assert staff_client(case_staff.worker).post(f"/staff/costs/{tree['community_a'].id}",
                                            data={"category": "hospital_visit", "amount": "1"}).status_code == 403
    assert client.get(f"/staff/costs?region={tree['community_b'].id}").status_code == 403
