"""Certification commands: open slots, import results from files, run the daily clock job.

`import-certifications` exit codes: 0 every row imported or skipped; 1 some rows rejected (the
good ones are in); 2 the file itself could not be read (type, encoding, missing columns).
"""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from app.domain.certification import daily as certification_daily
from app.domain.certification import imports, waitlist
from app.domain.certification import slots as certification_slots
from app.domain.errors import DomainError
from app.domain.files import spreadsheets
from app.extensions import db

SHOWN_ERRORS = 100


def _fail(exc: DomainError, code: int = 2):
    details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    click.echo(f"错误：{exc.message}" + (f"（{details}）" if details and details not in exc.message else ""), err=True)
    return click.exceptions.Exit(code)


@click.command("open-slots")
@click.option("--service-point", "code", required=True, help="Service point code.")
@click.option("--from", "start", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="First day.")
@click.option("--days", type=click.IntRange(1, certification_slots.MAX_DAYS), default=14, show_default=True)
@with_appcontext
def open_slots_command(code: str, start, days: int) -> None:
    """Generate bookable slots from the service point's opening hours (closed dates skipped)."""
    try:
        point = certification_slots.point_by_code(code)
        created = certification_slots.open_slots(point, start.date(), days)
    except DomainError as exc:
        raise _fail(exc) from exc
    db.session.commit()
    click.echo(f"opened {created} slots at {point.code} from {start.date():%Y-%m-%d} for {days} days")


@click.command("import-certifications")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_certifications_command(file: str) -> None:
    """Import certification results (id_number,certified_on,method; or 身份证号,认证日期,认证方式)."""
    try:
        result = imports.import_certifications(spreadsheets.iter_rows(file), source_name=Path(file).name)
    except DomainError as exc:
        raise _fail(exc) from exc
    for error in result.errors[:SHOWN_ERRORS]:
        click.echo(f"第 {error.row} 行 [{error.column}] {error.reason}", err=True)
    if len(result.errors) > SHOWN_ERRORS:
        click.echo(f"……另有 {len(result.errors) - SHOWN_ERRORS} 条错误", err=True)
    click.echo(result.summary())
    if result.rejected:
        raise click.exceptions.Exit(1)


@click.command("certification-tick")
@click.option("--expire-offers/--no-expire-offers", default=True, show_default=True,
              help="Also expire waitlist offers past their hold.")
@with_appcontext
def certification_tick_command(expire_offers: bool) -> None:
    """Run the daily certification job now (idempotent: safe to run again the same day)."""
    summary = certification_daily.daily_tick()
    expired = 0
    if expire_offers:
        expired = waitlist.expire_offers()
        db.session.commit()
    transitions = ", ".join(f"{k} {v}" for k, v in sorted(summary.transitions.items())) or "none"
    click.echo(f"checked {summary.checked}, ended {summary.ended}, transitions: {transitions}, "
               f"home-visit tasks {summary.home_visit_tasks}, due reminders {summary.reminders}, "
               f"booking reminders {summary.booking_reminders}, offers expired {expired}")


commands = [open_slots_command, import_certifications_command, certification_tick_command]
