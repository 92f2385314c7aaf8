"""`flask --app app create-staff`: create a staff account for the staff pages."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.domain.errors import DomainError
from app.domain.org import staff as staff_domain
from app.extensions import db
from app.models.staff import ROLE_LABELS, STAFF_ROLES


@click.command("create-staff")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES),
              help="helper 楼院长/小组长, community_worker 社区专干, street_admin 街道, agency_admin 社保经办机构")
@click.option("--region", "region_code", required=True, metavar="CODE",
              help="12-digit division code of the region the account is scoped to")
@click.option("--password", default=None,
              help="initial password (prompted, hidden and confirmed, when omitted)")
@click.option("--name", "display_name", default=None, help="display name, e.g. 李红梅")
@with_appcontext
def create_staff_command(username: str, role: str, region_code: str, password: str | None,
                         display_name: str | None) -> None:
    """Create staff account USERNAME with a role, scoped to the region subtree CODE."""
    if password is None:
        password = click.prompt("密码 Password", hide_input=True, confirmation_prompt=True)
    try:
        staff = staff_domain.create_staff(username.strip(), password, role, region_code.strip(),
                                          display_name=display_name)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        details = "; ".join(f"{field}: {text}" for field, text in exc.fields.items())
        raise click.ClickException(f"{exc.message}" + (f" ({details})" if details else "")) from exc
    click.echo(f"created staff {staff.username} id={staff.id} role={role} ({ROLE_LABELS[role]}) "
               f"region={staff.region.code} {staff.region.name}")


commands = [create_staff_command]
