"""notify(): the outbox rows, fan-out to self and relatives, idempotency, life rules, offline list."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.domain.messaging import outbox as messaging
from app.domain.messaging import templates
from app.extensions import db
from app.models.messaging import Notification, OfflineContact
from tests.support.api import bind, make_account
from tests.support.factories import make_retiree
from tests.support.messaging import BOOKING_DATA


def _count(model=Notification, **filters) -> int:
    query = select(func.count()).select_from(model)
    for key, value in filters.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalar(query)


def test_notify_fans_out_to_self_and_relatives(bound_family):
    retiree, me, son = bound_family
    rows = messaging.notify(retiree, "booking_confirmed", BOOKING_DATA, "booking:1:confirmed")
    db.session.commit()
    assert sorted(r.account_id for r in rows) == sorted([me.id, son.id])
    assert all(r.retiree_id == retiree.id and r.title == "预约成功通知" for r in rows)
    assert _count() == 2


def test_notify_twice_returns_the_same_rows(bound_family):
    retiree, _, _ = bound_family
    first = messaging.notify(retiree, "booking_confirmed", BOOKING_DATA, "booking:1:confirmed")
    db.session.commit()
    second = messaging.notify(retiree, "booking_confirmed", BOOKING_DATA, "booking:1:confirmed")
    db.session.commit()
    assert sorted(r.id for r in first) == sorted(r.id for r in second)
    assert _count() == 2


def test_notify_adds_only_the_newly_bound_account(bound_family):
    retiree, _, _ = bound_family
    messaging.notify(retiree, "booking_confirmed", BOOKING_DATA, "k1")
    db.session.commit()
    daughter = make_account()
    bind(daughter, retiree, "child")
    db.session.commit()
    rows = messaging.notify(retiree, "booking_confirmed", BOOKING_DATA, "k1")
    db.session.commit()
    assert len(rows) == 3 and _count() == 3


def test_unique_constraint_holds_even_without_the_check(bound_family):
    retiree, me, _ = bound_family
    messaging.notify(me, "feedback_reply", {"topic": "a", "reply": "b", "replied_at": "10:00"}, "fb:1")
    db.session.commit()
    from sqlalchemy.exc import IntegrityError

    db.session.add(Notification(account_id=me.id, idempotency_key="fb:1", template_key="feedback_reply",
                                title="x", data={}, status="pending"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_notify_to_an_account_makes_one_row(bound_family):
    _, me, _ = bound_family
    rows = messaging.notify(me, "feedback_reply", {"topic": "路灯", "reply": "已修好", "replied_at": "10:00"}, "fb:9")
    db.session.commit()
    assert len(rows) == 1 and rows[0].account_id == me.id and rows[0].retiree_id is None


def test_revoked_and_pending_bindings_receive_nothing(tree):
    retiree = make_retiree(tree["community_a"])
    a, b, c = make_account(), make_account(), make_account()
    bind(a, retiree, "self", status="revoked")
    bind(b, retiree, "child", status="pending")
    bind(c, retiree, "spouse")
    db.session.commit()
    rows = messaging.notify(retiree, "activity_reminder",
                            {"activity": "重阳登高", "time": "2025年10月29日 09:00", "place": "公园", "note": "带水"},
                            "act:1")
    assert [r.account_id for r in rows] == [c.id]


def test_deceased_retiree_receives_nothing_but_bereaved_templates_reach_relatives(bound_family):
    retiree, me, son = bound_family
    retiree.life_status = "deceased"
    db.session.commit()
    assert messaging.notify(retiree, "holiday_greeting", {"festival": "春节"}, "cny:2026") == []
    assert messaging.notify(retiree, "certification_due", {"name": "王秀英"}, "cert:1") == []
    rows = messaging.notify(retiree, "condolence", {"name": "王秀英", "message": "节哀", "contact": "李专干",
                                                    "visit_date": "2025年3月2日"}, "death:1")
    assert [r.account_id for r in rows] == [son.id]
    assert _count(OfflineContact) == 0  # nobody phones a deceased retiree with reminders


def test_death_reported_stops_self_and_greetings(bound_family):
    retiree, me, son = bound_family
    retiree.life_status = "death_reported"
    db.session.commit()
    rows = messaging.notify(retiree, "booking_reminder", {"service": "认证"}, "rem:1")
    assert [r.account_id for r in rows] == [son.id]
    assert messaging.notify(retiree, "holiday_greeting", {"festival": "春节"}, "cny:2026") == []


def test_unbound_retiree_goes_on_the_offline_list_once(tree):
    retiree = make_retiree(tree["community_a"])
    db.session.commit()
    for _ in range(2):
        assert messaging.notify(retiree, "certification_due", {"name": "张三"}, "cert:2025:1") == []
        db.session.commit()
    contact = db.session.scalar(select(OfflineContact))
    assert _count(OfflineContact) == 1
    assert (contact.retiree_id, contact.reason, contact.source) == (retiree.id, "no_wechat_binding", "cert:2025:1")


def test_unknown_template_is_a_programming_error(bound_family):
    retiree, _, _ = bound_family
    with pytest.raises(templates.UnknownTemplate):
        messaging.notify(retiree, "no_such_template", {}, "x")


def test_rollback_leaves_no_rows_and_enqueues_nothing(bound_family, app):
    retiree, _, _ = bound_family
    sent = []
    app.config["JOBS_MODE"] = "inline"
    import workers.messaging as wm

    original = wm.send_batch
    wm.send_batch = lambda ids: sent.append(ids)
    try:
        messaging.notify(retiree, "booking_confirmed", BOOKING_DATA, "k-rollback")
        db.session.rollback()
        assert _count() == 0 and sent == []
        messaging.notify(retiree, "booking_confirmed", BOOKING_DATA, "k-commit")
        db.session.commit()
        assert len(sent) == 1 and len(sent[0]) == 2
    finally:
        wm.send_batch = original


def test_dates_are_stored_as_wechat_text(bound_family):
    from datetime import UTC, date, datetime

    retiree, _, _ = bound_family
    rows = messaging.notify(retiree, "booking_confirmed",
                            dict(BOOKING_DATA, time=datetime(2025, 3, 1, 1, 30, tzinfo=UTC)), "k-date")
    assert rows[0].data["time"] == "2025年3月1日 09:30"
    rows = messaging.notify(retiree, "visit_done", {"visit_date": date(2025, 3, 2)}, "k-date2")
    assert rows[0].data["visit_date"] == "2025年3月2日"


def test_enqueue_waits_for_the_outermost_commit_and_survives_savepoints(bound_family, app):
    from sqlalchemy.exc import IntegrityError

    retiree, me, _ = bound_family
    calls = []
    import workers.messaging as wm

    original, wm.send_batch = wm.send_batch, lambda ids: calls.append(ids)
    try:
        messaging.notify(retiree, "booking_confirmed", BOOKING_DATA, "k-outer")
        with db.session.begin_nested():  # a savepoint committed: not the transaction
            messaging.notify(me, "feedback_reply", {"topic": "a"}, "k-inner")
        assert calls == []
        try:  # a savepoint rolled back: the outer transaction still goes on
            with db.session.begin_nested():
                db.session.add(Notification(account_id=me.id, idempotency_key="k-inner", template_key="x",
                                            title="x", data={}, status="pending"))
        except IntegrityError:
            pass
        assert calls == []
        db.session.commit()
        assert sorted(len(c) for c in calls) == [1, 2]
        db.session.commit()  # later commits fire nothing again
        assert len(calls) == 2
    finally:
        wm.send_batch = original
