"""Ratings of completed services through the API: subjects, once per account, low scores open tickets,
and the satisfaction figures per region."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain import clock
from app.domain.evaluation import feedback
from app.extensions import db
from app.models.evaluation import FeedbackTicket, Rating
from app.models.events import ActivityRegistration
from app.models.tasks import VisitTask
from tests.support.api import account_with_binding
from tests.support.events import new_activity
from tests.support.factories import make_service_point

pytestmark = pytest.mark.usefixtures("frozen_now", "fast_staff_passwords")


def _visit(retiree, status: str = "done") -> VisitTask:
    task = VisitTask(kind="hospital_visit", retiree_id=retiree.id, community_id=retiree.community_id, status=status,
                     due_on=clock.today())
    db.session.add(task)
    db.session.commit()
    return task


def _rate(client, headers, subject_type, subject_id, score=5, comment="很贴心"):
    return client.post("/api/v1/ratings", headers=headers, json={"subject_type": subject_type, "subject_id": subject_id,
                                                                 "score": score, "comment": comment})


def test_rate_a_done_visit_once_per_account(client, tree, people):
    task = _visit(people["retiree_a"])
    response = _rate(client, people["headers_a"], "visit", task.id, 4)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["score"] == 4 and body["ticket_id"] is None and body["retiree_id"] == people["retiree_a"].id
    again = _rate(client, people["headers_a"], "visit", task.id, 5)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_rated"
    # A relative's account rates the same visit on its own.
    _, relative_headers = account_with_binding(people["retiree_a"], relation="spouse")
    assert _rate(client, relative_headers, "visit", task.id, 5).status_code == 201
    assert db.session.scalar(select(func.count(Rating.id))) == 2


def test_rating_denials(client, tree, people):
    done = _visit(people["retiree_a"])
    still_open = _visit(people["retiree_a"], status="open")
    assert client.post("/api/v1/ratings", json={"subject_type": "visit", "subject_id": done.id,
                                                "score": 5}).status_code == 401
    response = _rate(client, people["headers_b"], "visit", done.id)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_bound"
    response = _rate(client, people["headers_a"], "visit", still_open.id)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "subject_not_completed"
    response = _rate(client, people["headers_a"], "visit", 999_999)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "subject_not_found"
    response = _rate(client, people["headers_a"], "visit", done.id, score=6)
    assert response.status_code == 400 and "score" in response.get_json()["error"]["fields"]
    response = _rate(client, people["headers_a"], "party", done.id)
    assert response.status_code == 400 and "subject_type" in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count(Rating.id))) == 0


def test_low_score_opens_a_complaint_ticket(client, tree, people):
    task = _visit(people["retiree_a"])
    response = _rate(client, people["headers_a"], "visit", task.id, 2, "等了很久没人来")
    assert response.status_code == 201
    ticket = db.session.get(FeedbackTicket, response.get_json()["ticket_id"])
    assert ticket.category == "complaint" and ticket.status == "open"
    assert ticket.source_rating_id == response.get_json()["id"]
    assert "等了很久没人来" in ticket.text and ticket.community_id == tree["community_a"].id
    assert ticket.reply_due_at == clock.now() + timedelta(days=3)
    listed = client.get("/api/v1/feedback", headers=people["headers_a"]).get_json()
    assert [t["id"] for t in listed["items"]] == [ticket.id]


def test_activity_subject_must_be_attended(client, tree, people):
    from app.domain.events import activities

    activity = new_activity(people["worker_a"], tree["community_a"], starts_in=timedelta(hours=2))
    registration = activities.register(people["account_a"], people["retiree_a"], activity.id).registration
    db.session.commit()
    assert _rate(client, people["headers_a"], "activity", registration.id).status_code == 422
    with clock.frozen(clock.now() + timedelta(hours=3)):
        activities.mark_attendance(people["worker_a"], activity.id, {registration.id: "attended"})
        db.session.commit()
        response = _rate(client, people["headers_a"], "activity", registration.id, 5)
    assert response.status_code == 201
    assert db.session.get(ActivityRegistration, registration.id).status == "attended"


def test_booking_subject_must_be_attended(client, tree, people):
    certification = pytest.importorskip("app.models.certification")
    point = make_service_point(tree["community_a"])
    slot = certification.Slot(service_point_id=point.id, starts_at=clock.now() + timedelta(days=1),
                              ends_at=clock.now() + timedelta(days=1, minutes=30), capacity=5, booked=1)
    db.session.add(slot)
    db.session.flush()
    booking = certification.Booking(slot_id=slot.id, retiree_id=people["retiree_a"].id, status="booked")
    db.session.add(booking)
    db.session.commit()
    assert _rate(client, people["headers_a"], "booking", booking.id).status_code == 422
    assert _rate(client, people["headers_b"], "booking", booking.id).status_code == 403
    booking.status = "attended"
    db.session.commit()
    assert _rate(client, people["headers_a"], "booking", booking.id, 3).status_code == 201


def test_satisfaction_by_region(tree, people):
    other_a, _ = account_with_binding(people["retiree_a"], relation="child")
    visits = [_visit(people["retiree_a"]) for _ in range(2)]
    feedback.rate(people["account_a"], "visit", visits[0].id, 5)
    feedback.rate(people["account_a"], "visit", visits[1].id, 2)
    feedback.rate(other_a, "visit", visits[0].id, 4)
    with clock.frozen(clock.now() - timedelta(days=40)):
        feedback.rate(other_a, "visit", visits[1].id, 1)  # outside the period below
    feedback.rate(people["account_b"], "visit", _visit(people["retiree_b"]).id, 1)
    db.session.commit()
    today = clock.today()
    month = (date(today.year, today.month, 1), today)
    assert feedback.satisfaction_by_region(tree["street_a"], *month) == {"count": 3, "average": 3.67,
                                                                         "low_share": 0.3333}
    assert feedback.satisfaction_by_region(tree["city"], *month)["count"] == 4
    assert feedback.satisfaction_by_region(tree["street_a"], today - timedelta(days=60), today)["count"] == 4
    assert feedback.satisfaction_by_region(tree["community_a2"], *month) == {"count": 0, "average": None,
                                                                             "low_share": None}


def test_my_ratings_list_what_this_account_rated_and_nothing_else(client, tree, people):
    task = _visit(people["retiree_a"])
    assert _rate(client, people["headers_a"], "visit", task.id, 4).status_code == 201
    mine = client.get("/api/v1/ratings", headers=people["headers_a"]).get_json()
    item = mine["items"][0]
    assert mine["total"] == 1 and (item["subject_type"], item["subject_id"]) == ("visit", task.id)
    # Another account — even one bound to the same retiree — has rated nothing.
    _, relative_headers = account_with_binding(people["retiree_a"], relation="spouse")
    for headers in (relative_headers, people["headers_b"]):
        assert client.get("/api/v1/ratings", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/ratings").status_code == 401
