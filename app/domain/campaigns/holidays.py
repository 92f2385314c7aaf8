"""Lunar-calendar holidays and the automatic greeting drafts made ahead of them.

Dates come from `lunar_python` (a calendar library, not a hand-made table): Spring Festival
(春节) = lunar month 1 day 1, Double Ninth (重阳节) = lunar month 9 day 9; both fall in the same
Gregorian year as their lunar year, so a holiday is named by (key, Gregorian year).

`plan_holiday_campaigns` runs daily (workers/campaigns.py) and, HOLIDAY_CAMPAIGN_LEAD_DAYS
(default 14) ahead of a holiday, creates one DRAFT greeting campaign per street (街道) region that
has living retirees. Choice: one per street, because the street admin is the reviewer who knows
the street's retirees, and street subtrees never overlap (a city-wide draft beside street
drafts would greet people twice). Agency admins see and may approve every street draft in their
subtree. Communities that hang under no street get no automatic draft (create one by hand).
Idempotent: the unique (holiday_key, holiday_year, region_id) makes a second run a no-op.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from lunar_python import Lunar
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app.domain import clock
from app.extensions import db
from app.models import Region, Retiree
from app.models.messaging import Campaign

GREETING_HOUR = 9  # local time the greeting goes out on the day


@dataclass(frozen=True)
class Holiday:
    key: str
    name: str          # WeChat `phrase` field: at most 5 Chinese characters
    lunar_month: int
    lunar_day: int
    greeting: str      # WeChat `thing` field: at most 20 characters


HOLIDAYS: dict[str, Holiday] = {h.key: h for h in (
    Holiday("spring_festival", "春节", 1, 1, "新春快乐，阖家幸福，身体健康"),
    Holiday("double_ninth", "重阳节", 9, 9, "九九重阳，福寿安康"),
)}


def holiday_date(key: str, year: int) -> date:
    """The Gregorian date of holiday `key` in Gregorian year `year`."""
    holiday = HOLIDAYS[key]
    solar = Lunar.fromYmd(year, holiday.lunar_month, holiday.lunar_day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def spring_festival(year: int) -> date:
    """春节: lunar 1/1 of `year`."""
    return holiday_date("spring_festival", year)


def double_ninth(year: int) -> date:
    """重阳节: lunar 9/9 of `year`."""
    return holiday_date("double_ninth", year)


def lead_days() -> int:
    """Days ahead a holiday's campaign draft is created (HOLIDAY_CAMPAIGN_LEAD_DAYS)."""
    return current_app.config["HOLIDAY_CAMPAIGN_LEAD_DAYS"]


def upcoming(today: date, within_days: int) -> list[tuple[str, int, date]]:
    """(key, year, date) of holidays falling in [today, today + within_days], soonest first."""
    out = []
    for year in (today.year, today.year + 1):
        for key in HOLIDAYS:
            day = holiday_date(key, year)
            if today <= day <= today + timedelta(days=within_days):
                out.append((key, year, day))
    return sorted(out, key=lambda item: item[2])


def greeting_data(key: str, day: date, sender: str) -> dict[str, str]:
    """The `holiday_greeting` template data for a holiday draft."""
    holiday = HOLIDAYS[key]
    return {"festival": holiday.name, "greeting": holiday.greeting, "sender": sender,
            "date": f"{day.year}年{day.month}月{day.day}日"}


@dataclass(frozen=True)
class PlanResult:
    created: list[int]
    existing: int
    holidays: list[tuple[str, int, date]]


def plan_holiday_campaigns(today: date | None = None) -> PlanResult:
    """Create the draft greeting campaigns for holidays within the lead time (flush, no commit).

    One draft per street region with living retirees; a draft that exists already (any status,
    even cancelled: staff decided about it) is left alone.
    """
    today = today or clock.today()
    due = upcoming(today, lead_days())
    created: list[int] = []
    existing = 0
    if not due:
        return PlanResult(created, existing, due)
    community = Region.__table__.alias("community")
    has_retirees = exists().where(
        Retiree.community_id == community.c.id, Retiree.life_status == "alive",
        community.c.path.startswith(Region.path))
    streets = list(db.session.scalars(select(Region).where(Region.level == "street", has_retirees)
                                      .order_by(Region.path)))
    for key, year, day in due:
        taken = set(db.session.scalars(select(Campaign.region_id).where(
            Campaign.holiday_key == key, Campaign.holiday_year == year)))
        send_at = datetime(day.year, day.month, day.day, GREETING_HOUR, tzinfo=clock.SERVICE_ZONE)
        for street in streets:
            if street.id in taken:
                existing += 1
                continue
            campaign = Campaign(
                name=f"{year}年{HOLIDAYS[key].name}慰问（{street.name}）", template_key="holiday_greeting",
                data=greeting_data(key, day, street.name), status="draft", region_id=street.id, categories=[],
                include_retirees=True, include_relatives=True, send_at=send_at, holiday_key=key,
                holiday_year=year)
            try:
                with db.session.begin_nested():
                    db.session.add(campaign)
            except IntegrityError:  # a concurrent planner made it first
                existing += 1
                continue
            created.append(campaign.id)
    return PlanResult(created, existing, due)
