"""The consent ledger: API reports, push events, pairing, and spending under concurrency."""
from __future__ import annotations

import threading
import time

from sqlalchemy import select

from app.domain.messaging import consent, templates
from app.extensions import db
from app.models.messaging import SubscriptionCredit
from tests.support.api import auth_headers, make_account

ONE_TIME = "tpl-booking-confirmed"
LONG_TERM = "tpl-certification-due"


def _ledger(account) -> dict[str, dict]:
    db.session.expire_all()
    return {row["template_id"]: row for row in consent.ledger(account)}


def _report(client, headers, result):
    return client.post("/api/v1/subscriptions", json=result, headers=headers)


def test_accept_twice_gives_two_credits_reject_gives_none(client, app):
    account = make_account()
    headers = auth_headers(account)
    for _ in range(2):
        response = _report(client, headers, {ONE_TIME: "accept", "tpl-waitlist-offer": "reject",
                                             "errMsg": "requestSubscribeMessage:ok"})
        assert response.status_code == 200
    ledger = _ledger(account)
    assert ledger[ONE_TIME]["credits"] == 2
    assert ledger["tpl-waitlist-offer"]["credits"] == 0
    body = response.get_json()
    assert next(t for t in body["templates"] if t["template_id"] == ONE_TIME)["credits"] == 2


def test_accept_variants_count_and_ban_zeroes(client, app):
    account = make_account()
    headers = auth_headers(account)
    _report(client, headers, {ONE_TIME: "acceptWithAudio"})
    _report(client, headers, {ONE_TIME: "accept"})
    _report(client, headers, {ONE_TIME: "filter"})
    assert _ledger(account)[ONE_TIME]["credits"] == 2
    _report(client, headers, {ONE_TIME: "ban"})
    assert _ledger(account)[ONE_TIME]["credits"] == 0


def test_long_term_accept_is_standing_consent(client, app):
    account = make_account()
    headers = auth_headers(account)
    _report(client, headers, {LONG_TERM: "accept"})
    row = _ledger(account)[LONG_TERM]
    assert row["long_term"] and row["long_term_active"] and row["credits"] == 0
    _report(client, headers, {LONG_TERM: "reject"})
    assert not _ledger(account)[LONG_TERM]["long_term_active"]


def test_unknown_template_ids_are_ignored_and_listed(client, app):
    headers = auth_headers(make_account())
    response = _report(client, headers, {"tpl-nobody-configured": "accept"})
    assert response.status_code == 200
    assert response.get_json()["ignored"] == ["tpl-nobody-configured"]
    assert db.session.scalar(select(SubscriptionCredit)) is None


def test_bad_result_object_is_400_with_fields(client, app):
    headers = auth_headers(make_account())
    response = _report(client, headers, {ONE_TIME: 1})
    assert response.status_code == 400
    assert ONE_TIME in response.get_json()["error"]["fields"]
    assert _report(client, headers, ["accept"]).status_code == 400


def test_report_needs_a_token(client, app):
    assert client.post("/api/v1/subscriptions", json={ONE_TIME: "accept"}).status_code == 401
    assert client.get("/api/v1/subscriptions").status_code == 401


def test_api_and_popup_report_of_one_accept_count_once_either_order(app):
    a, b = make_account(), make_account()
    db.session.commit()
    now = int(time.time())  # WeChat's CreateTime of the popup: seconds after the dialog closed
    consent.record_api_result(a, {ONE_TIME: "accept"})
    consent.record_push_event(a.openid, "subscribe_msg_popup_event",
                              [{"TemplateId": ONE_TIME, "SubscribeStatusString": "accept"}], str(now + 2))
    consent.record_push_event(b.openid, "subscribe_msg_popup_event",
                              [{"TemplateId": ONE_TIME, "SubscribeStatusString": "accept"}], None)
    consent.record_api_result(b, {ONE_TIME: "accept"})
    db.session.commit()
    assert _ledger(a)[ONE_TIME]["credits"] == 1
    assert _ledger(b)[ONE_TIME]["credits"] == 1
    # A second dialog accepted and reported by both sides: one more each.
    consent.record_api_result(a, {ONE_TIME: "accept"})
    consent.record_push_event(a.openid, "subscribe_msg_popup_event",
                              [{"TemplateId": ONE_TIME, "SubscribeStatusString": "accept"}], str(now + 30))
    db.session.commit()
    assert _ledger(a)[ONE_TIME]["credits"] == 2
    # A popup far from any API report is a separate accept (the phone never reported it).
    consent.record_push_event(a.openid, "subscribe_msg_popup_event",
                              [{"TemplateId": ONE_TIME, "SubscribeStatusString": "accept"}], str(now - 7200))
    db.session.commit()
    assert _ledger(a)[ONE_TIME]["credits"] == 3


def test_popup_redelivery_counts_once_and_popup_alone_counts(app):
    account = make_account()
    db.session.commit()
    item = [{"TemplateId": ONE_TIME, "SubscribeStatusString": "accept", "PopupScene": "0"}]
    for _ in range(3):  # WeChat re-delivers when it does not hear "success" in time
        consent.record_push_event(account.openid, "subscribe_msg_popup_event", item, "1700000000")
    db.session.commit()
    assert _ledger(account)[ONE_TIME]["credits"] == 1


def test_change_event_reject_turns_the_template_off(app):
    account = make_account()
    db.session.commit()
    consent.record_api_result(account, {ONE_TIME: "accept", LONG_TERM: "accept"})
    consent.record_push_event(account.openid, "subscribe_msg_change_event",
                              [{"TemplateId": ONE_TIME, "SubscribeStatusString": "reject"},
                               {"TemplateId": LONG_TERM, "SubscribeStatusString": "reject"}], "1700000100")
    db.session.commit()
    ledger = _ledger(account)
    assert ledger[ONE_TIME]["credits"] == 0 and not ledger[LONG_TERM]["long_term_active"]


def test_reserve_never_goes_negative_or_double_spends_under_concurrency(app):
    account_id = make_account().id
    db.session.add(SubscriptionCredit(account_id=account_id, template_id=ONE_TIME, credits=5))
    db.session.commit()  # and no read afterwards: on SQLite an open transaction holds the write lock
    wins: list[bool] = []
    barrier = threading.Barrier(12)

    def spend():
        with app.app_context():
            barrier.wait()
            won = consent.reserve(account_id, ONE_TIME)
            db.session.commit()
            wins.append(won)
            db.session.remove()

    threads = [threading.Thread(target=spend) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 5
    db.session.expire_all()
    assert db.session.scalar(select(SubscriptionCredit.credits)) == 0


def test_the_ledger_lists_every_template_with_its_id(client, app):
    headers = auth_headers(make_account())
    body = client.get("/api/v1/subscriptions", headers=headers).get_json()
    keys = {t["template_key"] for t in body["templates"]}
    assert {"certification_due", "holiday_greeting", "booking_confirmed"} <= keys
    assert {t["template_id"] for t in body["templates"]} == {t.template_id for t in templates.all_templates()}
