"""Staff campaign pages: list, create, preview, approve, progress, pause/resume, offline list
download (content, scope, audit) and the denials."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.domain import clock
from app.extensions import db
from app.models import AuditEntry
from app.models.messaging import Campaign, Notification
from tests.support.campaigns import GREETING, new_campaign
from tests.support.factories import make_staff


def _form(region_id, **overrides):
    form = {"name": "2026年重阳节慰问", "region_id": str(region_id), "include_retirees": "y",
            "include_relatives": "y", "data_festival": "重阳节", "data_greeting": "九九重阳，福寿安康",
            "data_sender": "五星街街道", "data_date": "2026年10月18日", "send_at": ""}
    form.update(overrides)
    return form


def test_create_preview_approve_and_progress(world, campaign_staff_client, wechat_sandbox):
    client = campaign_staff_client(world.street_admin)
    page = client.get("/staff/campaigns/new")
    assert page.status_code == 200 and "发给已绑定的家属" in page.get_data(as_text=True)
    response = client.post("/staff/campaigns/new", data=_form(world.tree["street_a"].id, categories=["lonely",
                                                                                                     "disabled"]))
    assert response.status_code == 302
    campaign = db.session.scalar(select(Campaign))
    assert (campaign.status, campaign.categories, campaign.created_by_staff_id) == (
        "draft", ["disabled", "lonely"], world.street_admin.id)
    detail = client.get(f"/staff/campaigns/{campaign.id}").get_data(as_text=True)
    # a (lonely: self + child, both consenting) and d (disabled: child, consenting)
    assert 'data-testid="preview-retirees">2<' in detail and 'data-testid="preview-recipients">3<' in detail
    assert 'data-testid="preview-consent">3<' in detail and 'data-testid="preview-offline">0<' in detail
    assert client.post(f"/staff/campaigns/{campaign.id}/approve").status_code == 302  # inline jobs: sent now
    db.session.expire_all()
    assert campaign.status == "sending" and campaign.approved_by_staff_id == world.street_admin.id
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.subject_id == campaign.id)) == \
        "campaign.approve"
    progress = client.get(f"/staff/campaigns/{campaign.id}/progress.json").get_json()
    assert (progress["sent"], progress["queued"], progress["total"], progress["finished"]) == (3, 0, 3, True)
    assert wechat_sandbox.stats()["accepted"] == 3
    listing = client.get("/staff/campaigns").get_data(as_text=True)
    assert "2026年重阳节慰问" in listing and "发送中" in listing


def test_invalid_form_is_a_400_with_field_messages(world, campaign_staff_client):
    client = campaign_staff_client(world.street_admin)
    bad = _form(world.tree["street_a"].id, data_festival="中华人民共和国重阳节", include_retirees="",
                include_relatives="", send_at="2001-01-01T09:00")
    response = client.post("/staff/campaigns/new", data=bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "5 个以内汉字" in html and "请至少选择一种接收人" in html and "发送时间应晚于现在" in html
    assert db.session.scalar(select(Campaign.id)) is None
    other_street = _form(world.tree["street_b"].id)  # not in the region choices of street A's admin
    assert client.post("/staff/campaigns/new", data=other_street).status_code == 400
    assert db.session.scalar(select(Campaign.id)) is None


def test_edit_draft_then_approve_refuses_a_second_time(world, campaign_staff_client):
    campaign = new_campaign(world.street_admin, world.tree["street_a"],
                            send_at=clock.now() + timedelta(days=3))
    client = campaign_staff_client(world.street_admin)
    page = client.get(f"/staff/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert GREETING["greeting"] in page
    form = _form(world.tree["community_a2"].id, name="王井社区春节慰问",
                 send_at=(clock.local_now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    assert client.post(f"/staff/campaigns/{campaign.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert (campaign.name, campaign.region_id) == ("王井社区春节慰问", world.tree["community_a2"].id)
    assert client.post(f"/staff/campaigns/{campaign.id}/approve").status_code == 302
    db.session.expire_all()
    assert campaign.status == "approved"  # waits for its send time
    assert client.post(f"/staff/campaigns/{campaign.id}/approve").status_code == 422
    assert client.post(f"/staff/campaigns/{campaign.id}/edit", data=form).status_code == 422


def test_scheduled_campaign_starts_when_due_and_finishes(world, wechat_sandbox):
    from workers import campaigns as campaign_jobs

    send_at = clock.now() + timedelta(hours=2)
    campaign = new_campaign(world.street_admin, world.tree["community_a2"], send_at=send_at)
    from app.domain.campaigns import lifecycle

    lifecycle.approve(world.street_admin, campaign)
    db.session.commit()
    assert campaign_jobs.tick() == {"started": 0, "done": 0, "restarted": 0, "relaunched": 0}
    with clock.frozen(send_at + timedelta(minutes=1)):
        assert campaign_jobs.tick()["started"] == 1  # inline: dispatched and sent right away
        assert campaign_jobs.tick()["done"] == 1
    db.session.expire_all()
    assert campaign.status == "done" and wechat_sandbox.stats()["accepted"] == 1


def _workbook_rows(response) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_offline_list_download_content_scope_and_audit(world, campaign_staff_client, app):
    campaign = new_campaign(world.street_admin, world.tree["street_a"])
    from app.domain.campaigns import lifecycle

    lifecycle.approve(world.street_admin, campaign)
    db.session.commit()
    response = campaign_staff_client(world.street_admin).get(f"/staff/campaigns/{campaign.id}/offline.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = _workbook_rows(response)
    assert rows[0] == ("姓名", "身份证号（脱敏）", "联系电话", "住址", "社区", "原因")
    by_name = {r[0]: r for r in rows[1:]}
    # b: self without consent; c: no binding (phone 13900002222); f: binding revoked. a, d, g got it.
    assert set(by_name) == {"退休B", "退休C", "退休F"}
    c = by_name["退休C"]
    assert c[2] == "13900002222" and "*" in c[1] and c[1] == world.people["c"].id_masked
    assert (c[3], c[4], c[5]) == ("光大街社区幸福路8号", "光大街社区", "未绑定微信")
    assert by_name["退休B"][5] == "未授权订阅消息"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "campaign.offline_export"))
    assert entry.actor_id == world.street_admin.id and entry.detail["rows"] == 3
    # The community worker of 光大街社区 gets their own community's rows, read only.
    worker = campaign_staff_client(world.worker)
    assert len(_workbook_rows(worker.get(f"/staff/campaigns/{campaign.id}/offline.xlsx"))) == 4
    g_worker = make_staff("community_worker", world.tree["community_a2"])
    assert len(_workbook_rows(campaign_staff_client(g_worker).get(f"/staff/campaigns/{campaign.id}/offline.xlsx"))) == 1
    assert worker.post(f"/staff/campaigns/{campaign.id}/pause").status_code == 403


def test_pause_and_resume_pages(world, campaign_staff_client):
    campaign = new_campaign(world.street_admin, world.tree["street_a"], send_at=clock.now() + timedelta(days=1))
    client = campaign_staff_client(world.street_admin)
    client.post(f"/staff/campaigns/{campaign.id}/approve")
    assert client.post(f"/staff/campaigns/{campaign.id}/pause").status_code == 302
    db.session.expire_all()
    assert (campaign.status, campaign.paused_until) == ("paused", None)
    html = client.get(f"/staff/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'data-testid="resume"' in html and 'data-testid="pause"' not in html
    assert client.post(f"/staff/campaigns/{campaign.id}/pause").status_code == 422
    assert client.post(f"/staff/campaigns/{campaign.id}/resume").status_code == 302
    db.session.expire_all()
    assert campaign.status == "approved"  # its send time has not come
    assert client.post(f"/staff/campaigns/{campaign.id}/cancel").status_code == 302
    db.session.expire_all()
    assert campaign.status == "cancelled"


@pytest.mark.parametrize("path,method", [
    ("/staff/campaigns/{id}", "get"), ("/staff/campaigns/{id}/progress.json", "get"),
    ("/staff/campaigns/{id}/offline.xlsx", "get"), ("/staff/campaigns/{id}/approve", "post"),
    ("/staff/campaigns/{id}/pause", "post"), ("/staff/campaigns/{id}/resume", "post"),
    ("/staff/campaigns/{id}/cancel", "post"), ("/staff/campaigns/{id}/edit", "get"),
])
def test_other_region_is_denied(world, campaign_staff_client, path, method):
    campaign = new_campaign(world.street_admin, world.tree["street_a"])
    url = path.format(id=campaign.id)
    assert getattr(campaign_staff_client(world.other_street_admin), method)(url).status_code == 403
    assert getattr(campaign_staff_client(world.other_worker), method)(url).status_code == 403
    db.session.expire_all()
    assert campaign.status == "draft" and db.session.scalar(select(Notification.id)) is None


def test_roles_and_anonymous(world, campaign_staff_client, client):
    campaign = new_campaign(world.street_admin, world.tree["street_a"])
    assert client.get("/staff/campaigns").status_code == 302  # to the login page
    assert client.post(f"/staff/campaigns/{campaign.id}/approve").status_code == 302
    helper = make_staff("helper", world.tree["community_a"])
    assert campaign_staff_client(helper).get("/staff/campaigns").status_code == 403
    worker = campaign_staff_client(world.worker)
    assert worker.get("/staff/campaigns").status_code == 200  # read only
    assert worker.get(f"/staff/campaigns/{campaign.id}").status_code == 200
    assert worker.get("/staff/campaigns/new").status_code == 403
    assert worker.post(f"/staff/campaigns/{campaign.id}/approve").status_code == 403
    # An agency admin above the street may approve; the street admin of B may not see it at all.
    assert campaign_staff_client(world.agency_admin).post(f"/staff/campaigns/{campaign.id}/approve").status_code == 302
    listing = campaign_staff_client(world.other_street_admin).get("/staff/campaigns").get_data(as_text=True)
    assert campaign.name not in listing
    db.session.expire_all()
    assert campaign.approved_by_staff_id == world.agency_admin.id


def test_forms_need_a_csrf_token(csrf_app):
    import re

    from tests.support.factories import make_tree

    tree = make_tree()
    admin = make_staff("street_admin", tree["street_a"])
    campaign_id = new_campaign(admin, tree["street_a"]).id
    client = csrf_app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/staff/login").get_data(as_text=True))
    client.post("/staff/login", data={"username": admin.username, "password": "correct-horse-1",
                                      "csrf_token": token.group(1)})
    assert client.post(f"/staff/campaigns/{campaign_id}/approve").status_code == 400
    db.session.expire_all()
    assert db.session.get(Campaign, campaign_id).status == "draft"


def test_send_time_is_shown_in_the_service_zone(world, campaign_staff_client):
    send_at = datetime(2030, 2, 3, 9, 0, tzinfo=clock.SERVICE_ZONE)
    campaign = new_campaign(world.street_admin, world.tree["street_a"], send_at=send_at)
    html = campaign_staff_client(world.street_admin).get(f"/staff/campaigns/{campaign.id}").get_data(as_text=True)
    assert "2030-02-03 09:00" in html
