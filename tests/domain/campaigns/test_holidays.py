"""Lunar holiday dates (checked against published calendars) and the automatic drafts."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.domain import clock
from app.domain.campaigns import holidays
from app.domain.messaging import templates
from app.extensions import db
from app.models.messaging import Campaign
from tests.support.factories import make_retiree

# 国务院办公厅 holiday notices / the Purple Mountain Observatory calendar.
SPRING_FESTIVAL = {2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6),
                   2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3)}
DOUBLE_NINTH = {2025: date(2025, 10, 29), 2026: date(2026, 10, 18), 2027: date(2027, 10, 8),
                2028: date(2028, 10, 26), 2029: date(2029, 10, 16), 2030: date(2030, 10, 5)}


@pytest.mark.parametrize("year", sorted(SPRING_FESTIVAL))
def test_lunar_dates_match_published_calendars(year):
    assert holidays.spring_festival(year) == SPRING_FESTIVAL[year]
    assert holidays.double_ninth(year) == DOUBLE_NINTH[year]


def test_upcoming_window_crosses_the_year_end():
    assert holidays.upcoming(date(2026, 2, 3), 14) == [("spring_festival", 2026, date(2026, 2, 17))]
    assert holidays.upcoming(date(2026, 2, 2), 14) == []
    assert holidays.upcoming(date(2027, 1, 25), 14) == [("spring_festival", 2027, date(2027, 2, 6))]
    assert holidays.upcoming(date(2026, 12, 31), 40) == [("spring_festival", 2027, date(2027, 2, 6))]


def test_greeting_data_fits_the_wechat_template():
    for key, day in (("spring_festival", SPRING_FESTIVAL[2026]), ("double_ninth", DOUBLE_NINTH[2026])):
        data = holidays.greeting_data(key, day, "五星街街道")
        rendered = templates.render(templates.get("holiday_greeting"), data)
        assert rendered["date4"]["value"] == f"{day.year}年{day.month}月{day.day}日"
        assert rendered["phrase1"]["value"] == holidays.HOLIDAYS[key].name


def _drafts():
    return list(db.session.scalars(select(Campaign).order_by(Campaign.region_id, Campaign.holiday_key)))


def test_drafts_per_street_ahead_of_the_holiday_and_idempotent(tree, app):
    make_retiree(tree["community_a"])
    make_retiree(tree["community_b"])
    db.session.commit()
    with clock.frozen(date(2026, 2, 2)):  # 15 days ahead: not yet
        assert holidays.plan_holiday_campaigns().created == []
    with clock.frozen(date(2026, 2, 3)):  # 14 days ahead
        result = holidays.plan_holiday_campaigns()
        db.session.commit()
    assert len(result.created) == 2
    drafts = _drafts()
    assert {d.region_id for d in drafts} == {tree["street_a"].id, tree["street_b"].id}
    first = drafts[0]
    assert (first.status, first.holiday_key, first.holiday_year, first.template_key) == (
        "draft", "spring_festival", 2026, "holiday_greeting")
    assert first.send_at.astimezone(clock.SERVICE_ZONE).replace(tzinfo=None).isoformat() == "2026-02-17T09:00:00"
    assert first.data["festival"] == "春节" and first.data["date"] == "2026年2月17日"
    assert first.include_retirees and first.include_relatives and first.categories == []
    with clock.frozen(date(2026, 2, 10)):  # the daily job again: nothing new
        again = holidays.plan_holiday_campaigns()
        db.session.commit()
    assert (again.created, again.existing) == ([], 2)
    assert len(_drafts()) == 2


def test_only_streets_with_living_retirees_and_lead_days_configurable(tree, app, monkeypatch):
    make_retiree(tree["community_a"])
    dead = make_retiree(tree["community_b"])
    dead.life_status = "deceased"
    db.session.commit()
    monkeypatch.setitem(app.config, "HOLIDAY_CAMPAIGN_LEAD_DAYS", 30)
    with clock.frozen(date(2026, 9, 20)):  # Double Ninth 2026-10-18 is 28 days away
        result = holidays.plan_holiday_campaigns()
        db.session.commit()
    assert [(d.region_id, d.holiday_key, d.holiday_year) for d in _drafts()] == [
        (tree["street_a"].id, "double_ninth", 2026)]
    assert len(result.created) == 1


def test_the_unique_key_refuses_a_second_draft(tree, app):
    from sqlalchemy.exc import IntegrityError

    for _ in range(2):
        db.session.add(Campaign(name="x", template_key="holiday_greeting", region_id=tree["street_a"].id,
                                holiday_key="double_ninth", holiday_year=2026))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_plan_command(tree, runner):
    make_retiree(tree["community_a"])
    db.session.commit()
    with clock.frozen(date(2026, 10, 10)):
        result = runner.invoke(args=["plan-holiday-campaigns"])
    assert result.exit_code == 0, result.output
    assert "double_ninth 2026" in result.output and "created 1" in result.output
