"""Activities in the domain layer: creation rules and scope, capacity under concurrency, attendance,
and the participation figures indicator reports read."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from app.domain import clock
from app.domain.errors import NotAuthorized, NotFound, Unprocessable, ValidationFailed
from app.domain.events import activities
from app.extensions import db
from app.models.events import Activity, ActivityRegistration
from tests.support.api import account_with_binding
from tests.support.events import new_activity
from tests.support.factories import make_retiree

pytestmark = pytest.mark.usefixtures("frozen_now", "fast_staff_passwords")


def test_create_validates_every_field(tree, people):
    now = clock.now()
    with pytest.raises(ValidationFailed) as caught:
        activities.create_activity(people["worker_a"], title=" ", place="", starts_at=now - timedelta(hours=1),
                                   ends_at=now - timedelta(hours=2), capacity=0, region=tree["community_a"],
                                   kind="party")
    assert set(caught.value.fields) == {"title", "place", "starts_at", "ends_at", "capacity", "kind"}
    with pytest.raises(ValidationFailed) as caught:
        activities.create_activity(people["worker_a"], title="合唱", place="活动室", starts_at=now + timedelta(days=1),
                                   ends_at=now + timedelta(days=1, hours=1), capacity=5, region=tree["community_a"],
                                   signup_closes_at=now + timedelta(days=2))
    assert set(caught.value.fields) == {"signup_closes_at"}


def test_create_is_limited_to_the_staff_members_subtree_and_roles(tree, people):
    starts = clock.now() + timedelta(days=3)
    kwargs = dict(title="合唱", place="活动室", starts_at=starts, ends_at=starts + timedelta(hours=1), capacity=5)
    with pytest.raises(NotAuthorized):
        activities.create_activity(people["worker_a"], region=tree["community_b"], **kwargs)
    with pytest.raises(NotAuthorized):
        activities.create_activity(people["worker_a"], region=tree["street_a"], **kwargs)
    with pytest.raises(NotAuthorized):
        activities.create_activity(people["helper_a"], region=tree["community_a"], **kwargs)
    made = activities.create_activity(people["street_a"], region=tree["community_a2"], **kwargs)
    assert made.region_id == tree["community_a2"].id and made.signup_closes_at == starts


def test_staff_see_only_their_subtree(tree, people):
    here = new_activity(people["worker_a"], tree["community_a"])
    there = new_activity(people["worker_b"], tree["community_b"])
    assert [a.id for a in activities.list_for_staff(people["street_a"]).items] == [here.id]
    assert {a.id for a in activities.list_for_staff(people["city"]).items} == {here.id, there.id}
    with pytest.raises(NotAuthorized):
        activities.get_for_staff(people["worker_a"], there.id)
    with pytest.raises(NotFound):
        activities.get_for_staff(people["worker_a"], 999_999)


def test_database_refuses_overbooking_and_duplicate_live_registrations(tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"], capacity=1)
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE activity SET registered = 2 WHERE id = :id"), {"id": activity.id})
        db.session.flush()
    db.session.rollback()
    activities.register(None, people["retiree_a"], activity.id)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.add(ActivityRegistration(activity_id=activity.id, retiree_id=people["retiree_a"].id,
                                            community_id=tree["community_a"].id, status="waitlisted"))
        db.session.flush()
    db.session.rollback()


def test_concurrent_registrations_never_exceed_capacity(app, client, tree, people):
    """N threads register N different retirees for C seats at once: exactly C seats, N - C waitlisted."""
    capacity, attempts = 4, 12  # within the connection pool (5 + 10 overflow)
    activity_id = new_activity(people["worker_a"], tree["community_a"], capacity=capacity).id
    url = f"/api/v1/activities/{activity_id}/registrations"
    callers = []
    for i in range(attempts):
        retiree = make_retiree(tree["community_a"], name=f"测试{i}")
        _, headers = account_with_binding(retiree)
        callers.append((retiree.id, headers))
    db.session.commit()
    db.session.close()  # the test's own connection goes back to the pool for the callers
    barrier = threading.Barrier(attempts)
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def attempt(retiree_id: int, headers: dict) -> None:
        with app.test_client() as own_client:
            barrier.wait()
            response = own_client.post(url, headers=headers, json={"retiree_id": retiree_id})
            with lock:
                results.append((response.status_code, (response.get_json() or {}).get("status")))

    threads = [threading.Thread(target=attempt, args=caller) for caller in callers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == sorted([(201, "registered")] * capacity + [(201, "waitlisted")] * (attempts - capacity))
    db.session.expire_all()
    assert db.session.get(Activity, activity_id).registered == capacity
    counts = dict(db.session.execute(select(ActivityRegistration.status, func.count())
                                     .where(ActivityRegistration.activity_id == activity_id)
                                     .group_by(ActivityRegistration.status)).all())
    assert counts == {"registered": capacity, "waitlisted": attempts - capacity}
    positions = [activities.waitlist_position(r) for r in db.session.scalars(
        select(ActivityRegistration).where(ActivityRegistration.status == "waitlisted"))]
    assert sorted(positions) == list(range(1, attempts - capacity + 1))


def test_attendance_is_marked_from_the_start_day(tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"], capacity=1, starts_in=timedelta(days=2))
    seated = activities.register(None, people["retiree_a"], activity.id).registration
    db.session.commit()
    other = make_retiree(tree["community_a"], name="王秀英")
    waiting = activities.register(None, other, activity.id).registration
    db.session.commit()
    with pytest.raises(Unprocessable) as caught:
        activities.mark_attendance(people["worker_a"], activity.id, {seated.id: "attended"})
    assert caught.value.code == "activity_not_started"
    with clock.frozen(clock.now() + timedelta(days=2)):
        with pytest.raises(NotAuthorized):
            activities.mark_attendance(people["worker_b"], activity.id, {seated.id: "attended"})
        with pytest.raises(ValidationFailed):
            activities.mark_attendance(people["worker_a"], activity.id, {seated.id: "present"})
        # The waitlisted registration has no seat: it cannot be marked.
        changed = activities.mark_attendance(people["worker_a"], activity.id,
                                             {seated.id: "attended", waiting.id: "attended"})
        db.session.commit()
        assert changed == 1
        assert activities.mark_attendance(people["worker_a"], activity.id, {seated.id: "attended"}) == 0
        assert db.session.get(ActivityRegistration, waiting.id).status == "waitlisted"
        marked = db.session.get(ActivityRegistration, seated.id)
        assert marked.status == "attended" and marked.attendance_marked_by_id == people["worker_a"].id
        figures = activities.participation_by_region(tree["street_a"], clock.today(), clock.today())
        assert figures == {"activities": 1, "attendances": 1, "retirees_attended": 1}
        assert activities.participation_by_region(tree["street_b"], clock.today(), clock.today()) == \
            {"activities": 0, "attendances": 0, "retirees_attended": 0}


def test_a_death_cancels_future_registrations_and_skips_deceased_in_line(tree, people):
    activity = new_activity(people["worker_a"], tree["community_a"], capacity=1)
    seated = activities.register(None, people["retiree_a"], activity.id).registration.id
    db.session.commit()
    line = [make_retiree(tree["community_a"], name=name) for name in ("王秀英", "刘德华")]
    waiting = []
    for retiree in line:
        waiting.append(activities.register(None, retiree, activity.id).registration.id)
        db.session.commit()
    line[0].life_status = "deceased"
    assert activities.cancel_future_registrations(line[0]) == 1  # their place in line
    # Now the seated retiree dies: the seat goes to the next living one in line.
    people["retiree_a"].life_status = "deceased"
    assert activities.cancel_future_registrations(people["retiree_a"]) == 1
    db.session.commit()
    statuses = [db.session.get(ActivityRegistration, i).status for i in (seated, *waiting)]
    assert statuses == ["cancelled", "cancelled", "registered"]
    assert db.session.get(Activity, activity.id).registered == 1
    assert activities.cancel_future_registrations(people["retiree_a"]) == 0
