"""List pages and list endpoints run a fixed number of queries, however many rows and regions
they show (no lazy load per row). Each request runs in its own app context, as in production,
so nothing the test loaded hides a query."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from app.domain import clock
from app.domain.evaluation import feedback
from app.domain.events import activities, meetings, notices
from app.extensions import db
from tests.support.api import account_with_binding, auth_headers, bind, make_account
from tests.support.events import new_activity
from tests.support.factories import make_retiree
from tests.support.staff import fresh_client, login

pytestmark = pytest.mark.usefixtures("frozen_now", "fast_staff_passwords")


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _count(client, url: str, **kwargs) -> int:
    with statements() as seen:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
    return len(seen)


def test_staff_lists_do_not_grow_with_rows_or_regions(app, tree, people):
    city = people["city"]
    regions = [tree["community_a"], tree["community_a2"], tree["street_a"], tree["district_b"]]
    client = fresh_client(app)
    login(client, city)

    def add(region, n: int) -> None:
        for i in range(n):
            new_activity(city, region, title=f"活动{region.id}-{i}")
            notices.publish(city, title=f"通知{region.id}-{i}", body="正文", kind="policy", region=region)
            if region.level != "community":
                meetings.create_meeting(city, title=f"例会{region.id}-{i}", starts_at=clock.now() - timedelta(days=1),
                                        place="会议室", region=region)
        db.session.commit()

    add(regions[2], 1)
    first = {url: _count(client, url) for url in ("/staff/activities", "/staff/notices", "/staff/meetings")}
    for region in regions:
        add(region, 3)
    again = {url: _count(client, url) for url in first}
    assert again == first


def test_feedback_queue_and_pending_bindings_do_not_grow(app, tree, people):
    street = people["street_a"]
    client = fresh_client(app)
    login(client, street)
    one = make_retiree(tree["community_a"], name="甲")
    bind(make_account(), one, relation="child", status="pending")
    account, _ = account_with_binding(one)
    feedback.submit(account, "question", "问题", one.id)
    db.session.commit()
    first = {url: _count(client, url) for url in ("/staff/", "/staff/feedback")}
    for community in (tree["community_a"], tree["community_a2"], tree["community_a2"]):
        retiree = make_retiree(community, name="乙")
        bind(make_account(), retiree, relation="spouse", status="pending")
        account, _ = account_with_binding(retiree)
        feedback.submit(account, "complaint", "投诉", retiree.id)
    db.session.commit()
    assert {url: _count(client, url) for url in first} == first


def test_api_lists_do_not_grow(app, tree, people):
    account, retiree = people["account_a"], people["retiree_a"]
    headers = auth_headers(account)
    client = fresh_client(app)
    full = new_activity(people["worker_a"], tree["community_a"], capacity=1, title="已满的活动")
    activities.register(None, make_retiree(tree["community_a"], name="占位"), full.id)
    activities.register(account, retiree, full.id)  # waitlisted
    notices.publish(people["city"], title="市通知", body="正文", kind="policy", region=tree["city"])
    db.session.commit()
    urls = ("/api/v1/me", f"/api/v1/activities?retiree_id={retiree.id}", f"/api/v1/notices?retiree_id={retiree.id}")
    first = {url: _count(client, url, headers=headers) for url in urls}
    for i, region in enumerate((tree["street_a"], tree["community_a"], tree["district_a"])):
        other = make_retiree(region if region.level == "community" else tree["community_a2"], name=f"亲属{i}")
        bind(account, other, relation="child", status="active")
        activity = new_activity(people["city"], region, capacity=1, title=f"活动{i}")
        activities.register(None, make_retiree(tree["community_a"], name=f"占位{i}"), activity.id)
        activities.register(account, retiree, activity.id)  # waitlisted: a place in line each
        notices.publish(people["city"], title=f"通知{i}", body="正文", kind="activity", region=region)
    db.session.commit()
    assert {url: _count(client, url, headers=headers) for url in urls} == first
