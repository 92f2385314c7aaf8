"""Campaign pages in a real browser: list → preview → approve → progress; pause/resume; the
offline list download."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from app.domain import clock
from app.domain.campaigns import holidays, lifecycle
from app.extensions import db
from tests.support.api import bind, make_account
from tests.support.campaigns import GREETING, give_credit
from tests.support.factories import make_retiree, make_staff, make_tree

pytestmark = pytest.mark.browser

PASSWORD = "Zigong-2026"


@pytest.fixture
def world(app, live_server):
    """Street A with three retirees: two reachable by WeChat with consent, one with no binding;
    a holiday draft made by the planner; a street admin."""
    with live_server.app.app_context():
        tree = make_tree()
        admin = make_staff("street_admin", tree["street_a"], username="street", password=PASSWORD)
        for i, name in enumerate(("林淑芬", "王建华")):
            retiree = make_retiree(tree["community_a"], name=name)
            account = make_account(f"openid-browser-{i}")
            bind(account, retiree)
            give_credit(account)
        make_retiree(tree["community_a2"], name="赵大爷", phone="13912345678")
        with clock.frozen(holidays.double_ninth(clock.today().year + 1) - timedelta(days=10)):
            draft_id = holidays.plan_holiday_campaigns().created[0]
        scheduled = lifecycle.create_campaign(
            admin, name="社保政策宣传", template_key="holiday_greeting", data=dict(GREETING),
            region=tree["street_a"], categories=[], include_retirees=True, include_relatives=False,
            send_at=clock.now() + timedelta(days=2))
        db.session.commit()
        ids = {"draft": draft_id, "scheduled": scheduled.id}
        db.session.remove()
    return ids


def _login(page) -> None:
    page.goto(page.base_url + "/staff/login")
    page.get_by_label("用户名").fill("street")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(page.base_url + "/staff/")


def test_list_preview_approve_progress_and_offline_download(page, live_server, world, wechat_sandbox, tmp_path):
    from workers import campaigns as campaign_jobs

    _login(page)
    page.get_by_role("link", name="消息活动").click()
    expect(page.get_by_test_id(f"campaign-status-{world['draft']}")).to_have_text("草稿")
    page.get_by_role("link", name="重阳节慰问（五星街街道）").click()
    expect(page.get_by_test_id("preview-retirees")).to_have_text("3")
    expect(page.get_by_test_id("preview-consent")).to_have_text("2")
    expect(page.get_by_test_id("preview-offline")).to_have_text("1")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("已审核待发送")  # waits for the festival
    expect(page.get_by_test_id("progress-queued")).to_have_text("0")
    with live_server.app.app_context():  # the festival morning: the periodic tick starts it (inline jobs)
        from app.models.messaging import Campaign

        send_at = db.session.get(Campaign, world["draft"]).send_at
        db.session.commit()  # SQLite: our read transaction would block the tick's writes
        with clock.frozen(send_at + timedelta(minutes=1)):
            assert campaign_jobs.tick()["started"] == 1
        db.session.remove()
    page.reload()
    expect(page.get_by_test_id("campaign-status")).to_have_text("发送中")
    expect(page.get_by_test_id("progress-sent")).to_have_text("2")
    expect(page.get_by_test_id("progress-offline")).to_have_text("1")
    assert wechat_sandbox.stats()["accepted"] == 2

    with page.expect_download() as info:
        page.get_by_test_id("offline-download").click()
    path = tmp_path / "offline.xlsx"
    info.value.save_as(path)
    rows = list(load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("姓名", "身份证号（脱敏）", "联系电话")
    assert [(r[0], r[2], r[4], r[5]) for r in rows[1:]] == [("赵大爷", "13912345678", "王井社区", "未绑定微信")]


def test_pause_and_resume(page, world):
    _login(page)
    page.goto(page.base_url + f"/staff/campaigns/{world['scheduled']}")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("已审核待发送")
    page.get_by_test_id("pause").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("已暂停")
    expect(page.get_by_test_id("pause")).to_have_count(0)
    page.get_by_test_id("resume").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("已审核待发送")
    page.get_by_role("link", name="‹ 消息活动").click()
    expect(page.get_by_test_id(f"campaign-status-{world['scheduled']}")).to_have_text("已审核待发送")


def test_create_a_campaign_in_the_form(page, world):
    _login(page)
    page.goto(page.base_url + "/staff/campaigns")
    page.get_by_test_id("new-campaign").click()
    page.get_by_label("活动名称").fill("高龄老人重阳问候")
    page.get_by_label("节日").fill("重阳节")
    page.get_by_label("祝福").fill("九九重阳，福寿安康")
    page.get_by_label("慰问单位").fill("五星街街道")
    page.get_by_label("日期").fill(f"{date.today().year + 1}年10月1日")
    page.get_by_label("高龄").check()
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_test_id("campaign-name")).to_have_text("高龄老人重阳问候")
    expect(page.get_by_test_id("campaign-status")).to_have_text("草稿")
    expect(page.get_by_test_id("preview")).to_be_visible()
