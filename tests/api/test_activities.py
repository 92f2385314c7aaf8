"""Activities through the mini-program API: listing, registering, the waitlist, cancelling, every denial."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain import clock
from app.domain.events import activities
from app.extensions import db
from app.models import Retiree
from app.models.events import Activity, ActivityRegistration
from app.models.messaging import Notification
from tests.support.api import account_with_binding, auth_headers, bind, make_account
from tests.support.events import new_activity
from tests.support.factories import make_retiree

pytestmark = pytest.mark.usefixtures("frozen_now", "fast_staff_passwords")


def _register(client, headers, activity_id, retiree_id):
    return client.post(f"/api/v1/activities/{activity_id}/registrations", headers=headers,
                       json={"retiree_id": retiree_id})


def _notifications(template_key: str, retiree_id: int | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.template_key == template_key)
    if retiree_id is not None:
        query = query.where(Notification.retiree_id == retiree_id)
    return list(db.session.scalars(query.order_by(Notification.id)))


# ---- listing -----------------------------------------------------------------------------------

def test_list_shows_activities_open_to_the_retirees_community_upcoming_first(client, tree, people):
    soon = new_activity(people["worker_a"], tree["community_a"], title="社区棋牌赛", starts_in=timedelta(days=2))
    later = new_activity(people["city"], tree["city"], title="全市重阳联欢", starts_in=timedelta(days=9))
    street = new_activity(people["street_a"], tree["street_a"], title="街道书画展", starts_in=timedelta(days=5))
    new_activity(people["worker_b"], tree["community_b"], title="建设社区合唱")  # not open to community_a
    new_activity(people["worker_a2"], tree["community_a2"], title="王井社区太极")  # sibling community
    with clock.frozen(clock.now() - timedelta(days=30)):
        past = new_activity(people["worker_a"], tree["community_a"], title="去年的活动")

    response = client.get(f"/api/v1/activities?retiree_id={people['retiree_a'].id}", headers=people["headers_a"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == [soon.id, street.id, later.id, past.id]
    assert body["total"] == 4
    first = body["items"][0]
    assert first["remaining"] == 10 and first["capacity"] == 10 and first["signup_open"] is True
    assert first["registration"] is None
    assert first["starts_at"].endswith("+08:00")
    assert body["items"][3]["signup_open"] is False


def test_list_is_paginated_and_shows_the_retirees_registration(client, tree, people):
    made = [new_activity(people["worker_a"], tree["community_a"], starts_in=timedelta(days=i + 1), title=f"活动{i}")
            for i in range(3)]
    reg = _register(client, people["headers_a"], made[1].id, people["retiree_a"].id)
    assert reg.status_code == 201
    page2 = client.get(f"/api/v1/activities?retiree_id={people['retiree_a'].id}&page=2&per_page=2",
                       headers=people["headers_a"]).get_json()
    assert [i["id"] for i in page2["items"]] == [made[2].id] and page2["total"] == 3
    page1 = client.get(f"/api/v1/activities?retiree_id={people['retiree_a'].id}&per_page=2",
                       headers=people["headers_a"]).get_json()
    assert page1["items"][1]["registration"]["status"] == "registered"
    assert page1["items"][1]["remaining"] == 9
    detail = client.get(f"/api/v1/activities/{made[1].id}?retiree_id={people['retiree_a'].id}",
                        headers=people["headers_a"]).get_json()
    assert detail["registration"]["id"] == reg.get_json()["id"]


def test_list_denials(client, tree, people):
    retiree_a = people["retiree_a"]
    assert client.get(f"/api/v1/activities?retiree_id={retiree_a.id}").status_code == 401
    response = client.get(f"/api/v1/activities?retiree_id={retiree_a.id}", headers=people["headers_b"])
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_bound"
    assert client.get("/api/v1/activities", headers=people["headers_a"]).status_code == 400
    activity = new_activity(people["worker_b"], tree["community_b"])
    response = client.get(f"/api/v1/activities/{activity.id}?retiree_id={retiree_a.id}", headers=people["headers_a"])
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "activity_not_open"
    pending = make_account()
    bind(pending, retiree_a, relation="child", status="pending")
    response = client.get(f"/api/v1/activities?retiree_id={retiree_a.id}", headers=auth_headers(pending))
    assert response.status_code == 403


# ---- registering -------------------------------------------------------------------------------

def test_register_takes_a_seat_and_sends_the_confirmation(client, tree, people):
    activity = new_activity(people["street_a"], tree["street_a"], capacity=2)
    response = _register(client, people["headers_a"], activity.id, people["retiree_a"].id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "registered" and body["position"] is None
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).registered == 1
    sent = _notifications("activity_registered", people["retiree_a"].id)
    assert len(sent) == 1 and sent[0].account_id == people["account_a"].id
    assert sent[0].data["activity"] == "重阳登高健步走" and sent[0].data["name"] == "张桂芳"
    assert sent[0].idempotency_key == f"activity_registered:{body['id']}"


def test_a_relative_may_register_on_the_retirees_behalf(client, tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"])
    relative, headers = account_with_binding(people["retiree_a"], relation="child")
    response = _register(client, headers, activity.id, people["retiree_a"].id)
    assert response.status_code == 201
    registration = db.session.get(ActivityRegistration, response.get_json()["id"])
    assert registration.registered_by_account_id == relative.id


def test_full_activity_puts_later_registrants_on_the_waitlist_in_order(client, tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"], capacity=1)
    assert _register(client, people["headers_a"], activity.id, people["retiree_a"].id).get_json()["status"] == \
        "registered"
    positions = []
    for name in ("王秀英", "刘德华"):
        retiree = make_retiree(tree["community_a"], name=name)
        _, headers = account_with_binding(retiree)
        response = _register(client, headers, activity.id, retiree.id)
        assert response.status_code == 201
        positions.append((response.get_json()["status"], response.get_json()["position"]))
    assert positions == [("waitlisted", 1), ("waitlisted", 2)]
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).registered == 1
    waitlisted_message = _notifications("activity_registered")[-1]
    assert waitlisted_message.data["activity"].startswith("【候补第2位】")


def test_registering_twice_is_409(client, tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"], capacity=1)
    assert _register(client, people["headers_a"], activity.id, people["retiree_a"].id).status_code == 201
    response = _register(client, people["headers_a"], activity.id, people["retiree_a"].id)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "already_registered"
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).registered == 1


def test_register_denials(client, tree, people):
    retiree_a = people["retiree_a"]
    open_here = new_activity(people["worker_a"], tree["community_a"])
    elsewhere = new_activity(people["worker_b"], tree["community_b"])
    assert client.post(f"/api/v1/activities/{open_here.id}/registrations",
                       json={"retiree_id": retiree_a.id}).status_code == 401
    response = _register(client, people["headers_b"], open_here.id, retiree_a.id)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_bound"
    response = _register(client, people["headers_a"], elsewhere.id, retiree_a.id)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "activity_not_open"
    assert _register(client, people["headers_a"], 999_999, retiree_a.id).status_code == 404
    response = client.post(f"/api/v1/activities/{open_here.id}/registrations", headers=people["headers_a"],
                           json={"retiree_id": "x"})
    assert response.status_code == 400 and "retiree_id" in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count(ActivityRegistration.id))) == 0


def test_signup_window_and_past_activities_are_422(client, tree, people):
    now = clock.now()
    not_yet = new_activity(people["worker_a"], tree["community_a"], signup_opens_at=now + timedelta(days=1))
    closed = new_activity(people["worker_a"], tree["community_a"], signup_opens_at=now - timedelta(days=2),
                          signup_closes_at=now - timedelta(hours=1))
    with clock.frozen(now - timedelta(days=3)):
        started = new_activity(people["worker_a"], tree["community_a"], starts_in=timedelta(days=3) - timedelta(
            minutes=5))
    codes = [_register(client, people["headers_a"], a.id, people["retiree_a"].id).get_json()["error"]["code"]
             for a in (not_yet, closed, started)]
    assert codes == ["signup_not_open", "signup_closed", "activity_past"]


def test_deceased_retiree_cannot_register(client, tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"])
    retiree = db.session.get(Retiree, people["retiree_a"].id)
    retiree.life_status = "deceased"
    db.session.commit()
    response = _register(client, people["headers_a"], activity.id, retiree.id)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "retiree_deceased"


# ---- cancelling --------------------------------------------------------------------------------

def test_cancel_frees_the_seat_and_promotes_the_first_waitlisted(client, tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"], capacity=1)
    first = _register(client, people["headers_a"], activity.id, people["retiree_a"].id).get_json()
    others = []
    for name in ("王秀英", "刘德华"):
        retiree = make_retiree(tree["community_a"], name=name)
        _, headers = account_with_binding(retiree)
        others.append((retiree, headers, _register(client, headers, activity.id, retiree.id).get_json()))
    response = client.delete(f"/api/v1/activities/{activity.id}/registrations/{first['id']}",
                             headers=people["headers_a"])
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    db.session.expire_all()
    promoted = db.session.get(ActivityRegistration, others[0][2]["id"])
    assert promoted.status == "registered" and promoted.promoted_at is not None
    assert db.session.get(ActivityRegistration, others[1][2]["id"]).status == "waitlisted"
    assert db.session.get(Activity, activity.id).registered == 1
    detail = client.get(f"/api/v1/activities/{activity.id}?retiree_id={others[1][0].id}",
                        headers=others[1][1]).get_json()
    assert detail["registration"]["position"] == 1
    promoted_messages = [n for n in _notifications("activity_registered", others[0][0].id)
                         if n.idempotency_key == f"activity_promoted:{promoted.id}"]
    assert len(promoted_messages) == 1 and promoted_messages[0].data["activity"] == "重阳登高健步走"
    # The cancelled retiree may register again: they join the line behind the others.
    again = _register(client, people["headers_a"], activity.id, people["retiree_a"].id).get_json()
    assert again["status"] == "waitlisted" and again["position"] == 2


def test_cancel_a_waitlisted_registration_keeps_the_seats(client, tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"], capacity=1)
    retiree = make_retiree(tree["community_a"], name="王秀英")
    _, headers = account_with_binding(retiree)
    _register(client, headers, activity.id, retiree.id)
    waiting = _register(client, people["headers_a"], activity.id, people["retiree_a"].id).get_json()
    response = client.delete(f"/api/v1/activities/{activity.id}/registrations/{waiting['id']}",
                             headers=people["headers_a"])
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).registered == 1


def test_cancel_denials(client, tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"])
    reg = _register(client, people["headers_a"], activity.id, people["retiree_a"].id).get_json()
    url = f"/api/v1/activities/{activity.id}/registrations/{reg['id']}"
    assert client.delete(url).status_code == 401
    assert client.delete(url, headers=people["headers_b"]).status_code == 403
    other = new_activity(people["worker_a"], tree["community_a"], title="另一活动")
    assert client.delete(f"/api/v1/activities/{other.id}/registrations/{reg['id']}",
                         headers=people["headers_a"]).status_code == 404
    assert client.delete(url, headers=people["headers_a"]).status_code == 200
    response = client.delete(url, headers=people["headers_a"])
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "not_cancellable"
    reg2 = _register(client, people["headers_a"], activity.id, people["retiree_a"].id).get_json()
    with clock.frozen(clock.now() + timedelta(days=8)):
        response = client.delete(f"/api/v1/activities/{activity.id}/registrations/{reg2['id']}",
                                 headers=people["headers_a"])
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "activity_past"


# ---- reminders ---------------------------------------------------------------------------------

def test_reminders_go_the_day_before_once(client, tree, people):
    tomorrow = new_activity(people["worker_a"], tree["community_a"], starts_in=timedelta(days=1, hours=1))
    next_week = new_activity(people["worker_a"], tree["community_a"], starts_in=timedelta(days=7))
    for activity in (tomorrow, next_week):
        _register(client, people["headers_a"], activity.id, people["retiree_a"].id)
    waiting_retiree = make_retiree(tree["community_a"], name="王秀英")
    _, headers = account_with_binding(waiting_retiree)
    cancelled = _register(client, headers, tomorrow.id, waiting_retiree.id).get_json()
    client.delete(f"/api/v1/activities/{tomorrow.id}/registrations/{cancelled['id']}", headers=headers)

    assert activities.send_reminders() == 1
    assert activities.send_reminders() == 0
    sent = _notifications("activity_reminder")
    assert len(sent) == 1 and sent[0].retiree_id == people["retiree_a"].id
    assert sent[0].data["activity"] == "重阳登高健步走"
    # A week later the other one is due, once.
    with clock.frozen(clock.now() + timedelta(days=6)):
        assert activities.send_reminders() == 1
        assert activities.send_reminders() == 0
    assert len(_notifications("activity_reminder")) == 2


def test_reminder_job_is_declared_daily_and_runs(client, tree, people):
    from workers import cron, events

    assert any(job.func == "workers.events.send_activity_reminders" and job.cron
               for job in cron.periodic_jobs(client.application))
    activity = new_activity(people["worker_a"], tree["community_a"], starts_in=timedelta(days=1))
    _register(client, people["headers_a"], activity.id, people["retiree_a"].id)
    db.session.commit()  # the job uses its own session; SQLite's BEGIN IMMEDIATE would wait for ours
    assert events.send_activity_reminders() == {"reminded": 1}
    assert events.send_activity_reminders() == {"reminded": 0}
