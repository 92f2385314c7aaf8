"""Activities, meetings and feedback replies in a real browser (Playwright driving Debian's chromium)."""
from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.domain import clock
from app.domain.evaluation import feedback
from app.domain.events import activities
from app.extensions import db
from app.models import Account, Retiree
from app.models.evaluation import FeedbackTicket
from app.models.events import ActivityRegistration, Meeting, MeetingMaterial
from app.models.messaging import Notification
from tests.support.api import bind, make_account
from tests.support.factories import make_retiree, make_staff, make_tree

pytestmark = pytest.mark.browser

PASSWORD = "Zigong-2027"
PDF = b"%PDF-1.4\n% 2027 policy briefing\n" + b"0" * 300
# For a human look at the layout after a run: $TMPDIR/events_*.png.
SHOTS = Path(tempfile.gettempdir())


@pytest.fixture
def world(app, live_server, tmp_path):
    """A region tree with a community worker, a street admin and two retirees, committed for the server."""
    live_server.app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    with live_server.app.app_context():
        tree = make_tree()
        make_staff("community_worker", tree["community_a"], username="worker", password=PASSWORD)
        make_staff("community_worker", tree["community_a2"], username="worker2", password=PASSWORD)
        make_staff("street_admin", tree["street_a"], username="street", password=PASSWORD)
        first = make_retiree(tree["community_a"], name="林淑芬")
        second = make_retiree(tree["community_a"], name="王建华")
        account = make_account()
        bind(account, first)
        db.session.commit()
        ids = {"first": first.id, "second": second.id, "account": account.id,
               "community_a": tree["community_a"].id, "street_a": tree["street_a"].id}
        db.session.remove()
    return ids


def _login(page, username: str) -> None:
    page.goto(page.base_url + "/staff/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(page.base_url + "/staff/")


def _local_tomorrow_at(hour: int) -> datetime:
    tomorrow = clock.local_now().date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, hour, tzinfo=clock.SERVICE_ZONE)


def test_create_activity_and_mark_attendance(page, live_server, world):
    starts = _local_tomorrow_at(9)
    _login(page, "worker")
    page.get_by_role("link", name="文体活动").click()
    page.get_by_test_id("new-activity").click()
    page.get_by_label("活动名称").fill("重阳节登高")
    page.get_by_label("地点", exact=True).fill("釜溪河滨江步道")
    page.get_by_label("开始时间").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("结束时间").fill((starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("名额").fill("1")
    page.get_by_role("button", name="发布").click()
    expect(page.get_by_test_id("activity-title")).to_have_text("重阳节登高")
    expect(page.get_by_test_id("seats")).to_have_text("已报 0 / 共 1")
    activity_url = page.url

    with live_server.app.app_context():
        activity_id = int(activity_url.rstrip("/").rsplit("/", 1)[1])
        first = db.session.get(Retiree, world["first"])
        seated = activities.register(None, first, activity_id).registration.id
        db.session.commit()
        second = db.session.get(Retiree, world["second"])
        waiting = activities.register(None, second, activity_id).registration.id
        db.session.commit()
        db.session.remove()

    page.reload()
    expect(page.get_by_test_id("seats")).to_have_text("已报 1 / 共 1")
    expect(page.get_by_test_id(f"status-{waiting}")).to_have_text("候补")
    expect(page.get_by_text("活动当天起可登记出席")).to_be_visible()

    with clock.frozen(starts + timedelta(hours=1)):
        page.reload()
        row = page.get_by_test_id(f"registration-{seated}")
        row.get_by_label("出席").check()
        expect(page.get_by_test_id(f"registration-{waiting}").get_by_label("出席")).to_have_count(0)
        page.get_by_test_id("save-attendance").click()
        expect(page.get_by_role("status")).to_contain_text("已保存出席登记（1 人有变化）")
        expect(page.get_by_test_id(f"status-{seated}")).to_have_text("已出席")
        page.screenshot(path=SHOTS / "events_activity.png", full_page=True)
    with live_server.app.app_context():
        assert db.session.get(ActivityRegistration, seated).status == "attended"
        db.session.remove()


def test_meeting_with_material_invitations_and_attendance(page, live_server, world, tmp_path):
    starts = _local_tomorrow_at(14)
    _login(page, "street")
    page.get_by_role("link", name="政策例会").click()
    page.get_by_test_id("new-meeting").click()
    page.get_by_label("例会主题").fill("第四季度社保政策例会")
    page.get_by_label("时间", exact=True).fill(starts.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("地点", exact=True).fill("街道办三楼会议室")
    page.get_by_label("议程").fill("1. 认证新规\n2. 重阳活动")
    page.get_by_role("button", name="创建").click()
    expect(page.get_by_test_id("meeting-title")).to_have_text("第四季度社保政策例会")

    material = tmp_path / "认证新规.pdf"
    material.write_bytes(PDF)
    page.get_by_test_id("material-file").set_input_files(str(material))
    page.get_by_role("button", name="上传材料").click()
    expect(page.get_by_test_id("materials")).to_contain_text("认证新规.pdf")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="认证新规.pdf").click()
    assert download_info.value.suggested_filename == "认证新规.pdf"

    page.get_by_test_id("invite-region").select_option(label="五星街街道")
    page.get_by_role("button", name="邀请该范围内的社区专干").click()
    expect(page.get_by_role("status")).to_contain_text("已邀请 2 名社区专干")
    expect(page.get_by_test_id("invitation-worker")).to_contain_text("未召开")

    with clock.frozen(starts + timedelta(hours=2)):
        page.reload()
        page.get_by_test_id("invitation-worker").get_by_label("出席").check()
        page.get_by_test_id("save-attendance").click()
        expect(page.get_by_role("status")).to_contain_text("已登记出席：1 / 2 人")
        rates = page.get_by_test_id("meeting-rates")
        expect(rates.locator("tr", has_text="光大街社区")).to_contain_text("100%")
        expect(rates.locator("tr", has_text="王井社区")).to_contain_text("0%")
        page.screenshot(path=SHOTS / "events_meeting.png", full_page=True)
    with live_server.app.app_context():
        meeting = db.session.scalar(select(Meeting))
        assert db.session.scalar(select(MeetingMaterial.meeting_id)) == meeting.id
        db.session.remove()


def test_overdue_feedback_is_highlighted_and_replied(page, live_server, world):
    with live_server.app.app_context():
        account = db.session.get(Account, world["account"])
        with clock.frozen(clock.now() - timedelta(days=5)):
            late = feedback.submit(account, "complaint", "上次走访迟到了两个小时", world["first"]).id
        fresh = feedback.submit(account, "question", "重阳活动还能报名吗？").id
        db.session.commit()
        db.session.remove()

    _login(page, "worker")
    page.get_by_role("link", name="意见反馈").click()
    expect(page.get_by_test_id("overdue-count")).to_have_text("1 件已超期")
    expect(page.get_by_test_id(f"ticket-{late}")).to_have_class("overdue")
    expect(page.get_by_test_id(f"ticket-{fresh}")).not_to_have_class("overdue")
    page.screenshot(path=SHOTS / "events_feedback.png", full_page=True)
    page.get_by_role("link", name="上次走访迟到了两个小时").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("待回复")
    page.get_by_label("回复").fill("非常抱歉，已调整走访安排，今后提前电话联系。")
    page.get_by_test_id("send-reply").click()
    expect(page.get_by_role("status")).to_contain_text("已回复")
    expect(page.get_by_test_id("ticket-status")).to_have_text("已回复")
    expect(page.get_by_test_id("ticket-reply")).to_have_text("非常抱歉，已调整走访安排，今后提前电话联系。")

    with live_server.app.app_context():
        assert db.session.get(FeedbackTicket, late).status == "replied"
        message = db.session.scalar(select(Notification).where(Notification.template_key == "feedback_reply"))
        assert message.account_id == world["account"]
        db.session.remove()
