"""Form helpers shared by the staff pages: region pickers, local times, ids from form fields,
and the save-or-show-errors step every create form repeats."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from flask import flash
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from app.domain import clock, inputs
from app.domain.errors import ValidationFailed
from app.domain.org import regions
from app.extensions import db
from app.models import Region, Staff

T = TypeVar("T")
# A datetime-local value outside the years the service schedules in is a typo or an attack; at
# year 1 it cannot even become a UTC instant (OverflowError). One definition: app.domain.inputs.
FIRST_YEAR, LAST_YEAR = inputs.FIRST_SCHEDULE_YEAR, inputs.LAST_SCHEDULE_YEAR


def region_choices(staff: Staff, *, exclude_communities: bool = False) -> list[tuple[int, str]]:
    """(id, indented name) of the staff member's region and everything below it, tree order."""
    query = select(Region).where(regions.subtree_condition(staff.region)).order_by(Region.path)
    if exclude_communities:
        query = query.where(Region.level != "community")
    base_depth = staff.region.path.count("/")
    return [(r.id, "　" * (r.path.count("/") - base_depth) + r.name) for r in db.session.scalars(query)]


def as_choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def region_by_id(region_id: object) -> Region | None:
    """The region a form names, or None (also for an id no row can have)."""
    return inputs.get(Region, region_id)


def form_id(raw: str | None) -> int | None:
    """An id typed into a form field or key: ASCII digits naming a possible row, else None.

    `str.isdigit` is not enough: it accepts '²', which `int()` refuses.
    """
    if not raw or not raw.isascii() or not raw.isdecimal():
        return None
    value = int(raw)
    return value if inputs.valid_id(value) else None


def in_service_years(_form, field) -> None:
    """WTForms validator: a date or datetime between FIRST_YEAR and LAST_YEAR."""
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(f"请填写 {FIRST_YEAR}–{LAST_YEAR} 年之间的时间")


def single_line_text(_form, field) -> None:
    """WTForms validator: no NUL or other control characters (PostgreSQL refuses NUL outright)."""
    if inputs.has_control_characters(field.data, multiline=False):
        raise ValidationError("含有无法识别的控制字符")


def to_utc(value: datetime | None) -> datetime | None:
    """A datetime-local form value (service-zone wall clock) as an aware UTC instant."""
    return value.replace(tzinfo=clock.SERVICE_ZONE).astimezone(UTC) if value else None


def apply_field_errors(form: FlaskForm, error: ValidationFailed) -> None:
    """Show a domain ValidationFailed next to the form's fields (others as a flash)."""
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]
        else:
            flash(message, "error")


def save_form(form: FlaskForm, action: Callable[[], T]) -> T | None:
    """For a submitted, valid form: run the domain call and commit, returning its result.

    None when the form was not submitted or not valid, or when the domain refused the values
    (rolled back, its field messages shown on the form). Other domain errors propagate to the
    error page.
    """
    if not form.validate_on_submit():
        return None
    try:
        result = action()
    except ValidationFailed as error:
        db.session.rollback()
        apply_field_errors(form, error)
        return None
    db.session.commit()
    return result
