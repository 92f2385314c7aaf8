"""The waitlist: join a full slot, a freed seat is held for the first in line, offers expire."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import clock
from app.domain.certification import booking, waitlist
from app.domain.errors import Conflict
from app.extensions import db
from app.models.certification import Booking, Slot, WaitlistEntry
from app.models.messaging import Notification
from tests.support.api import account_with_binding
from tests.support.certification import at, due_retiree, make_slot

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _people(tree, n):
    out = []
    for _ in range(n):
        retiree = due_retiree(tree["community_a"])
        account, headers = account_with_binding(retiree)
        out.append((retiree, account, headers))
    return out


def _state(slot_id):
    db.session.expire_all()
    return db.session.get(Slot, slot_id).booked


def test_join_only_when_full_then_offer_on_cancel(client, tree, point):
    (r1, _, h1), (r2, a2, h2), (r3, _, h3) = _people(tree, 3)
    slot = make_slot(point, at(2), capacity=1)
    early = client.post("/api/v1/waitlist", json={"slot_id": slot.id, "retiree_id": r2.id}, headers=h2)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "slot_available"
    first = client.post("/api/v1/bookings", json={"slot_id": slot.id, "retiree_id": r1.id}, headers=h1).get_json()
    e2 = client.post("/api/v1/waitlist", json={"slot_id": slot.id, "retiree_id": r2.id}, headers=h2)
    e3 = client.post("/api/v1/waitlist", json={"slot_id": slot.id, "retiree_id": r3.id}, headers=h3)
    assert e2.status_code == 201 and e2.get_json()["position"] == 1 and e3.get_json()["position"] == 2
    twice = client.post("/api/v1/waitlist", json={"slot_id": slot.id, "retiree_id": r2.id}, headers=h2)
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "already_waiting"

    assert client.delete(f"/api/v1/bookings/{first['id']}", headers=h1).status_code == 200
    entry2 = db.session.get(WaitlistEntry, e2.get_json()["id"])
    db.session.refresh(entry2)
    assert entry2.status == "offered"
    assert entry2.offer_expires_at == clock.now() + timedelta(hours=2)
    assert _state(slot.id) == 1  # the seat is held for the offer, not free for anyone
    outsider_retiree = due_retiree(tree["community_a"])
    _, outsider = account_with_binding(outsider_retiree)
    grab = client.post("/api/v1/bookings", json={"slot_id": slot.id, "retiree_id": outsider_retiree.id},
                       headers=outsider)
    assert grab.get_json()["error"]["code"] == "slot_full"
    offers = db.session.scalars(select(Notification).where(Notification.template_key == "waitlist_offer")).all()
    assert [n.account_id for n in offers] == [a2.id]

    shown = client.get(f"/api/v1/retirees/{r2.id}/certification", headers=h2).get_json()["waitlist"]
    assert [(w["id"], w["status"], w["position"]) for w in shown] == [(entry2.id, "offered", None)]
    assert shown[0]["offer_expires_at"].endswith("+08:00")
    accepted = client.post(f"/api/v1/waitlist/{entry2.id}/accept", headers=h2)
    assert accepted.status_code == 201, accepted.get_json()
    assert accepted.get_json()["slot_id"] == slot.id and accepted.get_json()["status"] == "booked"
    assert _state(slot.id) == 1
    again = client.post(f"/api/v1/waitlist/{entry2.id}/accept", headers=h2)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "offer_not_active"


def test_offer_expires_and_passes_on_then_releases(app, tree, point):
    (r1, a1, _), (r2, a2, _), (r3, a3, _) = _people(tree, 3)
    slot = make_slot(point, at(3), capacity=1)
    held = booking.book(a1, r1, slot.id)
    e2 = waitlist.join_waitlist(a2, r2, slot.id)
    e3 = waitlist.join_waitlist(a3, r3, slot.id)
    db.session.commit()
    booking.cancel(held)
    db.session.commit()
    assert db.session.get(WaitlistEntry, e2.id).status == "offered"

    clock.advance(timedelta(hours=1))
    assert waitlist.expire_offers() == 0
    clock.advance(timedelta(hours=1, minutes=1))
    assert waitlist.expire_offers() == 1
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, e2.id).status == "expired"
    assert db.session.get(WaitlistEntry, e3.id).status == "offered"
    assert _state(slot.id) == 1

    clock.advance(timedelta(hours=2, minutes=1))
    assert waitlist.expire_offers() == 1
    db.session.commit()
    assert db.session.get(WaitlistEntry, e3.id).status == "expired"
    assert _state(slot.id) == 0  # nobody left in line: the seat is free again
    # The expired offer can no longer be accepted.
    with pytest.raises(Conflict):
        waitlist.accept_offer(a3, db.session.get(WaitlistEntry, e3.id))


def test_leaving_with_an_offer_passes_the_seat(app, tree, point):
    (r1, a1, _), (r2, a2, _), (r3, a3, _) = _people(tree, 3)
    slot = make_slot(point, at(3), capacity=1)
    held = booking.book(a1, r1, slot.id)
    e2, e3 = waitlist.join_waitlist(a2, r2, slot.id), waitlist.join_waitlist(a3, r3, slot.id)
    db.session.commit()
    booking.cancel(held)
    waitlist.leave_waitlist(db.session.get(WaitlistEntry, e2.id))
    db.session.commit()
    db.session.expire_all()
    assert [db.session.get(WaitlistEntry, e.id).status for e in (e2, e3)] == ["left", "offered"]
    assert _state(slot.id) == 1


def test_accepting_moves_an_existing_booking(app, tree, point):
    (r1, a1, _), (r2, a2, _) = _people(tree, 2)
    wanted, fallback = make_slot(point, at(2), capacity=1), make_slot(point, at(4), capacity=1)
    held = booking.book(a1, r1, wanted.id)
    mine = booking.book(a2, r2, fallback.id)
    entry = waitlist.join_waitlist(a2, r2, wanted.id)
    db.session.commit()
    booking.cancel(held)
    moved = waitlist.accept_offer(a2, db.session.get(WaitlistEntry, entry.id))
    db.session.commit()
    assert moved.id == mine.id and moved.slot_id == wanted.id
    assert (_state(wanted.id), _state(fallback.id)) == (1, 0)
    assert db.session.scalar(select(db.func.count()).select_from(Booking).where(
        Booking.retiree_id == r2.id, Booking.status == "booked")) == 1


def test_waitlist_denials(client, tree, point):
    (r1, _, h1), (r2, _, h2) = _people(tree, 2)
    slot = make_slot(point, at(2), capacity=1)
    client.post("/api/v1/bookings", json={"slot_id": slot.id, "retiree_id": r1.id}, headers=h1)
    mine = client.post("/api/v1/waitlist", json={"slot_id": slot.id, "retiree_id": r1.id}, headers=h1)
    assert mine.status_code == 409 and mine.get_json()["error"]["code"] == "already_booked"
    assert client.post("/api/v1/waitlist", json={"slot_id": slot.id, "retiree_id": r1.id}).status_code == 401
    assert client.post("/api/v1/waitlist", json={"slot_id": slot.id, "retiree_id": r1.id},
                       headers=h2).status_code == 403
    entry = client.post("/api/v1/waitlist", json={"slot_id": slot.id, "retiree_id": r2.id}, headers=h2).get_json()
    assert client.delete(f"/api/v1/waitlist/{entry['id']}", headers=h1).status_code == 403
    assert client.post(f"/api/v1/waitlist/{entry['id']}/accept", headers=h1).status_code == 403
    left = client.delete(f"/api/v1/waitlist/{entry['id']}", headers=h2)
    assert left.status_code == 200 and left.get_json()["status"] == "left"
    assert client.delete(f"/api/v1/waitlist/{entry['id']}", headers=h2).status_code == 409
