"""Feedback tickets: submission, deadlines per category, who handles them, replies and their message."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import config
from app.domain import clock
from app.domain.errors import Conflict, NotAuthorized, NotFound
from app.domain.evaluation import feedback
from app.extensions import db
from app.models.evaluation import FeedbackTicket
from app.models.messaging import Notification
from tests.support.api import auth_headers, make_account
from tests.support.staff import login

pytestmark = pytest.mark.usefixtures("frozen_now", "fast_staff_passwords")


def _submit(client, headers, category="question", text="认证需要带什么材料？", **extra):
    return client.post("/api/v1/feedback", headers=headers, json={"category": category, "text": text, **extra})


def test_deadline_depends_on_the_category(client, tree, people):
    due = {}
    for category in ("complaint", "question", "suggestion"):
        response = _submit(client, people["headers_a"], category, retiree_id=people["retiree_a"].id)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["status"] == "open" and body["reply"] is None and body["reply_due_at"].endswith("+08:00")
        due[category] = db.session.get(FeedbackTicket, body["id"]).reply_due_at - clock.now()
    assert due == {"complaint": timedelta(days=3), "question": timedelta(days=5), "suggestion": timedelta(days=10)}


def test_deadlines_are_configurable(app, client, tree, people, monkeypatch):
    monkeypatch.setitem(app.config, "FEEDBACK_REPLY_DAYS_COMPLAINT", 1)
    body = _submit(client, people["headers_a"], "complaint", "活动室太冷").get_json()
    assert db.session.get(FeedbackTicket, body["id"]).reply_due_at == clock.now() + timedelta(days=1)


def test_submit_denials(client, tree, people):
    assert client.post("/api/v1/feedback", json={"category": "question", "text": "?"}).status_code == 401
    response = _submit(client, people["headers_a"], retiree_id=people["retiree_b"].id)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_bound"
    response = _submit(client, people["headers_a"], category="praise")
    assert response.status_code == 400 and "category" in response.get_json()["error"]["fields"]
    response = _submit(client, people["headers_a"], text="")
    assert response.status_code == 400 and "text" in response.get_json()["error"]["fields"]
    assert _submit(client, people["headers_a"], text="长" * 1001).status_code == 400
    assert db.session.scalar(select(FeedbackTicket.id)) is None


def test_which_community_handles_a_ticket(client, tree, people):
    about = _submit(client, people["headers_b"], retiree_id=people["retiree_b"].id).get_json()
    general = _submit(client, people["headers_b"]).get_json()
    unbound = make_account()
    anonymous = _submit(client, auth_headers(unbound)).get_json()
    tickets = {t.id: t for t in db.session.scalars(select(FeedbackTicket))}
    assert tickets[about["id"]].community_id == tree["community_b"].id
    assert tickets[general["id"]].community_id == tree["community_b"].id  # the account's bound retiree
    assert tickets[anonymous["id"]].community_id is None
    assert {t.id for t in feedback.tickets_for_staff(people["worker_b"]).items} == {about["id"], general["id"]}
    assert feedback.tickets_for_staff(people["worker_a"]).items == []
    assert feedback.tickets_for_staff(people["street_b"]).total == 2
    assert {t.id for t in feedback.tickets_for_staff(people["city"]).items} == \
        {about["id"], general["id"], anonymous["id"]}
    with pytest.raises(NotFound):
        feedback.get_for_staff(people["worker_a"], about["id"])
    with pytest.raises(NotFound):
        feedback.get_for_staff(people["street_b"], anonymous["id"])
    with pytest.raises(NotAuthorized):
        feedback.tickets_for_staff(people["helper_a"])


def test_reply_is_notified_and_visible_to_the_account_only(client, tree, people):
    ticket_id = _submit(client, people["headers_a"], retiree_id=people["retiree_a"].id).get_json()["id"]
    _submit(client, people["headers_b"], text="别人的反馈")
    with pytest.raises(NotFound):
        feedback.reply(people["worker_b"], ticket_id, "不是我管的")
    feedback.reply(people["worker_a"], ticket_id, "请携带身份证原件到社区服务站办理。")
    db.session.commit()
    with pytest.raises(Conflict):
        feedback.reply(people["worker_a"], ticket_id, "再回复一次")
    message = db.session.scalar(select(Notification).where(Notification.template_key == "feedback_reply"))
    assert message.account_id == people["account_a"].id and message.idempotency_key == f"feedback_reply:{ticket_id}"
    assert message.data["reply"].startswith("请携带身份证原件")
    listed = client.get("/api/v1/feedback", headers=people["headers_a"]).get_json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["status"] == "replied" and item["reply"] == "请携带身份证原件到社区服务站办理。" and item["replied_at"]
    assert client.get("/api/v1/feedback").status_code == 401


def test_feedback_list_is_newest_first_and_paginated(client, tree, people):
    ids = [_submit(client, people["headers_a"], text=f"问题{i}").get_json()["id"] for i in range(3)]
    page = client.get("/api/v1/feedback?per_page=2", headers=people["headers_a"]).get_json()
    assert [t["id"] for t in page["items"]] == [ids[2], ids[1]] and page["total"] == 3
    page2 = client.get("/api/v1/feedback?per_page=2&page=2", headers=people["headers_a"]).get_json()
    assert [t["id"] for t in page2["items"]] == [ids[0]]
    assert client.get("/api/v1/feedback?per_page=500", headers=people["headers_a"]).status_code == 400


def test_overdue_tickets_are_highlighted_and_replied_on_the_page(client, tree, people):
    late = _submit(client, people["headers_a"], "complaint", "走访人员态度不好").get_json()["id"]
    fresh = _submit(client, people["headers_a"], "suggestion", "希望多组织合唱").get_json()["id"]
    login(client, people["worker_a"])
    with clock.frozen(clock.now() + timedelta(days=4)):
        page = client.get("/staff/feedback").get_data(as_text=True)
        assert f'data-testid="ticket-{late}" class="overdue"' in page
        assert f'data-testid="ticket-{fresh}" class="overdue"' not in page and f'data-testid="ticket-{fresh}"' in page
        assert "1 件已超期" in page
        assert feedback.ticket_summary(tree["street_a"], clock.today() - timedelta(days=4),
                                       clock.today())["complaint"]["overdue"] == 1
        assert client.post(f"/staff/feedback/{late}/reply", data={"reply": ""}).status_code == 400
        response = client.post(f"/staff/feedback/{late}/reply", data={"reply": "已批评教育，向您致歉。"})
        assert response.status_code == 302
        detail = client.get(f"/staff/feedback/{late}").get_data(as_text=True)
        assert "已批评教育" in detail and "已回复" in detail
        assert client.post(f"/staff/feedback/{late}/close").status_code == 302
    db.session.expire_all()
    ticket = db.session.get(FeedbackTicket, late)
    assert ticket.status == "closed" and ticket.replied_by_id == people["worker_a"].id
    summary = feedback.ticket_summary(tree["street_a"], clock.today(), clock.today())
    assert summary["complaint"] == {"opened": 1, "replied_in_time": 0, "overdue": 0}
    assert summary["suggestion"] == {"opened": 1, "replied_in_time": 0, "overdue": 0}


def test_other_regions_ticket_pages_are_404(client, tree, people):
    ticket_id = _submit(client, people["headers_b"], retiree_id=people["retiree_b"].id).get_json()["id"]
    login(client, people["worker_a"])
    assert client.get(f"/staff/feedback/{ticket_id}").status_code == 404
    assert client.post(f"/staff/feedback/{ticket_id}/reply", data={"reply": "x"}).status_code == 404
    assert "认证需要带什么材料" not in client.get("/staff/feedback").get_data(as_text=True)


def test_reply_days_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("FEEDBACK_REPLY_DAYS_QUESTION", "2")
    settings = config.load("testing")
    assert (settings["FEEDBACK_REPLY_DAYS_QUESTION"], settings["FEEDBACK_REPLY_DAYS_COMPLAINT"],
            settings["FEEDBACK_REPLY_DAYS_SUGGESTION"]) == (2, 3, 10)
