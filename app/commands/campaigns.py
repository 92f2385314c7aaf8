"""`flask --app app plan-holiday-campaigns`: draft the holiday greeting campaigns now (the daily
job does the same), and `flask --app app campaign-tick`: the campaign tick once."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from app.domain.campaigns import holidays
from app.extensions import db


@click.command("plan-holiday-campaigns")
@with_appcontext
def plan_holiday_campaigns_command() -> None:
    """Create the draft greeting campaigns of holidays within HOLIDAY_CAMPAIGN_LEAD_DAYS (idempotent)."""
    result = holidays.plan_holiday_campaigns()
    db.session.commit()
    for key, year, day in result.holidays:
        click.echo(f"{key} {year}: {day.isoformat()}")
    click.echo(f"created {len(result.created)}, already there {result.existing}")


@click.command("campaign-tick")
@with_appcontext
def campaign_tick_command() -> None:
    """Start due campaigns, close finished ones, re-enqueue lost slices (the periodic job, once)."""
    from workers import campaigns

    click.echo(json.dumps(campaigns.tick()))


commands = [plan_holiday_campaigns_command, campaign_tick_command]
