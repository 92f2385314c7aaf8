"""Staff pages in a real browser (Playwright driving Debian's chromium)."""
from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.domain.archives import records
from app.extensions import db
from app.models import AuditEntry, Binding
from tests.support.api import bind, make_account
from tests.support.factories import make_id_number, make_retiree, make_staff, make_tree

pytestmark = pytest.mark.browser

PASSWORD = "Zigong-2024"
# For a human look at the layout (Chinese fonts, wrapping): $TMPDIR/staff_home.png after a run.
SCREENSHOT = Path(tempfile.gettempdir()) / "staff_home.png"


@pytest.fixture
def staff_world(app, live_server):
    """A community with retirees and one pending relative binding, committed for the server thread.

    `app` is requested for its set-up (tables created, Redis and rate limits cleared); the data is
    written in the live server's app so that its request threads read the same database.
    """
    with live_server.app.app_context():
        tree = make_tree()
        make_staff("community_worker", tree["community_a"], username="lihm", password=PASSWORD)
        target = make_retiree(tree["community_a"], name="林淑芬", birth=date(1941, 4, 12), gender="female",
                              categories=["lonely", "disabled"], phone="13981234567",
                              id_number=make_id_number(date(1941, 4, 12), "female"))
        for i, surname in enumerate("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高罗郑"):
            given = "建华秀英国强桂兰"[i % 4:i % 4 + 2]
            make_retiree(tree["community_a" if i % 3 else "community_a2"], name=surname + given,
                         categories=[["hardship"], ["model_worker"], [], ["serious_illness"]][i % 4])
        make_retiree(tree["community_b"], name="林外区")
        binding = bind(make_account(), target, relation="child", status="pending")
        db.session.commit()
        world = {"target_id": target.id, "masked": target.id_masked, "full": records.full_id_number(target),
                 "binding_id": binding.id}
        db.session.remove()
    return world


def _login(page, password: str) -> None:
    page.goto(page.base_url + "/staff/login")
    page.get_by_label("用户名").fill("lihm")
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_login_search_approve_binding_and_logout(page, live_server, staff_world):
    _login(page, "not-the-password")
    expect(page.get_by_test_id("login-error")).to_have_text("用户名或密码错误")
    expect(page).to_have_url(page.base_url + "/staff/login")

    _login(page, PASSWORD)
    expect(page).to_have_url(page.base_url + "/staff/")
    expect(page.get_by_test_id("region")).to_contain_text("光大街社区")
    expect(page.get_by_test_id("retiree-list")).to_contain_text("林淑芬")
    page.screenshot(path=SCREENSHOT, full_page=True)

    # Search by name: the row shows the masked ID, never the full one; other regions never appear.
    page.get_by_label("搜索退休人员").fill("林")
    page.get_by_role("button", name="搜索").click()
    rows = page.get_by_test_id("retiree-list").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("林淑芬")
    expect(rows.first).to_contain_text(staff_world["masked"])
    expect(rows.first).to_contain_text("高龄")
    expect(page.locator("body")).not_to_contain_text(staff_world["full"])
    expect(page.locator("body")).not_to_contain_text("林外区")

    # Approve the relative's binding: it leaves the list and is active in the database.
    row = page.locator(f'tr[data-binding-id="{staff_world["binding_id"]}"]')
    expect(row).to_contain_text("子女")
    row.get_by_role("button", name="同意").click()
    expect(page.locator(".flash.success")).to_contain_text("已同意林淑芬的子女绑定申请")
    expect(page.locator(f'tr[data-binding-id="{staff_world["binding_id"]}"]')).to_have_count(0)
    expect(page.get_by_label("搜索退休人员")).to_have_value("林")  # back where the worker was
    with live_server.app.app_context():
        assert db.session.get(Binding, staff_world["binding_id"]).status == "active"
        db.session.remove()

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(page.base_url + "/staff/login")
    expect(page.locator(".flash.success")).to_contain_text("您已安全退出")
    page.goto(page.base_url + "/staff/")
    expect(page).to_have_url(page.base_url + "/staff/login?next=%2Fstaff%2F")


def test_detail_page_reveals_full_id_once(page, live_server, staff_world):
    _login(page, PASSWORD)
    page.get_by_role("link", name="林淑芬").first.click()
    expect(page.get_by_test_id("masked-id")).to_have_text(staff_world["masked"])
    page.get_by_role("button", name="查看完整身份证号").click()
    expect(page.get_by_test_id("full-id")).to_have_text(staff_world["full"])
    page.goto(page.base_url + f"/staff/retirees/{staff_world['target_id']}")
    expect(page.get_by_test_id("masked-id")).to_have_text(staff_world["masked"])
    expect(page.locator("body")).not_to_contain_text(staff_world["full"])
    with live_server.app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retiree.view_full_id")).all()
        assert [(e.subject_type, e.subject_id) for e in entries] == [("retiree", staff_world["target_id"])]
        db.session.remove()
