"""Sending through the sandbox (inline jobs): consent, credits and the retry policy by errcode."""
from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import clock
from app.domain.messaging import outbox, sending, sweeper, templates
from app.extensions import db
from app.models.messaging import Campaign, Notification, OfflineContact, SubscriptionCredit
from tests.support.messaging import BOOKING_DATA, give_credits

TID = "tpl-booking-confirmed"


@pytest.fixture(autouse=True)
def fast_retries(app):
    app.config.update(MESSAGING_RETRY_BASE_SECONDS=0, MESSAGING_PENDING_STALE_SECONDS=0)
    yield
    for key in ("MESSAGING_RETRY_BASE_SECONDS", "MESSAGING_PENDING_STALE_SECONDS", "MESSAGING_MAX_ATTEMPTS"):
        app.config.pop(key, None)


def _rows() -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).order_by(Notification.id)))


def _credits(account, key="booking_confirmed") -> int:
    db.session.expire_all()
    row = db.session.scalar(select(SubscriptionCredit).where(
        SubscriptionCredit.account_id == account.id,
        SubscriptionCredit.template_id == templates.get(key).template_id))
    return row.credits if row else 0


def _send(recipient, key="k1", template="booking_confirmed", data=None, **kw):
    rows = outbox.notify(recipient, template, data or BOOKING_DATA, key, **kw)
    db.session.commit()  # inline mode: the send job runs right after commit
    return rows


def test_consenting_account_gets_one_message_and_spends_one_credit(bound_family, wechat_sandbox):
    retiree, me, son = bound_family
    give_credits(me, "booking_confirmed", 2)
    _send(retiree)
    by_account = {r.account_id: r for r in _rows()}
    assert by_account[me.id].status == "sent" and by_account[me.id].msgid
    assert by_account[son.id].status == "no_consent"
    assert wechat_sandbox.sent_count(touser=me.openid, template_id=TID) == 1
    assert wechat_sandbox.sent_count() == 1
    assert _credits(me) == 1
    sent = wechat_sandbox.received("subscribe_send")[0]
    assert sent["data"]["name1"] == {"value": "王秀英"} and sent["page"] == "pages/bookings/index"


def test_no_credit_puts_the_recipient_on_the_offline_list(bound_family, wechat_sandbox):
    retiree, me, son = bound_family
    _send(retiree)
    assert {r.status for r in _rows()} == {"no_consent"}
    assert wechat_sandbox.stats()["endpoints"]["subscribe_send"]["requests"] == 0
    contacts = list(db.session.scalars(select(OfflineContact)))
    assert {(c.retiree_id, c.account_id, c.reason) for c in contacts} == {
        (retiree.id, me.id, "no_consent"), (retiree.id, son.id, "no_consent")}


def test_long_term_consent_is_not_spent(bound_family, wechat_sandbox):
    retiree, me, son = bound_family
    give_credits(me, "certification_due", 0, long_term=True)
    _send(retiree, "cert:1", "certification_due",
          {"name": "王秀英", "due_date": "2025年6月30日", "place": "光大街社区服务站", "note": "请带身份证"})
    _send(retiree, "cert:2", "certification_due",
          {"name": "王秀英", "due_date": "2026年6月30日", "place": "光大街社区服务站", "note": "请带身份证"})
    assert wechat_sandbox.sent_count(touser=me.openid) == 2


def test_busy_minus_one_retries_then_sends_once(bound_family, wechat_sandbox):
    retiree, me, _ = bound_family
    give_credits(me, "booking_confirmed", 1)
    wechat_sandbox.fail("subscribe_send", -1, times=1)
    _send(me)
    row = _rows()[0]
    assert (row.status, row.attempts, row.errcode) == ("pending", 1, -1)
    assert row.next_attempt_at is not None and not row.credit_reserved
    assert _credits(me) == 1  # a failed send consumes nothing
    sweeper.sweep()
    row = _rows()[0]
    assert row.status == "sent" and _credits(me) == 0
    assert wechat_sandbox.sent_count() == 1


def test_persistent_failure_ends_failed_after_max_attempts(bound_family, wechat_sandbox, app):
    retiree, me, _ = bound_family
    app.config["MESSAGING_MAX_ATTEMPTS"] = 3
    give_credits(me, "booking_confirmed", 1)
    wechat_sandbox.http_error("subscribe_send", 502, times=-1)
    _send(retiree)
    for _ in range(4):
        sweeper.sweep()
    row = next(r for r in _rows() if r.account_id == me.id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert _credits(me) == 1
    assert db.session.scalar(select(OfflineContact).where(OfflineContact.reason == "send_failed")).account_id == me.id


def test_backoff_is_exponential_and_bounded(app):
    app.config.update(MESSAGING_RETRY_BASE_SECONDS=10, MESSAGING_RETRY_MAX_SECONDS=100)
    try:
        assert [sending.backoff_seconds(n) for n in (1, 2, 3, 4)] == [10, 30, 90, 100]
    finally:
        app.config.pop("MESSAGING_RETRY_MAX_SECONDS")


def test_one_stale_token_is_refreshed_by_the_client(bound_family, wechat_sandbox):
    _, me, _ = bound_family
    give_credits(me, "booking_confirmed", 1)
    wechat_sandbox.fail("subscribe_send", 40001, times=1)
    _send(me)
    assert _rows()[0].status == "sent"
    assert wechat_sandbox.sent_count() == 1


@pytest.mark.parametrize("errcode", [40001, 42001])
def test_token_refused_twice_fails_without_spending(bound_family, wechat_sandbox, errcode):
    _, me, _ = bound_family
    give_credits(me, "booking_confirmed", 1)
    wechat_sandbox.fail("subscribe_send", errcode, times=2)
    _send(me)
    row = _rows()[0]
    assert (row.status, row.errcode) == ("failed", errcode)
    assert _credits(me) == 1
    assert wechat_sandbox.token_fetches() >= 2  # the client refreshed once before giving up


def test_43101_is_final_and_zeroes_the_ledger(bound_family, wechat_sandbox):
    _, me, _ = bound_family
    give_credits(me, "booking_confirmed", 3)
    wechat_sandbox.fail("subscribe_send", 43101, times=1)
    _send(me)
    row = _rows()[0]
    assert (row.status, row.errcode) == ("no_consent", 43101)
    assert _credits(me) == 0
    sweeper.sweep()
    assert _rows()[0].status == "no_consent" and wechat_sandbox.sent_count() == 0


def test_47003_is_final_and_logged_with_the_field(bound_family, wechat_sandbox, caplog):
    _, me, _ = bound_family
    give_credits(me, "booking_confirmed", 1)
    wechat_sandbox.fail("subscribe_send", 47003, times=1, errmsg="argument invalid! data.thing2.value invalid")
    _send(me)
    row = _rows()[0]
    assert (row.status, row.errcode) == ("invalid_data", 47003)
    assert "data.thing2" in row.error
    assert "data.thing2" in caplog.text
    assert _credits(me) == 1


def test_our_formatting_never_reaches_wechat(bound_family, wechat_sandbox):
    _, me, _ = bound_family
    give_credits(me, "booking_confirmed", 1)
    _send(me, data=dict(BOOKING_DATA, booking_no="预约编号一"))
    row = _rows()[0]
    assert row.status == "invalid_data" and "booking_no" in row.error
    assert wechat_sandbox.stats()["endpoints"]["subscribe_send"]["requests"] == 0
    assert _credits(me) == 1


def test_45009_pauses_the_campaign_until_midnight_then_resumes(bound_family, wechat_sandbox):
    retiree, me, son = bound_family
    give_credits(me, "holiday_greeting", 1)
    give_credits(son, "holiday_greeting", 1)
    campaign = Campaign(name="2026 春节", template_key="holiday_greeting", status="sending")
    db.session.add(campaign)
    db.session.commit()
    wechat_sandbox.set_quota_exhausted(True)
    _send(retiree, "cny:2026", "holiday_greeting",
          {"festival": "春节", "greeting": "新春快乐，阖家幸福", "sender": "光大街社区", "date": "2026年2月17日"},
          campaign_id=campaign.id)
    db.session.expire_all()
    assert campaign.status == "paused"
    local_midnight = campaign.paused_until.astimezone(clock.SERVICE_ZONE)
    assert (local_midnight.hour, local_midnight.minute) == (0, 0)
    assert local_midnight.date() == clock.today() + timedelta(days=1)
    assert {r.status for r in _rows()} == {"pending"}
    assert _credits(me, "holiday_greeting") == 1
    wechat_sandbox.set_quota_exhausted(False)
    sweeper.sweep()  # still paused: nothing goes out
    assert wechat_sandbox.sent_count() == 0
    with clock.frozen(campaign.paused_until + timedelta(minutes=1)):
        sweeper.sweep()
    db.session.expire_all()
    assert campaign.status == "sending"
    assert {r.status for r in _rows()} == {"sent"}
    assert wechat_sandbox.sent_count() == 2


def test_binding_revoked_before_the_send_cancels(bound_family, wechat_sandbox, app):
    retiree, me, son = bound_family
    give_credits(son, "booking_confirmed", 1)
    rows = _send(retiree, enqueue=False)  # sent by hand below, after the revocation
    from app.models import Binding

    db.session.execute(Binding.__table__.update().where(Binding.account_id == son.id).values(status="revoked"))
    db.session.commit()
    counts = sending.send_batch([r.id for r in rows])
    assert counts["cancelled"] == 2 - counts.get("no_consent", 0)
    assert next(r for r in _rows() if r.account_id == son.id).status == "cancelled"
    assert wechat_sandbox.sent_count() == 0 and _credits(son) == 1


def test_one_send_at_a_time_per_openid(bound_family, wechat_sandbox):
    _, me, _ = bound_family
    give_credits(me, "booking_confirmed", 20)
    wechat_sandbox.set_delay(20)
    for i in range(20):
        outbox.notify(me, "booking_confirmed", BOOKING_DATA, f"k{i}", enqueue=False)
    db.session.commit()
    counts = sending.send_batch([r.id for r in _rows()])
    assert counts["sent"] == 20
    assert wechat_sandbox.stats()["same_openid_overlaps"] == 0


def test_a_batch_claims_only_pending_rows(bound_family, wechat_sandbox):
    _, me, _ = bound_family
    give_credits(me, "booking_confirmed", 5)
    rows = outbox.notify(me, "booking_confirmed", BOOKING_DATA, "k", enqueue=False)
    db.session.commit()
    ids = [r.id for r in rows]
    assert sending.send_batch(ids)["sent"] == 1
    assert sending.send_batch(ids).get("sent", 0) == 0  # a duplicate job sends nothing
    assert wechat_sandbox.sent_count() == 1 and _credits(me) == 4


def test_a_batch_interrupted_mid_send_returns_unstarted_rows_and_their_credits(tree, app, wechat_sandbox, monkeypatch):
    """A job timeout (RQ raises it in the job's main thread) while two sends are in flight and
    four wait: the four go back to pending with their credits; the two stay `sending` (the
    sweeper's `unknown`), and a later job sends only the four."""
    from rq.timeouts import JobTimeoutException

    from tests.support.api import bind, make_account
    from tests.support.factories import make_retiree

    retiree = make_retiree(tree["community_a"], name="赵桂兰")
    accounts = [make_account() for _ in range(6)]
    for account in accounts:
        bind(account, retiree, "child")
        give_credits(account, "booking_confirmed", 1)
    db.session.commit()
    rows = outbox.notify(retiree, "booking_confirmed", BOOKING_DATA, "interrupted", enqueue=False)
    db.session.commit()
    ids = [r.id for r in rows]
    monkeypatch.setitem(app.config, "MESSAGING_SEND_CONCURRENCY", 2)
    wechat_sandbox.set_delay(1000)

    def timeout(signum, frame):
        raise JobTimeoutException("job exceeded its timeout")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        with pytest.raises(JobTimeoutException):
            sending.send_batch(ids)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    by_status: dict[str, list[Notification]] = {}
    for row in _rows():
        by_status.setdefault(row.status, []).append(row)
    assert len(by_status["sending"]) == 2 and len(by_status["pending"]) == 4
    assert not any(r.credit_reserved for r in by_status["pending"])
    spent = {r.account_id for r in by_status["sending"]}
    assert [_credits(a) for a in accounts] == [0 if a.id in spent else 1 for a in accounts]

    wechat_sandbox.set_delay(0)
    started = time.monotonic()
    while wechat_sandbox.sent_count() < 2 and time.monotonic() - started < 5:
        time.sleep(0.05)   # the two sends in flight still arrive
    assert sending.send_batch(ids)["sent"] == 4
    assert wechat_sandbox.sent_count() == 6 and wechat_sandbox.stats()["duplicates"] == 0
    assert {r.status for r in _rows()} == {"sent", "sending"}
