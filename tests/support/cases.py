"""Fixtures for cases and visits: a frozen clock, a region tree, staff of every role in and out
of scope, and a retiree with their own account and a relative's account."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.domain import clock
from app.domain.certification import certify
from app.extensions import db
from app.models.certification import Slot
from app.models.messaging import Notification
from tests.support.api import auth_headers, bind, make_account
from tests.support.clock import LONG_AGO, NOW, TODAY  # noqa: F401 — re-exported for tests
from tests.support.factories import make_retiree, make_service_point, make_staff
from tests.support.staff import fresh_client, login


@pytest.fixture
def case_staff(tree):
    """Staff in scope of community_a (worker, street admin, agency, two helpers) and outside it."""
    ns = SimpleNamespace(
        worker=make_staff("community_worker", tree["community_a"], username="worker-a"),
        street=make_staff("street_admin", tree["street_a"], username="street-a"),
        agency=make_staff("agency_admin", tree["city"], username="agency-city"),
        helper=make_staff("helper", tree["community_a"], username="helper-a"),
        helper2=make_staff("helper", tree["community_a"], username="helper-a2"),
        other_worker=make_staff("community_worker", tree["community_b"], username="worker-b"),
        other_street=make_staff("street_admin", tree["street_b"], username="street-b"),
        neighbour_worker=make_staff("community_worker", tree["community_a2"], username="worker-a2"),
    )
    db.session.commit()
    return ns


@pytest.fixture
def family(tree):
    """王秀英 in community_a, archived long ago, with her own account and her son's, both bound."""
    retiree = make_retiree(tree["community_a"], name="王秀英", birth=date(1950, 3, 14), gender="female")
    retiree.created_at = LONG_AGO
    me, son, stranger = make_account(), make_account(), make_account()
    bind(me, retiree, "self")
    bind(son, retiree, "child")
    db.session.commit()
    return SimpleNamespace(retiree=retiree, me=me, son=son, stranger=stranger, me_headers=auth_headers(me),
                           son_headers=auth_headers(son), stranger_headers=auth_headers(stranger))


@pytest.fixture
def api(app):
    """A client whose every request runs in its own app context (as in production)."""
    return fresh_client(app)


@pytest.fixture
def staff_client(app):
    """Log a staff member in on a fresh-context client; returns the client."""
    def _login(staff):
        client = fresh_client(app)
        response = login(client, staff)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return _login


def post_report(client, headers, body, key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/reports", json=body, headers={**headers, **extra})


def notifications(template_key: str, account=None) -> list[Notification]:
    query = db.session.query(Notification).filter_by(template_key=template_key)
    if account is not None:
        query = query.filter_by(account_id=account.id)
    return query.order_by(Notification.id).all()


def booked_retiree_slot(tree, retiree):
    """Make `retiree` due for certification and give them a booking tomorrow at a service point."""
    from app.domain.certification import booking

    certify.record_certification(retiree, TODAY - timedelta(days=335), "on_site")
    point = make_service_point(tree["community_a"], code="SP-CASES")
    when = datetime(2025, 3, 11, 9, 0, tzinfo=clock.SERVICE_ZONE)
    slot = Slot(service_point_id=point.id, starts_at=when, ends_at=when + timedelta(minutes=30), capacity=2, booked=0)
    db.session.add(slot)
    db.session.flush()
    found = booking.book(None, retiree, slot.id)
    db.session.commit()
    return slot, found
