"""The roster check-in and the opening-hours/slots page in a real browser (Playwright + chromium)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.domain.archives import records
from app.domain.certification import booking
from app.extensions import db
from app.models.certification import Booking, CertificationRecord, Slot
from tests.support.certification import at, due_retiree, make_slot
from tests.support.factories import make_service_point, make_staff, make_tree

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("frozen_clock")]

PASSWORD = "Zigong-2025"


@pytest.fixture
def world(app, live_server):
    with live_server.app.app_context():
        tree = make_tree()
        make_staff("community_worker", tree["community_a"], username="worker", password=PASSWORD)
        point = make_service_point(tree["community_a"], code="SP-GDJ")
        db.session.commit()
        comes = due_retiree(tree["community_a"], name="王建国")
        absent = due_retiree(tree["community_a"], name="赵淑珍")
        walker = due_retiree(tree["community_a"], name="刘德明")
        slot = make_slot(point, at(0, hour=10), capacity=4)
        b1 = booking.book(None, comes, slot.id)
        b2 = booking.book(None, absent, slot.id)
        db.session.commit()
        ids = {"point": point.id, "b1": b1.id, "b2": b2.id, "comes": comes.id,
               "walker_number": records.full_id_number(walker), "walker": walker.id}
        db.session.remove()
    return ids


def _login(page, username: str) -> None:
    page.goto(page.base_url + "/staff/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(page.base_url + "/staff/")


def test_roster_check_in_and_walk_in(page, live_server, world):
    _login(page, "worker")
    page.get_by_role("link", name="资格认证").click()
    page.get_by_role("link", name="今日名单与签到").click()
    expect(page.get_by_test_id(f"booking-{world['b1']}")).to_contain_text("王建国")
    page.get_by_test_id(f"certify-{world['b1']}").click()
    expect(page.get_by_role("status")).to_contain_text("王建国：认证通过")
    expect(page.get_by_test_id(f"status-{world['b1']}")).to_have_text("已认证")
    page.get_by_test_id(f"no-show-{world['b2']}").click()
    expect(page.get_by_test_id(f"status-{world['b2']}")).to_have_text("未到")
    page.get_by_label("身份证号").fill(world["walker_number"])
    page.get_by_test_id("walk-in").click()
    expect(page.get_by_role("status")).to_contain_text("刘德明：现场认证已登记")
    expect(page.get_by_test_id("walk-ins")).to_contain_text("刘德明")
    with live_server.app.app_context():
        statuses = dict(db.session.execute(select(Booking.id, Booking.status)).all())
        assert statuses == {world["b1"]: "attended", world["b2"]: "no_show"}
        certified = set(db.session.scalars(select(CertificationRecord.retiree_id).where(
            CertificationRecord.certified_on == at(0).date())))
        assert certified == {world["comes"], world["walker"]}
        db.session.remove()


def test_opening_hours_and_slots(page, live_server, world):
    _login(page, "worker")
    page.goto(page.base_url + f"/staff/certification/points/{world['point']}")
    form = page.get_by_test_id("hours-form")
    form.get_by_label("星期").select_option(label="周二")
    form.get_by_label("开始").fill("14:00")
    form.get_by_label("结束").fill("16:00")
    form.get_by_label("每段分钟").fill("60")
    form.get_by_label("每段名额").fill("6")
    form.get_by_role("button", name="添加").click()
    expect(page.get_by_role("status")).to_contain_text("已添加开放时间")
    expect(page.get_by_test_id("hours")).to_contain_text("周二")
    opener = page.get_by_test_id("open-slots-form")
    opener.get_by_label("天数").fill("7")
    page.get_by_test_id("open-slots").click()
    expect(page.get_by_role("status")).to_contain_text("已开放 2 个时段")
    expect(page.get_by_test_id("upcoming")).to_contain_text("2025-03-11 周二")
    with live_server.app.app_context():
        capacities = db.session.scalars(select(Slot.capacity).where(Slot.capacity == 6)).all()
        assert capacities == [6, 6]
        db.session.remove()
