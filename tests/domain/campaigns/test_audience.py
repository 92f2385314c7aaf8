"""Who a campaign reaches: region subtree, categories (incl. computed 高龄), binding kinds,
deceased and revoked excluded; the preview numbers; the streaming dispatch (inline jobs)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.domain import clock
from app.domain.campaigns import audience as campaign_audience
from app.domain.campaigns import dispatch as campaign_dispatch
from app.domain.campaigns import lifecycle
from app.extensions import db
from app.models import Retiree
from app.models.messaging import Campaign, Notification, OfflineContact
from tests.support.campaigns import new_campaign, retiree_ids


def _audience(campaign) -> set[int]:
    return set(db.session.scalars(select(Retiree.id).where(*campaign_audience.audience_conditions(campaign))))


def test_region_subtree_and_living_only(world):
    street = new_campaign(world.street_admin, world.tree["street_a"])
    assert _audience(street) == retiree_ids("abcdfg", world)  # e is deceased, h is in street B
    community = new_campaign(world.street_admin, world.tree["community_a2"])
    assert _audience(community) == retiree_ids("g", world)
    city = new_campaign(world.agency_admin, world.tree["city"])
    assert _audience(city) == retiree_ids("abcdfgh", world)


def test_categories_any_of_and_elderly_computed_on_the_send_day(world):
    lonely_or_model = new_campaign(world.street_admin, world.tree["street_a"], categories=["lonely", "model_worker"])
    assert _audience(lonely_or_model) == retiree_ids("ag", world)
    elderly = new_campaign(world.street_admin, world.tree["street_a"], categories=["elderly"])
    with clock.frozen(date(2019, 6, 1)):   # a (born 1940-01-02) is 79
        assert _audience(elderly) == set()
    with clock.frozen(date(2020, 1, 2)):   # 80 today
        assert _audience(elderly) == retiree_ids("a", world)
    both = new_campaign(world.street_admin, world.tree["street_a"], categories=["elderly", "disabled"])
    assert _audience(both) == retiree_ids("ad", world)


def test_preview_numbers(world):
    campaign = new_campaign(world.street_admin, world.tree["street_a"])
    p = campaign_audience.preview(campaign)
    # retirees a b c d f g; accounts: a_self a_child b_self d_child g_self (f's binding is revoked)
    assert (p.retirees, p.recipients, p.with_consent, p.without_consent) == (6, 5, 4, 1)
    # no binding: c, f; nobody consented: b (self without credit) → offline c, f, b
    assert (p.no_binding, p.offline) == (2, 3)


def test_preview_self_only_and_relatives_only(world):
    self_only = campaign_audience.preview(
        new_campaign(world.street_admin, world.tree["street_a"], include_relatives=False))
    assert (self_only.recipients, self_only.with_consent, self_only.no_binding, self_only.offline) == (3, 2, 3, 4)
    relatives = campaign_audience.preview(
        new_campaign(world.street_admin, world.tree["street_a"], include_retirees=False))
    assert (relatives.recipients, relatives.with_consent, relatives.no_binding) == (2, 2, 4)


def test_dispatch_writes_rows_and_offline_list_and_is_idempotent(world, wechat_sandbox, app):
    app.config["MESSAGING_BATCH_SIZE"] = 2  # several keyset pages even for this small audience
    try:
        campaign = new_campaign(world.street_admin, world.tree["street_a"])
        lifecycle.approve(world.street_admin, campaign)
        db.session.commit()  # inline jobs: the dispatch and its send batches run now
        rows = db.session.execute(select(Notification.account_id, Notification.status, Notification.idempotency_key)
                                  .where(Notification.campaign_id == campaign.id)).all()
        by_account = {a: (s, k) for a, s, k in rows}
        expected = {world.accounts[k].id for k in ("a_self", "a_child", "b_self", "d_child", "g_self")}
        assert set(by_account) == expected
        a_self = world.accounts["a_self"].id
        assert by_account[a_self] == ("sent", f"campaign:{campaign.id}:{a_self}")
        assert by_account[world.accounts["b_self"].id][0] == "no_consent"
        assert wechat_sandbox.stats()["accepted"] == 4
        offline = db.session.execute(select(OfflineContact.retiree_id, OfflineContact.reason)
                                     .where(OfflineContact.campaign_id == campaign.id)).all()
        people = world.people
        assert set(offline) == {(people["c"].id, "no_wechat_binding"), (people["f"].id, "no_wechat_binding"),
                                (people["b"].id, "no_consent")}
        db.session.expire_all()
        campaign = db.session.get(Campaign, campaign.id)
        assert campaign.status == "sending" and campaign.dispatched_at is not None
        assert (campaign.total_count, campaign.offline_count) == (5, 2)
        # A second dispatch (a duplicate job, a restart from scratch) writes and sends nothing.
        campaign.dispatched_at, campaign.dispatch_cursor = None, 0
        db.session.commit()
        again = campaign_dispatch.dispatch(campaign.id)
        assert (again.batches, again.finished) == (3, True)  # 6 retirees in slices of 2, all run again
        assert db.session.query(Notification).count() == 5
        assert db.session.query(OfflineContact).count() == 3
        assert wechat_sandbox.stats()["accepted"] == 4
        assert campaign_dispatch.finish_done_campaigns() == 1
    finally:
        app.config.pop("MESSAGING_BATCH_SIZE", None)
