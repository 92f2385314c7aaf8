"""A campaign's audience: who is in it, and the preview numbers a reviewer sees.

Audience = living retirees whose community lies in the campaign's region subtree, having any of
the chosen categories (none chosen = everyone; 高龄 is computed from the birth date on the send
day), reached through ACTIVE bindings of the chosen kinds (the retiree's own account and/or
relatives' accounts). Deceased and death-reported retirees and revoked bindings are never in it,
and the sender checks again at send time. Dispatch: app/domain/campaign_dispatch.py.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, func, or_, select

from app.domain import clock
from app.domain.messaging import templates
from app.domain.org import regions
from app.extensions import db
from app.models import Binding, Retiree, RetireeCategory
from app.models.messaging import Campaign, SubscriptionCredit
from app.models.people import ELDERLY_AGE

log = logging.getLogger(__name__)

RELATIVE_RELATIONS = ("spouse", "child", "other")


def relations(campaign: Campaign) -> tuple[str, ...]:
    """Binding relations the campaign reaches."""
    return (("self",) if campaign.include_retirees else ()) + (RELATIVE_RELATIONS if campaign.include_relatives else ())


def reference_day(campaign: Campaign) -> date:
    """The day ages are counted on (高龄): the day sending started (the same for every batch),
    else the planned send day, else today."""
    if campaign.dispatch_started_at is not None:
        return campaign.dispatch_started_at.astimezone(clock.SERVICE_ZONE).date()
    if campaign.send_at is not None and campaign.send_at > clock.now():
        return campaign.send_at.astimezone(clock.SERVICE_ZONE).date()
    return clock.today()


def elderly_born_on_or_before(day: date) -> date:
    """Retirees born on or before this date are 80 or older on `day`."""
    try:
        return day.replace(year=day.year - ELDERLY_AGE)
    except ValueError:  # 29 February in a year whose 80-years-earlier twin is no leap year
        return day.replace(year=day.year - ELDERLY_AGE, day=28)


def audience_conditions(campaign: Campaign, day: date | None = None) -> list:
    """SQL conditions on Retiree selecting the campaign's audience (before bindings)."""
    day = day or reference_day(campaign)
    conditions = [Retiree.life_status == "alive",
                  Retiree.community_id.in_(regions.region_ids_under(campaign.region))]
    categories = list(campaign.categories or [])
    parts = []
    stored = [c for c in categories if c != "elderly"]
    if stored:
        parts.append(exists().where(RetireeCategory.retiree_id == Retiree.id, RetireeCategory.category.in_(stored)))
    if "elderly" in categories:
        parts.append(Retiree.birth_date <= elderly_born_on_or_before(day))
    if parts:
        conditions.append(or_(*parts))
    return conditions


def binding_conditions(campaign: Campaign, retiree_id_column) -> list:
    return [Binding.retiree_id == retiree_id_column, Binding.status == "active",
            Binding.relation.in_(relations(campaign))]


def _consent_condition(campaign: Campaign):
    template = templates.get(campaign.template_key)
    granted = SubscriptionCredit.credits > 0
    if template.long_term:
        granted = or_(granted, SubscriptionCredit.long_term_active.is_(True))
    return exists().where(SubscriptionCredit.account_id == Binding.account_id,
                          SubscriptionCredit.template_id == template.template_id, granted)


# ---- preview -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preview:
    retirees: int          # retirees in the audience
    recipients: int        # distinct WeChat accounts a message would go to
    with_consent: int      # of those, holding a credit (or standing consent) for the template now
    without_consent: int   # → `no_consent`, their retiree on the offline list unless reached otherwise
    no_binding: int        # retirees with no active binding of the chosen kinds → offline list
    offline: int           # retirees nobody can reach by WeChat now (no binding, or nobody consented)
    reference_day: date


def preview(campaign: Campaign) -> Preview:
    """The numbers a reviewer sees before approving (counts only; consent as of now)."""
    day = reference_day(campaign)
    audience = select(Retiree.id).where(*audience_conditions(campaign, day))
    retirees = db.session.scalar(select(func.count()).select_from(audience.subquery()))
    in_audience = Binding.retiree_id.in_(audience)
    kinds = [Binding.status == "active", Binding.relation.in_(relations(campaign))]
    recipients = db.session.scalar(select(func.count(func.distinct(Binding.account_id))).where(in_audience, *kinds))
    with_consent = db.session.scalar(select(func.count(func.distinct(Binding.account_id))).where(
        in_audience, *kinds, _consent_condition(campaign)))
    bound = exists().where(*binding_conditions(campaign, Retiree.id))
    reachable = exists().where(*binding_conditions(campaign, Retiree.id), _consent_condition(campaign))
    no_binding = db.session.scalar(select(func.count()).select_from(Retiree).where(
        *audience_conditions(campaign, day), ~bound))
    offline = db.session.scalar(select(func.count()).select_from(Retiree).where(
        *audience_conditions(campaign, day), ~reachable))
    return Preview(retirees=retirees, recipients=recipients, with_consent=with_consent,
                   without_consent=recipients - with_consent, no_binding=no_binding, offline=offline,
                   reference_day=day)
