"""Staff forms and query strings with hostile values: far-off dates, digits `int()` refuses,
control characters, and a meeting material larger than the app-wide body limit with CSRF on."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain import clock
from app.domain.evaluation import feedback
from app.domain.events import activities, meetings, notices
from app.extensions import db
from app.models.events import Activity, ActivityRegistration, MeetingInvitation, MeetingMaterial
from app.models.notices import Notice
from tests.support.events import new_activity
from tests.support.staff import PASSWORD, csrf_token_from, fresh_client, login

pytestmark = pytest.mark.usefixtures("frozen_now", "fast_staff_passwords")


def test_report_periods_survive_extreme_dates(tree, people):
    for date_from, date_to in ((date.min, date.max), (date(1, 1, 1), date(1, 1, 1)), (date.max, date.max)):
        assert activities.participation_by_region(tree["city"], date_from, date_to)["activities"] == 0
        assert feedback.satisfaction_by_region(tree["city"], date_from, date_to)["count"] == 0
        assert feedback.ticket_summary(tree["city"], date_from, date_to)["complaint"]["opened"] == 0
        assert notices.published_by_region(tree["city"], date_from, date_to) == {"policy": 0, "activity": 0}
        assert meetings.attendance_by_community(tree["city"], date_from=date_from, date_to=date_to) == []


def test_meeting_list_ignores_dates_it_cannot_use(app, tree, people):
    client = fresh_client(app)
    login(client, people["street_a"])
    for query in ("from=0001-01-01&to=9999-12-31", "from=9999-12-31", "to=0001-01-01", "from=2027-02-30",
                  "from=%00&to=%EF%BC%92"):
        response = client.get(f"/staff/meetings?{query}")
        assert response.status_code == 200, query


def _activity_form(region_id: int, **overrides) -> dict:
    starts = (clock.local_now() + timedelta(days=5)).replace(hour=9, minute=0)
    data = {"title": "重阳节登山", "kind": "double_ninth", "place": "釜溪河畔", "capacity": "30",
            "region_id": str(region_id), "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"), "description": ""}
    data.update(overrides)
    return data


def test_activity_form_refuses_far_off_times_and_control_characters(app, tree, people):
    client = fresh_client(app)
    login(client, people["worker_a"])
    region_id = tree["community_a"].id
    for overrides, message in (({"starts_at": "0001-01-01T00:00"}, "2000–2100"),
                               ({"ends_at": "9999-12-31T23:59"}, "2000–2100"),
                               ({"signup_opens_at": "0001-01-01T00:00"}, "2000–2100"),
                               ({"title": "重阳\x00登山"}, "控制字符"),
                               ({"capacity": "99999999999999999999"}, "名额")):
        response = client.post("/staff/activities/new", data=_activity_form(region_id, **overrides))
        assert response.status_code == 400, overrides
        assert message in response.get_data(as_text=True), overrides
    assert db.session.scalar(select(func.count(Activity.id))) == 0
    response = client.post("/staff/activities/new", data=_activity_form(region_id, description="第一行\n第二行"))
    assert response.status_code == 302


def test_notice_and_meeting_forms_refuse_control_characters(app, tree, people):
    client = fresh_client(app)
    login(client, people["street_a"])
    response = client.post("/staff/notices/new", data={"title": "通知\x07", "kind": "policy", "body": "正文",
                                                        "region_id": str(tree["street_a"].id)})
    assert response.status_code == 400 and "控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(select(Notice.id)) is None
    starts = (clock.local_now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/staff/meetings/new", data={"title": "例会", "starts_at": starts, "place": "会议室",
                                                         "region_id": str(tree["street_a"].id), "agenda": "\x00"})
    assert response.status_code == 400 and "控制字符" in response.get_data(as_text=True)
    response = client.post("/staff/meetings/new", data={"title": "例会", "starts_at": "0001-01-01T00:00",
                                                         "place": "会议室", "region_id": str(tree["street_a"].id)})
    assert response.status_code == 400


def test_attendance_forms_ignore_ids_int_cannot_read(app, tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"], starts_in=timedelta(hours=1))
    registration = activities.register(people["account_a"], people["retiree_a"], activity.id).registration
    meeting = meetings.create_meeting(people["street_a"], title="例会", starts_at=clock.now(), place="会议室",
                                      region=tree["street_a"])
    meetings.invite_region(people["street_a"], meeting.id, tree["community_a"])
    db.session.commit()
    worker, street = fresh_client(app), fresh_client(app)
    login(worker, people["worker_a"])
    login(street, people["street_a"])
    with clock.frozen(clock.now() + timedelta(hours=2)):
        response = worker.post(f"/staff/activities/{activity.id}/attendance",
                               data={"mark-²": "attended", f"mark-{2**40}": "attended", "mark-١": "attended",
                                     f"mark-{registration.id}": "attended"})
        assert response.status_code == 302
        response = street.post(f"/staff/meetings/{meeting.id}/attendance", data={"attended": ["²", str(2**40)]})
        assert response.status_code == 302
        response = street.post(f"/staff/meetings/{meeting.id}/invitations", data={"region_id": "²"})
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ActivityRegistration, registration.id).status == "attended"
    invitation = db.session.scalar(select(MeetingInvitation))
    assert invitation.attended is False and invitation.recorded_at is not None


def test_material_above_the_app_body_limit_uploads_with_csrf_on(app, csrf_app, tmp_path):
    """The upload raises its own body limit (20 MiB); the CSRF check must not parse the body first,
    under the app-wide limit, and answer 413."""
    from tests.support.factories import make_staff, make_tree

    csrf_app.config.update(UPLOAD_DIR=str(tmp_path / "uploads"), MAX_CONTENT_LENGTH=2048)
    tree = make_tree()
    admin = make_staff("street_admin", tree["street_a"], "street-admin")
    meeting = meetings.create_meeting(admin, title="例会", starts_at=clock.now() + timedelta(days=1),
                                      place="会议室", region=tree["street_a"])
    db.session.commit()
    client = fresh_client(csrf_app)
    page = client.get("/staff/login").get_data(as_text=True)
    response = client.post("/staff/login", data={"username": admin.username, "password": PASSWORD,
                                                 "csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    token = csrf_token_from(client.get(f"/staff/meetings/{meeting.id}").get_data(as_text=True))
    big_pdf = b"%PDF-1.4\n" + b"0" * 8192  # four times the app-wide limit, far below the material limit
    url = f"/staff/meetings/{meeting.id}/materials"
    refused = client.post(url, data={"file": (io.BytesIO(big_pdf), "a.pdf")}, content_type="multipart/form-data")
    assert refused.status_code == 400  # no token: still protected
    response = client.post(url, data={"file": (io.BytesIO(big_pdf), "政策解读.pdf"), "csrf_token": token},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert db.session.scalar(select(func.count(MeetingMaterial.id))) == 1
