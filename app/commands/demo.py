"""`flask --app app seed-demo`: the demo city, retirees, staff and mini-program accounts."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.domain.demo import seed as demo


@click.command("seed-demo")
@click.option("--retirees", "retiree_count", type=click.IntRange(2, 5000), default=300, show_default=True,
              help="How many fictional retirees the demo city has.")
@with_appcontext
def seed_demo_command(retiree_count: int) -> None:
    """Create demo data (idempotent: a second run changes nothing) and print the demo logins."""
    summary = demo.seed_demo(retiree_count)
    click.echo(f"regions +{summary.regions_created}, service points +{summary.service_points_created}, "
               f"retirees +{summary.retirees_created}, staff +{len(summary.staff_created)}, "
               f"mini-program accounts +{len(summary.accounts_created)}, certification slots +{summary.slots_created}")
    click.echo(f"Staff pages (/staff/login), password for every demo account: {demo.DEMO_PASSWORD}")
    for username, role, region_name in summary.staff:
        click.echo(f"  {username:<12} {role:<17} {region_name}")
    click.echo("Mini-program (WeChat sandbox): log in with code demo1.x / demo2.x / demo3.x "
               "(demo1, demo3: retirees bound to themselves; demo2: a child awaiting approval)")


commands = [seed_demo_command]
