"""Certification fixtures: a frozen service clock, a region tree with a service point, retirees
whose clock is where a test needs it, and slots."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.domain import clock
from app.domain.certification import certify
from app.extensions import db
from app.models.certification import Slot
from tests.support.api import account_with_binding
from tests.support.clock import LONG_AGO, NOW, TODAY  # noqa: F401 — re-exported for tests
from tests.support.factories import make_retiree, make_service_point


@pytest.fixture
def point(tree):
    sp = make_service_point(tree["community_a"], code="SP-GDJ")
    db.session.commit()
    return sp


def retiree_in(community, *, certified_on: date | None = None, method: str = "on_site", **kwargs):
    """A retiree archived long ago (so the baseline is old), certified on `certified_on` if given."""
    retiree = make_retiree(community, **kwargs)
    retiree.created_at = LONG_AGO
    db.session.flush()
    if certified_on is not None:
        certify.record_certification(retiree, certified_on, method)
    db.session.commit()
    return retiree


def due_retiree(community, **kwargs):
    """Certified 11 months ago: due in about a month (inside the 60-day window)."""
    return retiree_in(community, certified_on=TODAY - timedelta(days=335), **kwargs)


def make_slot(point, when: datetime, capacity: int = 2, minutes: int = 30) -> Slot:
    """A slot starting at `when` (an aware local datetime)."""
    slot = Slot(service_point_id=point.id, starts_at=when, ends_at=when + timedelta(minutes=minutes),
                capacity=capacity, booked=0)
    db.session.add(slot)
    db.session.commit()
    return slot


def at(day_offset: int, hour: int = 9, minute: int = 0) -> datetime:
    """A local datetime `day_offset` days from TODAY."""
    d = TODAY + timedelta(days=day_offset)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=clock.SERVICE_ZONE)


@pytest.fixture
def booker(tree):
    """A due retiree in community_a and an account bound to them (self)."""
    retiree = due_retiree(tree["community_a"], name="李秀英")
    account, headers = account_with_binding(retiree)
    return retiree, account, headers
