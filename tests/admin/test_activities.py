"""Staff pages for activities: create, roster, attendance, and scoping."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import clock
from app.domain.events import activities
from app.extensions import db
from app.models.events import Activity, ActivityRegistration
from tests.support.events import new_activity
from tests.support.staff import login

pytestmark = pytest.mark.usefixtures("frozen_now", "fast_staff_passwords")


def _form(**overrides):
    starts = (clock.local_now() + timedelta(days=5)).replace(hour=9, minute=0)
    data = {"title": "重阳节登山", "kind": "double_ninth", "place": "釜溪河畔", "capacity": "30",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "signup_opens_at": "", "signup_closes_at": "", "description": "自带饮水"}
    data.update(overrides)
    return data


def test_worker_creates_an_activity_for_their_community(client, tree, people):
    login(client, people["worker_a"])
    page = client.get("/staff/activities/new")
    assert page.status_code == 200 and "光大街社区" in page.get_data(as_text=True)
    assert "建设社区" not in page.get_data(as_text=True)
    response = client.post("/staff/activities/new", data=_form(region_id=str(tree["community_a"].id)))
    assert response.status_code == 302, response.get_data(as_text=True)
    activity = db.session.scalar(select(Activity))
    assert activity.title == "重阳节登山" and activity.capacity == 30 and activity.kind == "double_ninth"
    assert activity.starts_at.astimezone(clock.SERVICE_ZONE).hour == 9
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "重阳节登山" in detail and "已报 0 / 共 30" in detail


def test_create_form_shows_field_errors(client, tree, people):
    login(client, people["worker_a"])
    past = (clock.local_now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/staff/activities/new", data=_form(region_id=str(tree["community_a"].id), starts_at=past))
    assert response.status_code == 400 and "开始时间应晚于现在" in response.get_data(as_text=True)
    response = client.post("/staff/activities/new", data=_form(region_id=str(tree["community_b"].id)))
    assert response.status_code == 400  # not one of the choices offered
    assert db.session.scalar(select(Activity)) is None


def test_pages_are_scoped_to_the_staff_members_subtree(client, tree, people):
    theirs = new_activity(people["worker_b"], tree["community_b"])
    assert client.get("/staff/activities").status_code == 302  # to the login page
    login(client, people["worker_a"])
    assert client.get(f"/staff/activities/{theirs.id}").status_code == 403
    assert client.post(f"/staff/activities/{theirs.id}/attendance", data={}).status_code == 403
    assert "建设社区" not in client.get("/staff/activities").get_data(as_text=True)


def test_helpers_have_no_activity_pages(client, tree, people):
    login(client, people["helper_a"])
    assert client.get("/staff/activities").status_code == 403
    assert client.get("/staff/activities/new").status_code == 403


def test_roster_and_attendance(client, tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"], starts_in=timedelta(days=1))
    registration = activities.register(people["account_a"], people["retiree_a"], activity.id).registration
    db.session.commit()
    login(client, people["worker_a"])
    page = client.get(f"/staff/activities/{activity.id}").get_data(as_text=True)
    assert "张桂芳" in page and "活动当天起可登记出席" in page and 'value="attended"' not in page
    with clock.frozen(clock.now() + timedelta(days=1)):
        page = client.get(f"/staff/activities/{activity.id}").get_data(as_text=True)
        assert f'name="mark-{registration.id}"' in page
        response = client.post(f"/staff/activities/{activity.id}/attendance",
                               data={f"mark-{registration.id}": "absent"})
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ActivityRegistration, registration.id).status == "absent"
