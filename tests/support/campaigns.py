"""Fixtures for campaign tests: a region tree, admins, and a small audience with every edge case."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest
from sqlalchemy import select

from app.domain.campaigns import lifecycle
from app.domain.messaging import templates
from app.extensions import db
from app.models import Account
from app.models.messaging import SubscriptionCredit
from tests.support.api import bind, make_account
from tests.support.factories import make_retiree, make_staff
from tests.support.jobs import real_redis, run_worker  # noqa: F401 — campaign tests import them from here
from tests.support.staff import fresh_client
from tests.support.staff import login as staff_login

GREETING = {"festival": "春节", "greeting": "新春快乐，阖家幸福", "sender": "五星街街道", "date": "2026年2月17日"}


def give_credit(account: Account, credits: int = 1, template_key: str = "holiday_greeting") -> None:
    template_id = templates.get(template_key).template_id
    row = db.session.scalar(select(SubscriptionCredit).where(SubscriptionCredit.account_id == account.id,
                                                             SubscriptionCredit.template_id == template_id))
    if row is None:
        row = SubscriptionCredit(account_id=account.id, template_id=template_id, credits=0, long_term_active=False)
        db.session.add(row)
    row.credits += credits
    db.session.flush()


@dataclass
class World:
    tree: dict
    street_admin: object
    other_street_admin: object
    agency_admin: object
    worker: object
    other_worker: object
    people: dict = field(default_factory=dict)
    accounts: dict = field(default_factory=dict)


@pytest.fixture
def world(tree) -> World:
    """Street A (two communities) and street B, with:
    - a: alive, self + child bound, both consented, elderly (born 1940), lonely
    - b: alive, self bound, NO consent
    - c: alive, no binding at all
    - d: alive, only a child bound (consented), disabled
    - e: deceased, self bound with consent
    - f: alive, self binding REVOKED (consented)
    - g: alive, in community_a2, self bound with consent, model worker
    - h: alive, in street B, self bound with consent
    """
    w = World(tree=tree,
              street_admin=make_staff("street_admin", tree["street_a"], username="street-a"),
              other_street_admin=make_staff("street_admin", tree["street_b"], username="street-b"),
              agency_admin=make_staff("agency_admin", tree["city"], username="agency"),
              worker=make_staff("community_worker", tree["community_a"], username="worker-a"),
              other_worker=make_staff("community_worker", tree["community_b"], username="worker-b"))

    def person(key, community, *, born=date(1955, 5, 5), categories=None, phone="13800001111"):
        w.people[key] = make_retiree(tree[community], name=f"退休{key.upper()}", birth=born,
                                     categories=categories or [], phone=phone)
        return w.people[key]

    def account(key, retiree, relation="self", status="active", consent=True):
        acc = make_account(f"openid-{key}")
        bind(acc, retiree, relation, status)
        if consent:
            give_credit(acc)
        w.accounts[key] = acc
        return acc

    a = person("a", "community_a", born=date(1940, 1, 2), categories=["lonely"])
    account("a_self", a)
    account("a_child", a, "child")
    account("b_self", person("b", "community_a"), consent=False)
    person("c", "community_a", phone="13900002222")
    account("d_child", person("d", "community_a", categories=["disabled"]), "child")
    e = person("e", "community_a")
    account("e_self", e)
    e.life_status = "deceased"
    account("f_self", person("f", "community_a"), status="revoked")
    account("g_self", person("g", "community_a2", categories=["model_worker"]))
    account("h_self", person("h", "community_b"))
    db.session.commit()
    return w


def new_campaign(staff, region, **overrides):
    spec = dict(name="2026年春节慰问", template_key="holiday_greeting", data=dict(GREETING), region=region,
                categories=[], include_retirees=True, include_relatives=True, send_at=None)
    spec.update(overrides)
    campaign = lifecycle.create_campaign(staff, **spec)
    db.session.commit()
    return campaign


def retiree_ids(keys, world) -> set[int]:
    return {world.people[k].id for k in keys}


def login(client, staff):
    """Log in through the real form (a fresh client per staff member); the login must succeed."""
    response = staff_login(client, staff)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def campaign_staff_client(app):
    """A factory: a test client logged in as the given staff member, each request in its own
    app context (its own `g`, so Flask-Login's cached user never leaks between clients)."""
    def make(staff):
        return login(fresh_client(app), staff)

    return make


def bulk_audience(community, n: int, *, consent_every: int | None = 3, tag: str = "bulk") -> set[str]:
    """n living retirees in `community`, each with an account (self binding); every
    `consent_every`-th has NO credit. Core inserts, as fast as the test database allows.
    Returns the consenting openids."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from app.models import Binding, Retiree

    now = datetime.now(UTC)
    retirees = db.session.scalars(insert(Retiree).returning(Retiree.id, sort_by_parameter_order=True), [
        {"name": f"群发{i}", "id_number_enc": b"\x01x", "id_hash": f"{tag}-{i}", "id_masked": "510302********0000",
         "gender": "female", "birth_date": date(1950, 1, 1), "community_id": community.id, "mobility_limited": False,
         "life_status": "alive", "pension_status": "normal", "created_at": now, "updated_at": now}
        for i in range(n)]).all()
    accounts = db.session.scalars(insert(Account).returning(Account.id, sort_by_parameter_order=True), [
        {"openid": f"openid-{tag}-{i}", "created_at": now, "last_login_at": now} for i in range(n)]).all()
    db.session.execute(insert(Binding), [
        {"account_id": a, "retiree_id": r, "relation": "self", "status": "active", "created_at": now}
        for a, r in zip(accounts, retirees, strict=True)])
    template_id = templates.get("holiday_greeting").template_id
    consenting = [i for i in range(n) if consent_every is None or i % consent_every != 0]
    db.session.execute(insert(SubscriptionCredit), [
        {"account_id": accounts[i], "template_id": template_id, "credits": 1, "long_term_active": False,
         "updated_at": now} for i in consenting])
    db.session.commit()
    return {f"openid-{tag}-{i}" for i in consenting}


def status_counts(campaign_id: int) -> dict[str, int]:
    from sqlalchemy import func

    from app.models.messaging import Notification

    db.session.expire_all()
    rows = db.session.execute(select(Notification.status, func.count()).where(
        Notification.campaign_id == campaign_id).group_by(Notification.status)).all()
    db.session.commit()
    return dict(rows)
