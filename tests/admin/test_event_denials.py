"""Every staff page of this area, denied: without a login, to a role that may not use it, and to
staff of another region. One table, so a new page without a denial stands out."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from werkzeug.datastructures import FileStorage

from app.domain import clock
from app.domain.evaluation import feedback
from app.domain.events import meetings, notices
from app.extensions import db
from app.models import Binding
from tests.support.api import bind, make_account
from tests.support.events import new_activity
from tests.support.staff import fresh_client, login

pytestmark = pytest.mark.usefixtures("frozen_now", "fast_staff_passwords")

PDF = b"%PDF-1.4\n% material\n" + b"0" * 100


@pytest.fixture
def other_region(app, tree, people, tmp_path, monkeypatch):
    """Records of street_b / community_b, which street_a's and community_a's staff must not reach."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    activity = new_activity(people["worker_b"], tree["community_b"])
    meeting = meetings.create_meeting(people["street_b"], title="艾叶镇例会", starts_at=activity.starts_at,
                                      place="镇会议室", region=tree["street_b"])
    db.session.flush()
    material = meetings.add_material(people["street_b"], meeting.id, FileStorage(io.BytesIO(PDF), filename="a.pdf"))
    notice = notices.publish(people["street_b"], title="艾叶镇通知", body="正文", kind="policy",
                             region=tree["street_b"])
    ticket = feedback.submit(people["account_b"], "question", "问题", people["retiree_b"].id)
    binding = bind(make_account(), people["retiree_b"], relation="child", status="pending")
    db.session.commit()
    return {"activity": activity.id, "meeting": meeting.id, "material": material.id, "notice": notice.id,
            "ticket": ticket.id, "binding": binding.id, "retiree": people["retiree_b"].id}


# (method, url template); `{x}` are ids from `other_region`.
PAGES = [
    ("GET", "/staff/activities"), ("GET", "/staff/activities/new"), ("POST", "/staff/activities/new"),
    ("GET", "/staff/activities/{activity}"), ("POST", "/staff/activities/{activity}/attendance"),
    ("GET", "/staff/meetings"), ("GET", "/staff/meetings/new"), ("POST", "/staff/meetings/new"),
    ("GET", "/staff/meetings/{meeting}"), ("POST", "/staff/meetings/{meeting}/materials"),
    ("GET", "/staff/meetings/{meeting}/materials/{material}"), ("POST", "/staff/meetings/{meeting}/invitations"),
    ("POST", "/staff/meetings/{meeting}/attendance"),
    ("GET", "/staff/notices"), ("GET", "/staff/notices/new"), ("POST", "/staff/notices/new"),
    ("POST", "/staff/notices/{notice}/withdraw"),
    ("GET", "/staff/feedback"), ("GET", "/staff/feedback/{ticket}"), ("POST", "/staff/feedback/{ticket}/reply"),
    ("POST", "/staff/feedback/{ticket}/close"),
    ("GET", "/staff/"), ("POST", "/staff/bindings/{binding}/approve"), ("POST", "/staff/bindings/{binding}/reject"),
    ("GET", "/staff/retirees/{retiree}"), ("POST", "/staff/retirees/{retiree}/full-id"),
]
# What a helper (楼院长) may open at all: the home page and retiree details of their community.
HELPER_PAGES = {"/staff/", "/staff/retirees/{retiree}"}
# Pages of another region's record, for a community worker of community_a (W) and the admin of
# street_a (S): the answer each gets. Lists and forms of one's own region are not denials.
OTHER_REGION = {
    ("GET", "/staff/activities/{activity}"): 403, ("POST", "/staff/activities/{activity}/attendance"): 403,
    ("GET", "/staff/meetings/{meeting}"): 403, ("POST", "/staff/meetings/{meeting}/materials"): 403,
    ("GET", "/staff/meetings/{meeting}/materials/{material}"): 403,
    ("POST", "/staff/meetings/{meeting}/invitations"): 403, ("POST", "/staff/meetings/{meeting}/attendance"): 403,
    ("POST", "/staff/notices/{notice}/withdraw"): 403,
    ("GET", "/staff/feedback/{ticket}"): 404, ("POST", "/staff/feedback/{ticket}/reply"): 404,
    ("POST", "/staff/feedback/{ticket}/close"): 404,
    ("POST", "/staff/bindings/{binding}/approve"): 404, ("POST", "/staff/bindings/{binding}/reject"): 404,
    ("GET", "/staff/retirees/{retiree}"): 404, ("POST", "/staff/retirees/{retiree}/full-id"): 404,
}
# Admin-only meeting pages: a community worker is refused whoever's meeting it is.
ADMIN_ONLY = {("GET", "/staff/meetings/new"), ("POST", "/staff/meetings/new"),
              ("POST", "/staff/meetings/{meeting}/materials"), ("POST", "/staff/meetings/{meeting}/invitations"),
              ("POST", "/staff/meetings/{meeting}/attendance")}


def _open(client, method: str, template: str, ids: dict):
    data = {"reply": "答复", "region_id": "1", "attended": "1", "title": "x", "body": "x", "place": "x"}
    return client.open(template.format(**ids), method=method, data=data)


def _unchanged(ids: dict) -> None:
    from app.models.evaluation import FeedbackTicket
    from app.models.notices import Notice

    db.session.expire_all()
    assert db.session.get(Binding, ids["binding"]).status == "pending"
    assert db.session.get(Notice, ids["notice"]).withdrawn_at is None
    ticket = db.session.get(FeedbackTicket, ids["ticket"])
    assert ticket.status == "open" and ticket.reply is None


def test_every_page_needs_a_login(app, other_region):
    client = fresh_client(app)
    for method, template in PAGES:
        response = _open(client, method, template, other_region)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"], (method, template)
    _unchanged(other_region)


def test_helpers_reach_only_home_and_retiree_details(app, people, other_region):
    client = fresh_client(app)
    login(client, people["helper_a"])
    for method, template in PAGES:
        if template in HELPER_PAGES:
            continue
        assert _open(client, method, template, other_region).status_code == 403, (method, template)
    _unchanged(other_region)


@pytest.mark.parametrize("who", ["worker_a", "street_a"])
def test_other_regions_records_are_refused(app, people, other_region, who):
    client = fresh_client(app)
    login(client, people[who])
    for (method, template), expected in OTHER_REGION.items():
        if who == "worker_a" and (method, template) in ADMIN_ONLY:
            expected = 403
        assert _open(client, method, template, other_region).status_code == expected, (who, method, template)
    _unchanged(other_region)


def test_community_workers_cannot_run_meetings(app, tree, people):
    meeting = meetings.create_meeting(people["street_a"], title="五星街例会", starts_at=clock.now() + timedelta(days=1),
                                      place="会议室", region=tree["street_a"])
    meetings.invite_region(people["street_a"], meeting.id, tree["community_a"])
    db.session.commit()
    client = fresh_client(app)
    login(client, people["worker_a"])
    assert client.get(f"/staff/meetings/{meeting.id}").status_code == 200  # invited: may read
    for method, template in sorted(ADMIN_ONLY):
        assert _open(client, method, template, {"meeting": meeting.id}).status_code == 403, template
