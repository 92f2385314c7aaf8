"""Bookings through the API: each denial code, cancel, reschedule, and authorization."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain.certification import booking
from app.domain.certification import cycle as certification
from app.domain.errors import Conflict
from app.extensions import db
from app.models.certification import Booking, Slot
from tests.support.api import account_with_binding, auth_headers, bind, make_account
from tests.support.certification import TODAY, at, due_retiree, make_slot, retiree_in
from tests.support.factories import make_service_point

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _book(client, headers, slot, retiree):
    return client.post("/api/v1/bookings", json={"slot_id": slot.id, "retiree_id": retiree.id}, headers=headers)


def _booked(slot_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Slot, slot_id).booked


def test_book_confirms_and_counts_the_seat(client, point, booker):
    retiree, _, headers = booker
    slot = make_slot(point, at(2), capacity=2)
    response = _book(client, headers, slot, retiree)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "booked" and body["slot_id"] == slot.id
    assert body["starts_at"].endswith("+08:00")
    assert body["service_point"]["code"] == "SP-GDJ"
    assert _booked(slot.id) == 1
    status = client.get(f"/api/v1/retirees/{retiree.id}/certification", headers=headers).get_json()
    assert status["status"] == "due" and status["booking"]["id"] == body["id"]


def test_slot_full_is_409_and_counter_stays(client, tree, point, booker):
    retiree, _, headers = booker
    slot = make_slot(point, at(2), capacity=1)
    other = due_retiree(tree["community_a"])
    _, other_headers = account_with_binding(other)
    assert _book(client, other_headers, slot, other).status_code == 201
    response = _book(client, headers, slot, retiree)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "slot_full"
    assert _booked(slot.id) == 1


def test_second_active_booking_is_409_already_booked(client, point, booker):
    retiree, _, headers = booker
    first, second = make_slot(point, at(2)), make_slot(point, at(3))
    assert _book(client, headers, first, retiree).status_code == 201
    response = _book(client, headers, second, retiree)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "already_booked"
    assert _booked(second.id) == 0


def test_unique_index_catches_a_racing_second_booking(app, point, booker):
    """Even past the Python pre-check, the partial unique index refuses it and the seat is rolled back."""
    retiree, account, _ = booker
    first, second = make_slot(point, at(2)), make_slot(point, at(3))
    booking.book(account, retiree, first.id)
    db.session.commit()
    original = booking.active_booking
    booking.active_booking = lambda r: None  # simulate the race: the pre-check saw nothing
    try:
        with pytest.raises(Conflict) as caught:
            booking.book(account, retiree, second.id)
        assert caught.value.code == "already_booked"
    finally:
        booking.active_booking = original
    db.session.commit()
    assert _booked(second.id) == 0
    assert db.session.query(Booking).filter_by(retiree_id=retiree.id, status="booked").count() == 1


def test_recently_certified_is_422_not_due(client, tree, point):
    retiree = retiree_in(tree["community_a"], certified_on=TODAY - timedelta(days=20))
    _, headers = account_with_binding(retiree)
    response = _book(client, headers, make_slot(point, at(2)), retiree)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "not_due"


def test_slot_inside_the_coming_window_is_bookable_before_it_opens(client, tree, point):
    # Due on TODAY+62: the window opens on TODAY+2, a slot on that day counts for this cycle.
    retiree = retiree_in(tree["community_a"], certified_on=certification.add_months(TODAY, -12) + timedelta(days=62))
    _, headers = account_with_binding(retiree)
    assert _book(client, headers, make_slot(point, at(1)), retiree).get_json()["error"]["code"] == "not_due"
    assert _book(client, headers, make_slot(point, at(2)), retiree).status_code == 201


def test_past_slot_is_422_slot_past(client, point, booker):
    retiree, _, headers = booker
    response = _book(client, headers, make_slot(point, at(0, hour=8)), retiree)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "slot_past"


def test_unknown_slot_is_404(client, booker):
    retiree, _, headers = booker
    response = client.post("/api/v1/bookings", json={"slot_id": 999999, "retiree_id": retiree.id}, headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "slot_not_found"


def test_booking_without_token_is_401(client, point, booker):
    retiree, _, _ = booker
    response = client.post("/api/v1/bookings", json={"slot_id": make_slot(point, at(2)).id, "retiree_id": retiree.id})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"


def test_unbound_account_is_403_everywhere(client, point, booker):
    retiree, _, headers = booker
    slot = make_slot(point, at(2))
    mine = _book(client, headers, slot, retiree).get_json()
    stranger = make_account()
    pending = make_account()
    bind(pending, retiree, relation="child", status="pending")
    for other in (stranger, pending):
        h = auth_headers(other)
        assert _book(client, h, slot, retiree).status_code == 403
        assert client.get(f"/api/v1/retirees/{retiree.id}/certification", headers=h).status_code == 403
        assert client.get(f"/api/v1/service-points?retiree_id={retiree.id}", headers=h).status_code == 403
        assert client.delete(f"/api/v1/bookings/{mine['id']}", headers=h).status_code == 403
        assert client.post(f"/api/v1/bookings/{mine['id']}/reschedule", json={"slot_id": slot.id},
                           headers=h).status_code == 403
    assert _booked(slot.id) == 1


def test_bad_input_is_400_with_fields(client, booker):
    _, _, headers = booker
    response = client.post("/api/v1/bookings", json={"slot_id": "x"}, headers=headers)
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) == {"slot_id", "retiree_id"}


def test_relative_may_book_for_the_retiree(client, point, booker):
    retiree, _, _ = booker
    _, headers = account_with_binding(retiree, relation="child")
    assert _book(client, headers, make_slot(point, at(2)), retiree).status_code == 201


def test_cancel_releases_the_seat_until_the_cutoff(client, point, booker):
    retiree, _, headers = booker
    slot = make_slot(point, at(2))
    booking_id = _book(client, headers, slot, retiree).get_json()["id"]
    response = client.delete(f"/api/v1/bookings/{booking_id}", headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert _booked(slot.id) == 0
    again = client.delete(f"/api/v1/bookings/{booking_id}", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "booking_not_active"
    # Too close to the slot: 10:30 today is inside the default 2-hour cut-off at 09:00.
    soon = make_slot(point, at(0, hour=10, minute=30))
    soon_id = _book(client, headers, soon, retiree).get_json()["id"]
    late = client.delete(f"/api/v1/bookings/{soon_id}", headers=headers)
    assert late.status_code == 422 and late.get_json()["error"]["code"] == "cutoff_passed"
    assert _booked(soon.id) == 1


def test_reschedule_moves_the_seat(client, point, booker):
    retiree, _, headers = booker
    old, new = make_slot(point, at(2)), make_slot(point, at(3))
    booking_id = _book(client, headers, old, retiree).get_json()["id"]
    response = client.post(f"/api/v1/bookings/{booking_id}/reschedule", json={"slot_id": new.id}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["slot_id"] == new.id and response.get_json()["id"] == booking_id
    assert (_booked(old.id), _booked(new.id)) == (0, 1)


def test_reschedule_to_a_full_slot_keeps_the_old_seat(client, tree, point, booker):
    retiree, _, headers = booker
    old, full = make_slot(point, at(2)), make_slot(point, at(3), capacity=1)
    other = due_retiree(tree["community_a"])
    _, other_headers = account_with_binding(other)
    assert _book(client, other_headers, full, other).status_code == 201
    booking_id = _book(client, headers, old, retiree).get_json()["id"]
    response = client.post(f"/api/v1/bookings/{booking_id}/reschedule", json={"slot_id": full.id}, headers=headers)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "slot_full"
    db.session.expire_all()
    kept = db.session.get(Booking, booking_id)
    assert (kept.status, kept.slot_id) == ("booked", old.id)
    assert (_booked(old.id), _booked(full.id)) == (1, 1)


def test_slots_and_service_points_listing(client, tree, point, booker):
    retiree, _, headers = booker
    far = make_service_point(tree["community_b"], code="SP-FAR")
    street = make_service_point(tree["community_a2"], code="SP-WJ")
    db.session.commit()
    make_slot(point, at(1), capacity=3)
    make_slot(point, at(40), capacity=3)
    points = client.get(f"/api/v1/service-points?retiree_id={retiree.id}", headers=headers).get_json()
    assert (points["page"], points["per_page"], points["total"]) == (1, 20, 2)
    codes = [p["code"] for p in points["items"]]
    assert codes == ["SP-GDJ", "SP-WJ"]  # own community first; another district not offered
    assert far.code not in codes and street.code in codes
    slots = client.get(f"/api/v1/slots?service_point_id={point.id}", headers=headers).get_json()["items"]
    assert [(s["capacity"], s["remaining"]) for s in slots] == [(3, 3)]
    wide = client.get(f"/api/v1/slots?service_point_id={point.id}&from={TODAY}&to={TODAY + timedelta(days=45)}",
                      headers=headers).get_json()
    assert len(wide["items"]) == 2 and wide["total"] == 2
    assert client.get("/api/v1/slots?service_point_id=424242", headers=headers).status_code == 404
    assert client.get(f"/api/v1/slots?service_point_id={point.id}").status_code == 401
