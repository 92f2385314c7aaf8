"""Policy meetings: creation scope, invitations by region, materials access, attendance and its rate."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain import clock
from app.domain.errors import NotAuthorized, NotFound, Unprocessable, ValidationFailed
from app.domain.events import meetings
from app.extensions import db
from app.models.events import Meeting, MeetingInvitation, MeetingMaterial
from tests.support.factories import make_staff
from tests.support.staff import login

pytestmark = pytest.mark.usefixtures("frozen_now", "fast_staff_passwords")

PDF = b"%PDF-1.4\n% policy briefing\n" + b"0" * 200


@pytest.fixture(autouse=True)
def _uploads_in_tmp(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))


def _meeting(admin, region, days: int = 3, title: str = "2027年第四季度社保政策例会") -> Meeting:
    meeting = meetings.create_meeting(admin, title=title, starts_at=clock.now() + timedelta(days=days),
                                      place="街道会议室", region=region, agenda="1. 资格认证新规\n2. 重阳活动安排")
    db.session.commit()
    return meeting


def test_only_admins_create_meetings_in_their_subtree(tree, people):
    with pytest.raises(NotAuthorized):
        _meeting(people["worker_a"], tree["community_a"])
    with pytest.raises(NotAuthorized):
        _meeting(people["street_a"], tree["street_b"])
    with pytest.raises(ValidationFailed) as caught:
        _meeting(people["street_a"], tree["community_a"])
    assert "region" in caught.value.fields
    meeting = _meeting(people["city"], tree["district_a"])
    assert meeting.region_id == tree["district_a"].id and meeting.created_by_id == people["city"].id


def test_invite_by_region_takes_every_active_community_worker_once(tree, people):
    retired = make_staff("community_worker", tree["community_a2"], "worker-left")
    retired.active = False
    meeting = _meeting(people["street_a"], tree["street_a"])
    assert meetings.invite_region(people["street_a"], meeting.id, tree["community_a"]) == 1
    assert meetings.invite_region(people["street_a"], meeting.id, tree["street_a"]) == 1
    assert meetings.invite_region(people["street_a"], meeting.id, tree["street_a"]) == 0
    db.session.commit()
    invited = {i.staff.username for i in meetings.invitations(meeting)}
    assert invited == {"worker-a", "worker-a2"}  # not the helper, not the inactive one, not street_b's
    with pytest.raises(NotAuthorized):
        meetings.invite_region(people["street_a"], meeting.id, tree["community_b"])
    with pytest.raises(NotAuthorized):
        meetings.invite_region(people["street_b"], meeting.id, tree["community_a"])
    narrow = _meeting(people["city"], tree["street_a"])
    with pytest.raises(ValidationFailed):
        meetings.invite_region(people["city"], narrow.id, tree["street_b"])  # outside the meeting's scope


def test_attendance_rate_per_community(tree, people):
    extra = make_staff("community_worker", tree["community_a"], "worker-a-second")
    first = _meeting(people["street_a"], tree["street_a"], days=1, title="第一次例会")
    second = _meeting(people["street_a"], tree["street_a"], days=2, title="第二次例会")
    for meeting in (first, second):
        meetings.invite_region(people["street_a"], meeting.id, tree["street_a"])
    db.session.commit()
    by_staff = {m.id: {i.staff_id: i.id for i in meetings.invitations(m)} for m in (first, second)}
    with pytest.raises(Unprocessable) as caught:
        meetings.record_attendance(people["street_a"], first.id, set())
    assert caught.value.code == "meeting_not_started"
    with clock.frozen(clock.now() + timedelta(days=2, hours=1)):
        with pytest.raises(NotAuthorized):
            meetings.record_attendance(people["street_b"], first.id, set())
        with pytest.raises(NotAuthorized):
            meetings.record_attendance(people["worker_a"], first.id, set())
        with pytest.raises(ValidationFailed):
            meetings.record_attendance(people["street_a"], first.id, {by_staff[second.id][extra.id]})
        meetings.record_attendance(people["street_a"], first.id, {by_staff[first.id][people["worker_a"].id],
                                                                  by_staff[first.id][people["worker_a2"].id]})
        meetings.record_attendance(people["street_a"], second.id, {by_staff[second.id][people["worker_a"].id]})
        db.session.commit()
        one = {r.community.code: (r.invited, r.attended) for r in
               meetings.attendance_by_community(tree["street_a"], meeting=first)}
        assert one == {"510302001001": (2, 1), "510302001002": (1, 1)}
        rows = meetings.attendance_by_community(tree["city"], date_from=clock.today() - timedelta(days=5),
                                                date_to=clock.today())
        rates = {r.community.name: (r.invited, r.attended, r.rate) for r in rows}
        assert rates == {"光大街社区": (4, 2, 0.5), "王井社区": (2, 1, 0.5)}
        assert meetings.attendance_by_community(tree["street_b"]) == []
        assert meetings.attendance_by_community(tree["city"], date_from=clock.today() + timedelta(days=1)) == []


def test_meeting_pages_create_invite_and_record(client, tree, people):
    login(client, people["street_a"])
    starts = (clock.local_now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/staff/meetings/new", data={"title": "政策例会", "starts_at": starts, "place": "三楼会议室",
                                                          "region_id": str(tree["street_a"].id), "agenda": "议程"})
    assert response.status_code == 302, response.get_data(as_text=True)
    meeting = db.session.scalar(select(Meeting))
    url = f"/staff/meetings/{meeting.id}"
    assert client.post(f"{url}/invitations", data={"region_id": str(tree["street_a"].id)}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "worker-a" in page and "未召开" in page
    with clock.frozen(clock.now() + timedelta(days=1, hours=2)):
        invitation = db.session.scalar(select(MeetingInvitation).where(
            MeetingInvitation.staff_id == people["worker_a"].id))
        assert client.post(f"{url}/attendance", data={"attended": [str(invitation.id)]}).status_code == 302
        page = client.get(url).get_data(as_text=True)
        assert "100%" in page and "0%" in page  # 光大街 1/1, 王井 0/1
        listing = client.get("/staff/meetings").get_data(as_text=True)
        assert "光大街社区" in listing and "各社区出席率" in listing


def test_meeting_pages_are_closed_to_other_regions(client, tree, people):
    meeting = _meeting(people["street_b"], tree["street_b"])
    login(client, people["street_a"])
    assert client.get(f"/staff/meetings/{meeting.id}").status_code == 403
    assert client.post(f"/staff/meetings/{meeting.id}/invitations",
                       data={"region_id": str(tree["street_b"].id)}).status_code == 403
    assert client.get("/staff/meetings/999999").status_code == 404
    assert "2027年第四季度社保政策例会" not in client.get("/staff/meetings").get_data(as_text=True)


def test_workers_see_only_meetings_they_are_invited_to(client, tree, people):
    invited = _meeting(people["street_a"], tree["street_a"], title="受邀的例会")
    _meeting(people["street_a"], tree["street_a"], title="未受邀的例会")
    meetings.invite_region(people["street_a"], invited.id, tree["community_a"])
    db.session.commit()
    login(client, people["worker_a"])
    listing = client.get("/staff/meetings").get_data(as_text=True)
    assert "受邀的例会" in listing and "未受邀的例会" not in listing and "新建例会" not in listing
    page = client.get(f"/staff/meetings/{invited.id}").get_data(as_text=True)
    assert "资格认证新规" in page and "邀请该范围" not in page
    assert client.get("/staff/meetings/new").status_code == 403


def test_materials_upload_and_download_only_by_invited_staff_or_admins_in_scope(app, tree, people):
    meeting = _meeting(people["street_a"], tree["street_a"])
    meetings.invite_region(people["street_a"], meeting.id, tree["community_a"])
    db.session.commit()
    admin = app.test_client()
    login(admin, people["street_a"])
    response = admin.post(f"/staff/meetings/{meeting.id}/materials",
                          data={"file": (io.BytesIO(PDF), "认证新规.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    response = admin.post(f"/staff/meetings/{meeting.id}/materials",
                          data={"file": (io.BytesIO(b"MZ\x90\x00 not a document"), "virus.pdf")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "文件类型不支持" in response.get_data(as_text=True)
    material = db.session.scalar(select(MeetingMaterial))
    assert db.session.scalar(select(func.count(MeetingMaterial.id))) == 1
    url = f"/staff/meetings/{meeting.id}/materials/{material.id}"
    download = admin.get(url)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    # Per staff member: the invited worker may, the uninvited and other regions may not.
    assert meetings.material_for_download(people["worker_a"], meeting.id, material.id)[0].id == material.file_id
    assert meetings.material_for_download(people["city"], meeting.id, material.id)[1].read_bytes() == PDF
    for outsider in ("worker_a2", "worker_b", "street_b", "helper_a"):
        with pytest.raises(NotAuthorized):
            meetings.material_for_download(people[outsider], meeting.id, material.id)
    other = _meeting(people["street_a"], tree["street_a"], title="另一次例会")
    with pytest.raises(NotFound):
        meetings.material_for_download(people["street_a"], other.id, material.id)
    with pytest.raises(NotAuthorized):
        meetings.add_material(people["worker_a"], meeting.id, None)


def test_material_download_page_denies_uninvited_worker(client, tree, people):
    meeting = _meeting(people["street_a"], tree["street_a"])
    from werkzeug.datastructures import FileStorage

    material = meetings.add_material(people["street_a"], meeting.id,
                                     FileStorage(io.BytesIO(PDF), filename="材料.pdf"))
    db.session.commit()
    login(client, people["worker_a2"])
    assert client.get(f"/staff/meetings/{meeting.id}/materials/{material.id}").status_code == 403
