"""Certification staff pages: service points (opening hours, closed dates, open slots), the
day's roster with check-in and walk-ins, result imports, the pension-risk list, work fees."""
from __future__ import annotations

import io
from datetime import timedelta

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, SelectField, StringField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.admin import bp
from app.admin.nav import register_nav
from app.admin.security import ADMINS, OFFICE_STAFF, current_staff, staff_required
from app.domain import clock, inputs
from app.domain.certification import booking, reports
from app.domain.certification import cycle as domain_certification
from app.domain.certification import imports as certification_imports
from app.domain.certification import roster as certification_roster
from app.domain.certification import slots as certification_slots
from app.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.domain.files import spreadsheets
from app.domain.org import regions
from app.domain.org.staff import ensure_in_scope
from app.extensions import db
from app.models.certification import BOOKING_STATUS_LABELS, METHOD_LABELS, STATUS_LABELS

register_nav("资格认证", "admin.certification", OFFICE_STAFF, order=10)
register_nav("认证风险名单", "admin.certification_risk", ADMINS, order=11)

WEEKDAY_CHOICES = [SelectChoice(str(i), label) for i, label in enumerate(certification_slots.WEEKDAY_LABELS)]
DESK_METHODS = [(m, METHOD_LABELS[m]) for m in certification_roster.DESK_METHODS]


@bp.app_template_filter("cert_method_label")
def cert_method_label(value: str | None) -> str:
    return METHOD_LABELS.get(value or "", value or "")


@bp.app_template_filter("cert_status_label")
def cert_status_label(value: str | None) -> str:
    return STATUS_LABELS.get(value or "", value or "")


@bp.app_template_filter("booking_status_label")
def booking_status_label(value: str | None) -> str:
    return BOOKING_STATUS_LABELS.get(value or "", value or "")


class HoursForm(FlaskForm):
    weekday = SelectField("星期", choices=WEEKDAY_CHOICES, coerce=int)
    start = TimeField("开始", validators=[DataRequired("请填写开始时间")])
    end = TimeField("结束", validators=[DataRequired("请填写结束时间")])
    slot_minutes = IntegerField("每段分钟", default=30, validators=[DataRequired(), NumberRange(5, 480)])
    capacity = IntegerField("每段名额", default=10, validators=[DataRequired(), NumberRange(1, 1000)])


class ClosedForm(FlaskForm):
    day = DateField("闭馆日期", validators=[DataRequired("请选择日期")])
    reason = StringField("原因", validators=[Optional(), Length(max=100)])


class OpenSlotsForm(FlaskForm):
    start = DateField("起始日期", validators=[DataRequired("请选择日期")])
    days = IntegerField("天数", default=14, validators=[DataRequired(), NumberRange(1, certification_slots.MAX_DAYS)])


class WalkInForm(FlaskForm):
    id_number = StringField("身份证号", validators=[DataRequired("请填写身份证号"), Length(max=32)])
    method = SelectField("认证方式", choices=[SelectChoice(m, label) for m, label in DESK_METHODS])


class SettingsForm(FlaskForm):
    region_code = StringField("区划代码", validators=[DataRequired("请填写区划代码"), Length(min=12, max=12)])
    cycle_months = IntegerField("认证周期（月）", default=12, validators=[DataRequired(), NumberRange(1, 60)])
    due_window_days = IntegerField("提前提醒（天）", default=60, validators=[NumberRange(0, 366)])
    grace_days = IntegerField("宽限期（天）", default=0, validators=[NumberRange(0, 366)])


class ImportForm(FlaskForm):
    file = FileField("认证结果文件（.csv / .xlsx）", validators=[DataRequired("请选择文件")])


def _point_in_scope(point_id: int):
    point = certification_slots.get_point(point_id)
    ensure_in_scope(current_staff(), point.region)
    return point


def _flash_error(exc: DomainError) -> None:
    details = "；".join(exc.fields.values())
    flash(exc.message + (f"：{details}" if details and details not in exc.message else ""), "error")


@bp.get("/certification")
@staff_required(*OFFICE_STAFF)
def certification():
    staff = current_staff()
    settings = domain_certification.settings_for(staff.region)
    form = SettingsForm(region_code=staff.region.code, cycle_months=settings.cycle_months,
                        due_window_days=settings.due_window_days, grace_days=settings.grace_days)
    return render_template("certification/index.html", points=certification_slots.points_in_scope(staff),
                           today=clock.today(), is_admin=staff.role in ADMINS, settings=settings,
                           settings_form=form)


@bp.post("/certification/settings")
@staff_required(*ADMINS)
def certification_settings():
    staff = current_staff()
    form = SettingsForm()
    if not form.validate():
        flash("认证周期设置有误：" + "；".join(e for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for("admin.certification"))
    region = regions.by_code(form.region_code.data.strip())
    if region is None:
        flash("区划代码不存在", "error")
        return redirect(url_for("admin.certification"))
    ensure_in_scope(staff, region)
    domain_certification.set_region_settings(region, cycle_months=form.cycle_months.data,
                                             due_window_days=form.due_window_days.data,
                                             grace_days=form.grace_days.data, actor=staff)
    db.session.commit()
    flash(f"已更新 {region.name} 及下级区划的认证周期设置（次日起生效）", "success")
    return redirect(url_for("admin.certification"))


@bp.get("/certification/points/<int:point_id>")
@staff_required(*OFFICE_STAFF)
def certification_point(point_id: int):
    point = _point_in_scope(point_id)
    today = clock.today()
    return render_template(
        "certification/point.html", point=point, hours=certification_slots.hours_of(point),
        closed=certification_slots.closed_dates(point, today), days=certification_slots.upcoming_summary(point),
        hours_form=HoursForm(), closed_form=ClosedForm(), open_form=OpenSlotsForm(start=today),
        weekday_labels=certification_slots.WEEKDAY_LABELS)


def _back(point):
    return redirect(url_for("admin.certification_point", point_id=point.id))


@bp.post("/certification/points/<int:point_id>/hours")
@staff_required(*OFFICE_STAFF)
def certification_add_hours(point_id: int):
    point = _point_in_scope(point_id)
    form = HoursForm()
    if not form.validate():
        flash("开放时间填写有误：" + "；".join(e for errs in form.errors.values() for e in errs), "error")
        return _back(point)
    try:
        certification_slots.add_opening_hours(point, weekday=form.weekday.data, start=form.start.data,
                                              end=form.end.data, slot_minutes=form.slot_minutes.data,
                                              capacity=form.capacity.data)
    except (ValidationFailed, Conflict) as exc:
        _flash_error(exc)
        return _back(point)
    db.session.commit()
    flash("已添加开放时间", "success")
    return _back(point)


@bp.post("/certification/points/<int:point_id>/hours/<int:hours_id>/delete")
@staff_required(*OFFICE_STAFF)
def certification_delete_hours(point_id: int, hours_id: int):
    point = _point_in_scope(point_id)
    certification_slots.remove_opening_hours(point, hours_id)
    db.session.commit()
    flash("已删除开放时间（已开放的时段不受影响）", "success")
    return _back(point)


@bp.post("/certification/points/<int:point_id>/closed")
@staff_required(*OFFICE_STAFF)
def certification_add_closed(point_id: int):
    point = _point_in_scope(point_id)
    form = ClosedForm()
    if not form.validate():
        flash("闭馆日期填写有误", "error")
        return _back(point)
    removed = certification_slots.add_closed_date(point, form.day.data, form.reason.data)
    db.session.commit()
    flash(f"已设置 {form.day.data} 闭馆，删除了 {removed} 个无人预约的时段", "success")
    return _back(point)


@bp.post("/certification/points/<int:point_id>/closed/<int:closed_id>/delete")
@staff_required(*OFFICE_STAFF)
def certification_delete_closed(point_id: int, closed_id: int):
    point = _point_in_scope(point_id)
    certification_slots.remove_closed_date(point, closed_id)
    db.session.commit()
    flash("已取消闭馆日期", "success")
    return _back(point)


@bp.post("/certification/points/<int:point_id>/open-slots")
@staff_required(*OFFICE_STAFF)
def certification_open_slots(point_id: int):
    point = _point_in_scope(point_id)
    form = OpenSlotsForm()
    if not form.validate():
        flash("开放时段填写有误：" + "；".join(e for errs in form.errors.values() for e in errs), "error")
        return _back(point)
    try:
        created = certification_slots.open_slots(point, form.start.data, form.days.data)
    except ValidationFailed as exc:
        _flash_error(exc)
        return _back(point)
    db.session.commit()
    flash(f"已开放 {created} 个时段", "success")
    return _back(point)


@bp.get("/certification/points/<int:point_id>/roster")
@staff_required(*OFFICE_STAFF)
def certification_roster_page(point_id: int):
    point = _point_in_scope(point_id)
    day = inputs.query_date(request.args, "day", clock.today())
    staff = current_staff()
    return render_template(
        "certification/roster.html", point=point, day=day, today=clock.today(),
        bookings=certification_roster.roster(staff, point, day),
        walk_ins=certification_roster.walk_ins(staff, point, day), walk_in_form=WalkInForm(),
        method_choices=DESK_METHODS, prev_day=day - timedelta(days=1), next_day=day + timedelta(days=1))


@bp.post("/certification/bookings/<int:booking_id>/check-in")
@staff_required(*OFFICE_STAFF)
def certification_check_in(booking_id: int):
    found = booking.get_booking(booking_id)
    point = found.slot.service_point
    ensure_in_scope(current_staff(), point.region)
    outcome = request.form.get("outcome", "")
    try:
        certification_roster.check_in(current_staff(), found, outcome, request.form.get("method", "on_site"))
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        _flash_error(exc)
    else:
        db.session.commit()
        flash(f"{found.retiree.name}：" + ("认证通过" if outcome == "certified" else "已登记未到"), "success")
    day = found.slot.starts_at.astimezone(clock.SERVICE_ZONE).date()
    return redirect(url_for("admin.certification_roster_page", point_id=point.id, day=day.isoformat()))


@bp.post("/certification/points/<int:point_id>/walk-in")
@staff_required(*OFFICE_STAFF)
def certification_walk_in(point_id: int):
    point = _point_in_scope(point_id)
    form = WalkInForm()
    if form.validate():
        try:
            record = certification_roster.walk_in(current_staff(), point, form.id_number.data, form.method.data)
        except (ValidationFailed, NotFound, Conflict) as exc:
            _flash_error(exc)
        else:
            db.session.commit()
            flash(f"{record.retiree.name}：现场认证已登记", "success")
    else:
        flash("请填写身份证号", "error")
    return redirect(url_for("admin.certification_roster_page", point_id=point.id))


@bp.route("/certification/import", methods=["GET", "POST"])
@staff_required(*OFFICE_STAFF)
def certification_import():
    form = ImportForm()
    result = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = certification_imports.import_certifications(
                spreadsheets.iter_rows(upload.stream, filename=upload.filename), staff=current_staff(),
                source_name=upload.filename or "upload")
        except DomainError as exc:
            db.session.rollback()
            _flash_error(exc)
    return render_template("certification/import.html", form=form, result=result,
                           methods=certification_imports.METHOD_ALIASES, method_labels=METHOD_LABELS)


@bp.get("/certification/risk")
@staff_required(*ADMINS)
def certification_risk():
    rows = reports.pension_risk_list(current_staff(), purpose="view")
    db.session.commit()  # the audit entry of this view
    return render_template("certification/risk.html", rows=rows, today=clock.today())


@bp.get("/certification/risk.xlsx")
@staff_required(*ADMINS)
def certification_risk_export():
    from openpyxl import Workbook

    rows = reports.pension_risk_list(current_staff(), purpose="export")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("养老金风险名单")
    sheet.append(["姓名", "身份证号", "联系电话", "社区", "状态", "截止日期", "逾期天数", "上次认证", "上次方式",
                  "待上门认证", "养老金状态"])
    for r in rows:
        sheet.append([r.name, r.id_masked, r.phone_masked or "", r.community_name, STATUS_LABELS[r.status],
                      r.due_on, r.days_overdue, r.last_certified_on, METHOD_LABELS.get(r.last_method or "", ""),
                      "是" if r.home_visit_pending else "否", r.pension_status])
    buffer = io.BytesIO()
    workbook.save(buffer)
    db.session.commit()  # the audit entry of this export
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=f"pension-risk-{clock.today()}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/certification/work-fees")
@staff_required(*OFFICE_STAFF)
def certification_work_fees():
    today = clock.today()
    start = inputs.query_date(request.args, "from", today.replace(month=1, day=1))
    end = inputs.query_date(request.args, "to", today)
    rows = reports.work_fee_counts(current_staff().region, start, end)
    return render_template("certification/work_fees.html", rows=rows, start=start, end=end,
                           total=sum(r.certified for r in rows), fee=sum(r.fee for r in rows),
                           unit_cost=reports.DEFAULT_UNIT_COST, method_labels=METHOD_LABELS)
