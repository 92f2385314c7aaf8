"""Fixtures for activities, meetings, ratings, feedback and notices: staff, retirees and bound
accounts, and the service clock frozen at a fixed instant (1 October 2027, 09:00). Their tests use
`frozen_now` and `fast_staff_passwords` through `pytestmark`, before the tree is made."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.domain import clock
from app.domain.events import activities
from app.extensions import db
from tests.support.api import account_with_binding
from tests.support.factories import make_retiree, make_staff

NOW = datetime(2027, 10, 1, 9, 0, tzinfo=clock.SERVICE_ZONE)


@pytest.fixture
def fast_staff_passwords(monkeypatch):
    """Staff made here need a real hash, not a slow one: these tests are not about passwords."""
    from werkzeug.security import generate_password_hash

    from app.domain.org import staff as staff_domain

    monkeypatch.setattr(staff_domain, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1000"))


@pytest.fixture
def frozen_now(app):
    with clock.frozen(NOW):
        yield NOW


@pytest.fixture
def people(tree):
    """Staff at every level and two retirees (community_a, community_b), each with a bound account."""
    p = {
        "worker_a": make_staff("community_worker", tree["community_a"], "worker-a"),
        "worker_a2": make_staff("community_worker", tree["community_a2"], "worker-a2"),
        "worker_b": make_staff("community_worker", tree["community_b"], "worker-b"),
        "helper_a": make_staff("helper", tree["community_a"], "helper-a"),
        "street_a": make_staff("street_admin", tree["street_a"], "street-a"),
        "street_b": make_staff("street_admin", tree["street_b"], "street-b"),
        "city": make_staff("agency_admin", tree["city"], "city-admin"),
        "retiree_a": make_retiree(tree["community_a"], name="张桂芳"),
        "retiree_b": make_retiree(tree["community_b"], name="李建国"),
    }
    db.session.commit()
    p["account_a"], p["headers_a"] = account_with_binding(p["retiree_a"])
    p["account_b"], p["headers_b"] = account_with_binding(p["retiree_b"])
    db.session.commit()
    return p


def new_activity(staff, region, *, capacity: int = 10, starts_in: timedelta = timedelta(days=7),
                 title: str = "重阳登高健步走", **kw):
    """An activity starting `starts_in` from the frozen now (two hours long), committed."""
    starts_at = clock.now() + starts_in
    activity = activities.create_activity(staff, title=title, place="光大街社区活动中心", starts_at=starts_at,
                                          ends_at=starts_at + timedelta(hours=2), capacity=capacity,
                                          region=region, kind=kw.pop("kind", "double_ninth"), **kw)
    db.session.commit()
    return activity
