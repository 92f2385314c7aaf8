"""Notices: published to a region scope by staff, read by retirees whose community lies in it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import clock
from app.domain.errors import Conflict, NotAuthorized, ValidationFailed
from app.domain.events import notices
from app.extensions import db
from app.models.notices import Notice
from tests.support.staff import login

pytestmark = pytest.mark.usefixtures("frozen_now", "fast_staff_passwords")


def _publish(staff, region, title, kind="policy"):
    notice = notices.publish(staff, title=title, body=f"{title}的正文", kind=kind, region=region)
    db.session.commit()
    return notice


def test_retirees_see_notices_whose_scope_contains_their_community_newest_first(client, tree, people):
    city = _publish(people["city"], tree["city"], "全市养老金调整政策")
    clock.advance(timedelta(minutes=1))
    street = _publish(people["street_a"], tree["street_a"], "街道重阳活动预告", kind="activity")
    clock.advance(timedelta(minutes=1))
    community = _publish(people["worker_a"], tree["community_a"], "光大街社区认证通知")
    _publish(people["worker_a2"], tree["community_a2"], "王井社区通知")
    _publish(people["worker_b"], tree["community_b"], "建设社区通知")
    withdrawn = _publish(people["worker_a"], tree["community_a"], "已撤回的通知")
    notices.withdraw(people["worker_a"], withdrawn.id)
    db.session.commit()

    url = f"/api/v1/notices?retiree_id={people['retiree_a'].id}"
    body = client.get(url, headers=people["headers_a"]).get_json()
    assert [n["id"] for n in body["items"]] == [community.id, street.id, city.id] and body["total"] == 3
    assert body["items"][1]["kind"] == "activity" and body["items"][1]["region"] == "五星街街道"
    assert body["items"][0]["published_at"].endswith("+08:00")
    only_activity = client.get(url + "&kind=activity", headers=people["headers_a"]).get_json()
    assert [n["id"] for n in only_activity["items"]] == [street.id]
    page2 = client.get(url + "&per_page=2&page=2", headers=people["headers_a"]).get_json()
    assert [n["id"] for n in page2["items"]] == [city.id]
    b = client.get(f"/api/v1/notices?retiree_id={people['retiree_b'].id}", headers=people["headers_b"]).get_json()
    assert [n["title"] for n in b["items"]] == ["建设社区通知", "全市养老金调整政策"]
    today = clock.today()
    assert notices.published_by_region(tree["street_a"], today, today) == {"policy": 3, "activity": 1}
    assert notices.published_by_region(tree["city"], today, today) == {"policy": 5, "activity": 1}
    assert notices.published_by_region(tree["street_a"], today + timedelta(days=1), today + timedelta(days=9)) == \
        {"policy": 0, "activity": 0}


def test_notice_api_denials(client, tree, people):
    url = f"/api/v1/notices?retiree_id={people['retiree_a'].id}"
    assert client.get(url).status_code == 401
    response = client.get(url, headers=people["headers_b"])
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_bound"
    assert client.get(url + "&kind=gossip", headers=people["headers_a"]).status_code == 400
    assert client.get("/api/v1/notices", headers=people["headers_a"]).status_code == 400


def test_publishing_rules(tree, people):
    with pytest.raises(NotAuthorized):
        _publish(people["worker_a"], tree["street_a"], "越权发布")
    with pytest.raises(NotAuthorized):
        _publish(people["street_a"], tree["street_b"], "越权发布")
    with pytest.raises(NotAuthorized):
        _publish(people["helper_a"], tree["community_a"], "楼院长发布")
    with pytest.raises(ValidationFailed) as caught:
        notices.publish(people["worker_a"], title="", body=" ", kind="gossip", region=tree["community_a"])
    assert set(caught.value.fields) == {"title", "body", "kind"}
    notice = _publish(people["street_a"], tree["community_a2"], "街道给王井社区的通知")
    with pytest.raises(NotAuthorized):
        notices.withdraw(people["worker_a"], notice.id)
    notices.withdraw(people["street_a"], notice.id)
    with pytest.raises(Conflict):
        notices.withdraw(people["street_a"], notice.id)
    assert [n.id for n in notices.list_for_staff(people["worker_a2"]).items] == [notice.id]
    assert notices.list_for_staff(people["worker_a"]).items == []


def test_notice_pages(client, tree, people):
    login(client, people["street_a"])
    response = client.post("/staff/notices/new", data={"title": "资格认证开始了", "kind": "policy",
                                                        "region_id": str(tree["street_a"].id), "body": "请按时认证"})
    assert response.status_code == 302
    notice = db.session.scalar(select(Notice))
    assert notice.region_id == tree["street_a"].id and notice.created_by_id == people["street_a"].id
    assert "资格认证开始了" in client.get("/staff/notices").get_data(as_text=True)
    empty = {"title": "", "kind": "policy", "region_id": str(tree["street_a"].id), "body": ""}
    assert client.post("/staff/notices/new", data=empty).status_code == 400
    assert client.post("/staff/notices/new", data={"title": "越权", "kind": "policy", "body": "x",
                                                   "region_id": str(tree["street_b"].id)}).status_code == 400
    assert client.post(f"/staff/notices/{notice.id}/withdraw").status_code == 302
    db.session.expire_all()
    assert db.session.get(Notice, notice.id).withdrawn_at is not None
    other = _publish(people["street_b"], tree["street_b"], "艾叶镇通知")
    assert client.post(f"/staff/notices/{other.id}/withdraw").status_code == 403


def test_staff_notice_list_is_paginated_not_cut_off(client, tree, people):
    for i in range(53):
        notices.publish(people["street_a"], title=f"通知第{i:02d}号", body="正文", kind="policy",
                        region=tree["street_a"])
        clock.advance(timedelta(seconds=1))
    db.session.commit()
    page = notices.list_for_staff(people["street_a"])
    assert (page.total, len(page.items), page.pages) == (53, 50, 2)
    assert notices.list_for_staff(people["street_a"], page=2).items[-1].title == "通知第00号"
    login(client, people["street_a"])
    first = client.get("/staff/notices").get_data(as_text=True)
    assert "通知第52号" in first and "通知第00号" not in first and "page=2" in first
    for page_arg in ("2", "99999999999999999999", "-3", "x"):
        response = client.get(f"/staff/notices?page={page_arg}")
        assert response.status_code == 200, page_arg
    assert "通知第00号" in client.get("/staff/notices?page=2").get_data(as_text=True)
