"""New certification operations for accounts: my bookings (mine and my bound retirees') and the
home-visit certification request — with their denials (no token, another account, a pending or
revoked relative)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain.certification import booking
from app.extensions import db
from app.models.cases import Report
from app.models.tasks import VisitTask
from tests.support.api import auth_headers, bind, make_account
from tests.support.certification import TODAY, at, due_retiree, make_slot, retiree_in

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def household(tree, point):
    """Mother (due, booked by herself) and father (due, booked by their son); the son is bound to both,
    the mother's own account only to her; a stranger, a pending and a revoked relative of the mother."""
    mother = due_retiree(tree["community_a"], name="王秀英")
    father = due_retiree(tree["community_a"], name="李国强")
    accounts = {name: make_account() for name in ("mother", "son", "stranger", "pending", "revoked")}
    bind(accounts["mother"], mother, "self")
    bind(accounts["son"], mother, "child")
    bind(accounts["son"], father, "child")
    bind(accounts["pending"], mother, "child", status="pending")
    bind(accounts["revoked"], mother, "child", status="revoked")
    db.session.commit()
    early, late = make_slot(point, at(1), capacity=2), make_slot(point, at(3), capacity=2)
    booking.book(accounts["mother"], mother, early.id)
    booking.book(accounts["son"], father, late.id)
    db.session.commit()
    headers = {name: auth_headers(account) for name, account in accounts.items()}
    return {"mother": mother, "father": father, "headers": headers}


def test_my_bookings_lists_mine_and_my_bound_retirees(client, household):
    son = client.get("/api/v1/bookings", headers=household["headers"]["son"]).get_json()
    assert son["total"] == 2 and [b["retiree_name"] for b in son["items"]] == ["李国强", "王秀英"]  # latest first
    assert all(b["starts_at"].endswith("+08:00") and b["service_point"]["code"] == "SP-GDJ" for b in son["items"])
    mother = client.get("/api/v1/bookings", headers=household["headers"]["mother"]).get_json()
    assert [b["retiree_name"] for b in mother["items"]] == ["王秀英"]


def test_my_bookings_pages_and_filters(client, household):
    headers = household["headers"]["son"]
    first = client.get("/api/v1/bookings?per_page=1", headers=headers).get_json()
    second = client.get("/api/v1/bookings?per_page=1&page=2", headers=headers).get_json()
    assert (first["total"], len(first["items"]), second["page"]) == (2, 1, 2)
    assert first["items"][0]["id"] != second["items"][0]["id"]
    assert client.get("/api/v1/bookings?status=cancelled", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/bookings?status=lost", headers=headers).status_code == 400


@pytest.mark.parametrize("who", ["stranger", "pending", "revoked"])
def test_my_bookings_shows_nothing_of_retirees_not_bound(client, household, who):
    body = client.get("/api/v1/bookings", headers=household["headers"][who]).get_json()
    assert body == {"items": [], "page": 1, "per_page": 20, "total": 0}


def test_my_bookings_needs_a_token(client, household):
    response = client.get("/api/v1/bookings")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "not_authenticated"


def test_a_relative_asks_for_a_home_certification_once(client, household):
    mother, headers = household["mother"], household["headers"]["son"]
    path = f"/api/v1/retirees/{mother.id}/home-certification"
    first = client.post(path, headers={**headers, "Idempotency-Key": "home-1"}, json={"note": "卧床，请下午上门"})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["type"] == "home_certification" and body["task"]["kind"] == "home_certification"
    replay = client.post(path, headers={**headers, "Idempotency-Key": "home-1"}, json={"note": "卧床，请下午上门"})
    assert replay.status_code == 200 and replay.get_json()["id"] == body["id"]
    status = client.get(f"/api/v1/retirees/{mother.id}/certification", headers=headers).get_json()
    assert status["home_visit_pending"] is True
    assert db.session.scalar(select(func.count(VisitTask.id)).where(VisitTask.kind == "home_certification")) == 1


def test_home_certification_is_refused_when_recently_certified(client, tree):
    recent = retiree_in(tree["community_a"], certified_on=TODAY - timedelta(days=10))
    account = make_account()
    bind(account, recent, "self")
    db.session.commit()
    response = client.post(f"/api/v1/retirees/{recent.id}/home-certification", headers=auth_headers(account), json={})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "not_due"


@pytest.mark.parametrize("who", ["stranger", "pending", "revoked"])
def test_home_certification_for_a_retiree_not_bound_is_403_and_files_nothing(client, household, who):
    response = client.post(f"/api/v1/retirees/{household['mother'].id}/home-certification",
                           headers=household["headers"][who], json={"note": "请上门"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_bound"
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_home_certification_needs_a_token_before_anything_else(client, household):
    response = client.post(f"/api/v1/retirees/{household['mother'].id}/home-certification", json={"note": 1})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "not_authenticated"
    assert db.session.scalar(select(func.count(Report.id))) == 0
