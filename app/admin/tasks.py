"""Staff pages for the visit task queue (走访任务) and visit records, including the empty visit.

Also the small helpers the case pages (deaths, hardship, festivals, unit costs) share.
"""
from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.admin import bp
from app.admin.nav import register_nav
from app.admin.security import ALL_STAFF, OFFICE_STAFF, current_staff, staff_required
from app.domain import clock, inputs
from app.domain.cases import costs, visits
from app.domain.cases.errors import PhotoNotFound
from app.domain.errors import ValidationFailed
from app.domain.files import uploads
from app.extensions import db
from app.models import Staff
from app.models.cases import COST_CATEGORY_LABELS, VISIT_OUTCOME_LABELS
from app.models.tasks import TASK_KIND_LABELS, TASK_STATUSES

register_nav("走访任务", "admin.tasks", ALL_STAFF, order=20)

TASK_STATUS_LABELS = {"open": "待走访", "done": "已完成", "cancelled": "已取消"}
EMPTY_REASONS = ("无人在家", "电话联系不上", "已外出就医", "已搬离原住址", "拒绝开门")
COST_ROWS = 3  # cost-line rows on the visit form beyond the prefilled ones


# ---- helpers shared by the case pages --------------------------------------------------------

def to_utc(value: datetime | None) -> datetime | None:
    """A datetime-local form value (service-zone wall clock) as an aware UTC instant."""
    return value.replace(tzinfo=clock.SERVICE_ZONE).astimezone(clock.now().tzinfo) if value else None


def local_input(value: datetime) -> datetime:
    """An aware instant as the naive service-zone wall clock a datetime-local input shows."""
    return value.astimezone(clock.SERVICE_ZONE).replace(tzinfo=None, second=0, microsecond=0)


def show_field_errors(form: FlaskForm | None, error: ValidationFailed) -> None:
    """Put a domain ValidationFailed next to the form's fields; the rest become flash messages."""
    for name, message in error.fields.items():
        field = getattr(form, name, None) if form is not None else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]
        else:
            flash(message, "error")
    if not error.fields:
        flash(error.message, "error")


def staff_label(staff: Staff) -> str:
    return f"{staff.display_name or staff.username}（{staff.region.name}）"


@bp.app_template_filter("task_kind_label")
def task_kind_label(value: str | None) -> str:
    return TASK_KIND_LABELS.get(value or "", value or "")


@bp.app_template_filter("task_status_label")
def task_status_label(value: str | None) -> str:
    return TASK_STATUS_LABELS.get(value or "", value or "")


@bp.app_template_filter("yuan")
def yuan(value: int | None) -> str:
    return costs.yuan(value)


@bp.app_template_filter("cost_category_label")
def cost_category_label(value: str | None) -> str:
    return COST_CATEGORY_LABELS.get(value or "", value or "")


# ---- forms -----------------------------------------------------------------------------------

class VisitForm(FlaskForm):
    visited_at = DateTimeLocalField("走访时间", validators=[DataRequired("请填写走访时间")])
    visited_by = SelectField("走访人", coerce=int)
    companions = StringField("同行人员（可空）", validators=[Optional(), Length(max=200)])
    outcome = SelectField("走访结果")
    notes = TextAreaField("情况记录", validators=[Optional(), Length(max=4000)])
    photo = FileField("现场照片（可空，JPG/PNG，5 MB 以内）")


class EmptyVisitForm(FlaskForm):
    visited_at = DateTimeLocalField("走访时间", validators=[DataRequired("请填写走访时间")])
    visited_by = SelectField("走访人", coerce=int)
    reason = StringField("空访原因", validators=[DataRequired("请填写空访原因"), Length(max=200)])
    notes = TextAreaField("备注（可空）", validators=[Optional(), Length(max=4000)])
    photo = FileField("现场照片（可空）")


class AssignForm(FlaskForm):
    assignee = SelectField("负责人", coerce=int)


def _visitor_choices(staff: Staff, task) -> list[tuple[int, str]]:
    if staff.role == "helper":
        return [(staff.id, staff_label(staff))]
    people = visits.assignable_staff(staff, task)
    if staff.id not in {s.id for s in people}:
        people.insert(0, staff)
    return [(s.id, staff_label(s)) for s in people]


def _forms(staff: Staff, task):
    visit_form, empty_form = VisitForm(prefix="visit"), EmptyVisitForm(prefix="empty")
    choices = _visitor_choices(staff, task)
    visit_form.visited_by.choices = empty_form.visited_by.choices = choices
    kind = visits.effective_kind(task)
    outcomes = ("certified", "not_certified") if kind == "home_certification" else ("completed",)
    visit_form.outcome.choices = [(o, VISIT_OUTCOME_LABELS[o]) for o in outcomes]
    if request.method == "GET":
        now = local_input(clock.now())
        visit_form.visited_at.data = empty_form.visited_at.data = now
        visit_form.visited_by.data = empty_form.visited_by.data = staff.id
    return visit_form, empty_form


def _cost_rows(task) -> list[tuple[str, str]]:
    """(category, yuan text) rows for the form: posted values, else the unit-cost defaults."""
    if request.method == "POST":
        return [(request.form.get(f"cost_category_{i}", ""), request.form.get(f"cost_amount_{i}", ""))
                for i in range(_posted_rows())]
    rows = [(c, costs.yuan(a)) for c, a in costs.default_lines(visits.effective_kind(task), task.community)]
    return rows + [("", "")] * COST_ROWS


def _posted_rows() -> int:
    return min(sum(1 for k in request.form if k.startswith("cost_category_")), 20)


def _parse_costs() -> list[tuple[str, int, str | None]]:
    lines, fields = [], {}
    for i in range(_posted_rows()):
        category = request.form.get(f"cost_category_{i}", "").strip()
        raw = request.form.get(f"cost_amount_{i}", "").strip()
        if not category and not raw:
            continue
        if category not in COST_CATEGORY_LABELS or category == "hardship_help":
            fields[f"cost_{i}"] = f"第 {i + 1} 行：请选择费用类别"
            continue
        try:
            lines.append((category, costs.parse_yuan(raw, f"cost_{i}"), None))
        except ValidationFailed as exc:
            fields.update({k: f"第 {i + 1} 行：{v}" for k, v in exc.fields.items()})
    if fields:
        raise ValidationFailed(fields=fields)
    return lines


def _photo(field) -> object | None:
    upload = field.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    return uploads.store_upload(upload, kind="visit_photo", allowed_types=uploads.IMAGE_TYPES,
                                max_bytes=visits.PHOTO_MAX_BYTES, field="photo")


def _render_task(task, visit_form=None, empty_form=None, assign_form=None, status: int = 200):
    staff = current_staff()
    if visit_form is None or empty_form is None:
        visit_form, empty_form = _forms(staff, task)
    if assign_form is None and staff.role != "helper":
        assign_form = AssignForm()
        assign_form.assignee.choices = [(0, "（未分派）")] + [(s.id, staff_label(s))
                                                          for s in visits.assignable_staff(staff, task)]
        assign_form.assignee.data = task.assignee_id or 0
    history = [(t, visits.record_of_task(t)) for t in visits.chain(task)]
    return render_template(
        "cases/task_detail.html", task=task, history=history, visit_form=visit_form, empty_form=empty_form,
        assign_form=assign_form, cost_rows=_cost_rows(task), cost_choices=_cost_choices(),
        empty_reasons=EMPTY_REASONS, overdue=visits.is_overdue(task), root=visits.root_task(task),
        outcome_labels=VISIT_OUTCOME_LABELS), status


def _cost_choices() -> list[tuple[str, str]]:
    return [(c, label) for c, label in COST_CATEGORY_LABELS.items() if c != "hardship_help"]


# ---- pages -----------------------------------------------------------------------------------

@bp.get("/tasks")
@staff_required(*ALL_STAFF)
def tasks():
    staff = current_staff()
    kind = request.args.get("kind") or None
    status = request.args.get("status", "open")
    status = status if status in TASK_STATUSES else None
    assignee = inputs.query_id(request.args, "assignee")
    overdue_only = request.args.get("overdue") == "1"
    page = visits.queue(staff, kind=kind if kind in TASK_KIND_LABELS else None, status=status,
                        assignee_id=assignee, overdue_only=overdue_only, page=request.args.get("page", 1, type=int))
    assignees = [] if staff.role == "helper" else visits.staff_in_scope(staff)
    return render_template("cases/tasks.html", page=page, today=clock.today(), kinds=TASK_KIND_LABELS,
                           statuses=TASK_STATUS_LABELS, kind=kind, status=status or "", assignee=assignee,
                           overdue_only=overdue_only, assignees=assignees, staff_label=staff_label)


@bp.get("/tasks/<int:task_id>")
@staff_required(*ALL_STAFF)
def task_detail(task_id: int):
    return _render_task(visits.task_for(current_staff(), task_id))


@bp.post("/tasks/<int:task_id>/assign")
@staff_required(*OFFICE_STAFF)
def task_assign(task_id: int):
    staff = current_staff()
    task = visits.task_for(staff, task_id)
    form = AssignForm()
    form.assignee.choices = [(0, "")] + [(s.id, "") for s in visits.assignable_staff(staff, task)]
    if not form.validate_on_submit():
        flash("请选择负责人", "error")
        return redirect(url_for("admin.task_detail", task_id=task.id))
    assignee = db.session.get(Staff, form.assignee.data) if form.assignee.data else None
    visits.assign(staff, task, assignee)
    db.session.commit()
    flash("已分派给 " + staff_label(assignee) if assignee else "已取消分派", "success")
    return redirect(url_for("admin.task_detail", task_id=task.id))


@bp.post("/tasks/<int:task_id>/visit")
@staff_required(*ALL_STAFF)
def task_visit(task_id: int):
    staff = current_staff()
    task = visits.task_for(staff, task_id)
    visit_form, empty_form = _forms(staff, task)
    if visit_form.validate_on_submit():
        try:
            lines = _parse_costs()
            record = visits.record_visit(
                staff, task, visited_at=to_utc(visit_form.visited_at.data),
                visited_by=db.session.get(Staff, visit_form.visited_by.data), outcome=visit_form.outcome.data,
                notes=visit_form.notes.data, companions=visit_form.companions.data,
                photo=_photo(visit_form.photo), cost_lines=lines)
        except ValidationFailed as error:
            db.session.rollback()
            show_field_errors(visit_form, error)
        else:
            db.session.commit()
            flash(f"走访已登记（{VISIT_OUTCOME_LABELS[record.outcome]}）", "success")
            return redirect(url_for("admin.task_detail", task_id=task.id))
    return _render_task(task, visit_form, empty_form, status=400)


@bp.post("/tasks/<int:task_id>/empty-visit")
@staff_required(*ALL_STAFF)
def task_empty_visit(task_id: int):
    staff = current_staff()
    task = visits.task_for(staff, task_id)
    visit_form, empty_form = _forms(staff, task)
    if empty_form.validate_on_submit():
        try:
            _record, revisit = visits.record_empty_visit(
                staff, task, visited_at=to_utc(empty_form.visited_at.data),
                visited_by=db.session.get(Staff, empty_form.visited_by.data), reason=empty_form.reason.data,
                notes=empty_form.notes.data, photo=_photo(empty_form.photo))
        except ValidationFailed as error:
            db.session.rollback()
            show_field_errors(empty_form, error)
        else:
            db.session.commit()
            flash(f"已登记空访，已安排 {revisit.due_on:%Y-%m-%d} 前再次走访", "success")
            return redirect(url_for("admin.task_detail", task_id=revisit.id))
    return _render_task(task, visit_form, empty_form, status=400)


@bp.get("/visits/<int:record_id>/photo")
@staff_required(*ALL_STAFF)
def visit_photo(record_id: int):
    record = visits.record_for(current_staff(), record_id)
    if record.photo is None:
        raise PhotoNotFound()
    response = send_file(uploads.path_of(record.photo), mimetype=record.photo.content_type, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
