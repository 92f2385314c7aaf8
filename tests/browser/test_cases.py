"""Task queue with an empty visit and a visit record, death verification, and a hardship case
with a help record, in a real browser (Playwright driving Debian's chromium)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.domain import clock
from app.domain.cases import reports, visits
from app.extensions import db
from app.models import Retiree
from app.models.cases import CostLine, HardshipCase, HelpRecord, Report, VisitRecord
from app.models.tasks import VisitTask
from tests.support.api import bind, make_account
from tests.support.factories import make_retiree, make_staff, make_tree

pytestmark = pytest.mark.browser

PASSWORD = "Zigong-2027"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128


@pytest.fixture
def world(app, live_server, tmp_path):
    """community_a with a worker and a helper; a retiree whose son reported a hospital stay,
    a death and a hardship (each about a different retiree), plus one overdue task."""
    live_server.app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    with live_server.app.app_context():
        tree = make_tree()
        make_staff("community_worker", tree["community_a"], username="worker", password=PASSWORD)
        make_staff("helper", tree["community_a"], username="helper", password=PASSWORD)
        ill = make_retiree(tree["community_a"], name="林淑芬")
        dying = make_retiree(tree["community_a"], name="王建华")
        poor = make_retiree(tree["community_a"], name="陈桂兰")
        late = make_retiree(tree["community_a"], name="赵德明")
        son = make_account()
        for retiree in (ill, dying, poor):
            bind(son, retiree, "child")
        today = clock.today()
        hospital, _ = reports.file_report(son, {"type": "hospitalization", "retiree_id": ill.id,
                                                "hospital": "自贡市第一人民医院", "ward": "心内科",
                                                "admitted_on": today})
        death, _ = reports.file_report(son, {"type": "death", "retiree_id": dying.id,
                                             "died_on": today - timedelta(days=1)})
        hardship, _ = reports.file_report(son, {"type": "hardship", "retiree_id": poor.id,
                                                "description": "独居，医药费负担重"})
        overdue = visits.create_task("hardship_visit", late, today - timedelta(days=3))
        db.session.commit()
        ids = {"hospital_task": hospital.visit_task_id, "hospital_report": hospital.id, "death": death.id,
               "dying": dying.id, "case": hardship.hardship_case_id, "overdue": overdue.id}
        db.session.remove()
    return ids


def _login(page, username: str) -> None:
    page.goto(page.base_url + "/staff/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(page.base_url + "/staff/")


def test_task_queue_empty_visit_then_visit_record(page, live_server, world, tmp_path):
    _login(page, "worker")
    page.get_by_role("link", name="走访任务").click()
    expect(page.get_by_test_id(f"task-{world['overdue']}")).to_have_class("overdue")
    expect(page.get_by_test_id(f"overdue-{world['overdue']}")).to_have_text("已逾期")
    row = page.get_by_test_id(f"task-{world['hospital_task']}")
    expect(row).to_contain_text("住院探视")
    expect(row).to_contain_text("林淑芬")
    row.get_by_role("link", name="登记走访").click()
    expect(page.get_by_test_id("task-title")).to_have_text("住院探视 · 林淑芬")

    page.get_by_test_id("assignee-select").select_option(label="测试helper（光大街社区）")
    page.get_by_test_id("assign").click()
    expect(page.get_by_test_id("task-assignee")).to_have_text("测试helper")

    empty = page.get_by_test_id("empty-visit-form")
    empty.get_by_label("空访原因").fill("无人在家")
    empty.get_by_role("button", name="登记空访并安排再访").click()
    expect(page.locator(".flash.success")).to_contain_text("已登记空访")
    expect(page.get_by_test_id("task-title")).to_have_text("再次走访 · 林淑芬")
    expect(page.get_by_test_id(f"outcome-{world['hospital_task']}")).to_have_text("空访（无人在家）：无人在家")
    expect(page.get_by_test_id("task-assignee")).to_have_text("测试helper")

    # The helper now finds the revisit in their own queue and records the visit with a photo.
    page.get_by_test_id("logout").click()
    _login(page, "helper")
    page.get_by_role("link", name="走访任务").click()
    expect(page.get_by_test_id(f"task-{world['overdue']}")).to_have_count(0)
    page.get_by_role("link", name="登记走访").click()
    form = page.get_by_test_id("visit-form")
    form.get_by_label("情况记录").fill("病情稳定，家属陪护")
    photo = tmp_path / "visit.png"
    photo.write_bytes(PNG)
    form.get_by_label("现场照片").set_input_files(str(photo))
    expect(page.get_by_test_id("cost-amount-0")).to_have_value("50.00")
    form.get_by_role("button", name="保存走访记录").click()
    expect(page.locator(".flash.success")).to_contain_text("走访已登记")
    expect(page.get_by_test_id("task-status")).to_have_text("已完成")
    photo_link = page.locator("[data-testid^='photo-']")
    expect(photo_link).to_have_count(1)
    response = page.request.get(page.base_url + photo_link.get_attribute("href"))
    assert response.status == 200 and response.body() == PNG

    with live_server.app.app_context():
        report = db.session.get(Report, world["hospital_report"])
        assert report.status == "done"
        records = db.session.scalars(select(VisitRecord).order_by(VisitRecord.id)).all()
        assert [r.empty_visit for r in records] == [True, False] and records[1].photo_id is not None
        assert [(c.category, c.amount_fen) for c in db.session.scalars(select(CostLine))] == [("hospital_visit", 5000)]
        db.session.remove()


def test_death_verification(page, live_server, world):
    _login(page, "worker")
    page.get_by_role("link", name="去世核实").click()
    card = page.get_by_test_id(f"death-report-{world['death']}")
    expect(card).to_contain_text("王建华")
    expect(card).to_contain_text("已报死亡（待核实）")
    card.get_by_label("核实说明").fill("已与家属电话核实")
    card.get_by_role("button", name="核实去世").click()
    expect(page.locator(".flash.success")).to_contain_text("已核实 王建华 去世")
    expect(page.get_by_test_id("task-title")).to_have_text("吊唁抚慰 · 王建华")
    page.get_by_role("link", name="去世核实").click()
    expect(page.get_by_test_id("pending-count")).to_have_text("待核实 0")
    expect(page.get_by_test_id("decided")).to_contain_text("已与家属电话核实")

    with live_server.app.app_context():
        retiree = db.session.get(Retiree, world["dying"])
        assert (retiree.life_status, retiree.pension_status) == ("deceased", "stopped")
        task = db.session.scalar(select(VisitTask).where(VisitTask.kind == "condolence_visit"))
        assert task.retiree_id == world["dying"] and task.due_on == clock.today() + timedelta(days=2)
        db.session.remove()


def test_hardship_case_with_a_help_record(page, live_server, world):
    _login(page, "worker")
    page.get_by_role("link", name="特困帮扶").click()
    row = page.get_by_test_id(f"case-{world['case']}")
    expect(row).to_contain_text("待评估")
    row.get_by_role("link", name="查看").click()
    expect(page.get_by_test_id("case-title")).to_have_text("帮扶案例 · 陈桂兰")

    assess = page.get_by_test_id("assess-form")
    assess.get_by_label("评估意见").fill("符合特困条件，纳入帮扶")
    assess.get_by_label("复核周期（天）").fill("30")
    assess.get_by_role("button", name="保存评估").click()
    expect(page.get_by_test_id("assessment")).to_have_text("符合特困条件，纳入帮扶")
    expect(page.get_by_test_id("review-due")).to_have_text(str(clock.today() + timedelta(days=30)))

    page.get_by_test_id("helper-select").select_option(label="测试helper（光大街社区）")
    page.get_by_test_id("assign-helper").click()
    expect(page.get_by_test_id("helpers")).to_contain_text("测试helper")

    help_form = page.get_by_test_id("help-form")
    help_form.get_by_label("帮扶方式").select_option("money")
    help_form.get_by_label("金额（元）").fill("300")
    help_form.get_by_label("帮扶内容").fill("春节慰问金")
    help_form.get_by_role("button", name="保存帮扶记录").click()
    expect(page.locator(".flash.success")).to_contain_text("帮扶记录已保存")
    expect(page.get_by_test_id("money-total")).to_have_text("¥300.00")
    expect(page.get_by_test_id("help-records")).to_contain_text("春节慰问金")

    with live_server.app.app_context():
        case = db.session.get(HardshipCase, world["case"])
        assert case.assessment == "符合特困条件，纳入帮扶"
        record = db.session.scalar(select(HelpRecord))
        assert (record.kind, record.amount_fen) == ("money", 30000)
        db.session.remove()
