"""The in-app inbox API: pagination newest first, unread counts, marking read, denial."""
from __future__ import annotations

from app.domain.messaging import outbox
from app.extensions import db
from tests.support.api import auth_headers, make_account
from tests.support.messaging import BOOKING_DATA


def _fill(account, n: int) -> list[int]:
    ids = []
    for i in range(n):
        ids += [r.id for r in outbox.notify(account, "booking_confirmed", BOOKING_DATA, f"k{i}", enqueue=False)]
    db.session.commit()
    return ids


def test_inbox_is_paginated_newest_first_with_unread_count(client, app):
    account = make_account()
    ids = _fill(account, 5)
    headers = auth_headers(account)
    page1 = client.get("/api/v1/notifications?per_page=2", headers=headers).get_json()
    assert [i["id"] for i in page1["items"]] == [ids[4], ids[3]]
    assert (page1["total"], page1["unread"], page1["page"]) == (5, 5, 1)
    item = page1["items"][0]
    assert item["title"] == "预约成功通知" and item["read"] is False
    assert {"label": "预约编号", "value": "BK20250301001"} in item["lines"]
    assert "+08:00" in item["created_at"]
    page3 = client.get("/api/v1/notifications?per_page=2&page=3", headers=headers).get_json()
    assert [i["id"] for i in page3["items"]] == [ids[0]]


def test_marking_read_is_idempotent_and_counts(client, app):
    account = make_account()
    ids = _fill(account, 2)
    headers = auth_headers(account)
    for _ in range(2):
        response = client.post(f"/api/v1/notifications/{ids[0]}/read", headers=headers)
        assert response.status_code == 200 and response.get_json()["read"] is True
    body = client.get("/api/v1/notifications", headers=headers).get_json()
    assert body["unread"] == 1


def test_undeliverable_messages_still_show_in_the_inbox(client, app):
    account = make_account()
    outbox.notify(account, "booking_confirmed", BOOKING_DATA, "k-inline")
    db.session.commit()  # inline send: no credit → no_consent, but the inbox has it
    body = client.get("/api/v1/notifications", headers=auth_headers(account)).get_json()
    assert body["total"] == 1


def test_another_accounts_notification_is_404_and_no_token_is_401(client, app):
    owner, other = make_account(), make_account()
    ids = _fill(owner, 1)
    response = client.post(f"/api/v1/notifications/{ids[0]}/read", headers=auth_headers(other))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "notification_not_found"
    assert client.post("/api/v1/notifications/999999/read", headers=auth_headers(other)).status_code == 404
    assert client.get("/api/v1/notifications").status_code == 401
    assert client.post(f"/api/v1/notifications/{ids[0]}/read").status_code == 401
    assert client.get("/api/v1/notifications", headers=auth_headers(other)).get_json()["total"] == 0


def test_bad_paging_is_400(client, app):
    headers = auth_headers(make_account())
    response = client.get("/api/v1/notifications?per_page=500", headers=headers)
    assert response.status_code == 400 and "per_page" in response.get_json()["error"]["fields"]
