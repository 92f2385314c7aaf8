"""Staff pages for activities (重阳节文体活动 and others): list, create, roster with attendance."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.admin import bp
from app.admin.forms import as_choices, form_id, in_service_years, region_by_id, region_choices, save_form, to_utc
from app.admin.nav import register_nav
from app.admin.security import current_staff, staff_required
from app.domain import clock
from app.domain.events import activities as activity_domain
from app.extensions import db
from app.models.events import ACTIVITY_KIND_LABELS, REGISTRATION_STATUS_LABELS

ACTIVITY_STAFF = activity_domain.CREATOR_ROLES
register_nav("文体活动", "admin.activities", ACTIVITY_STAFF, order=40)


@bp.app_template_filter("activity_kind_label")
def activity_kind_label(value: str | None) -> str:
    return ACTIVITY_KIND_LABELS.get(value or "", value or "")


@bp.app_template_filter("registration_status_label")
def registration_status_label(value: str | None) -> str:
    return REGISTRATION_STATUS_LABELS.get(value or "", value or "")


# ---- pages ---------------------------------------------------------------------------------------------

class ActivityForm(FlaskForm):
    title = StringField("活动名称", validators=[DataRequired("请填写活动名称"), Length(max=100)])
    kind = SelectField("类型", choices=as_choices(ACTIVITY_KIND_LABELS.items()), default="double_ninth")
    description = TextAreaField("活动说明", validators=[Optional(), Length(max=activity_domain.DESCRIPTION_MAX)])
    place = StringField("地点", validators=[DataRequired("请填写地点"), Length(max=200)])
    region_id = SelectField("面向范围", coerce=int, validators=[DataRequired("请选择范围")])
    starts_at = DateTimeLocalField("开始时间", validators=[DataRequired("请填写开始时间"), in_service_years])
    ends_at = DateTimeLocalField("结束时间", validators=[DataRequired("请填写结束时间"), in_service_years])
    capacity = IntegerField("名额", validators=[DataRequired("请填写名额"),
                                              NumberRange(1, activity_domain.MAX_CAPACITY, "名额应为 1–10000")])
    signup_opens_at = DateTimeLocalField("报名开始（可空：立即）", validators=[Optional(), in_service_years])
    signup_closes_at = DateTimeLocalField("报名截止（可空：活动开始）", validators=[Optional(), in_service_years])


@bp.get("/activities")
@staff_required(*ACTIVITY_STAFF)
def activities():
    include_past = request.args.get("past") == "1"
    page = activity_domain.list_for_staff(current_staff(), include_past=include_past,
                                          page=request.args.get("page", 1, type=int))
    return render_template("activities/list.html", activities=page.items, page=page, include_past=include_past,
                           now=clock.now())


@bp.route("/activities/new", methods=["GET", "POST"])
@staff_required(*ACTIVITY_STAFF)
def activity_new():
    staff = current_staff()
    form = ActivityForm()
    form.region_id.choices = as_choices(region_choices(staff))
    if request.method == "GET":
        form.region_id.data = staff.region_id
    activity = save_form(form, lambda: activity_domain.create_activity(
        staff, title=form.title.data, kind=form.kind.data, description=form.description.data,
        place=form.place.data, region=region_by_id(form.region_id.data),
        starts_at=to_utc(form.starts_at.data), ends_at=to_utc(form.ends_at.data),
        capacity=form.capacity.data, signup_opens_at=to_utc(form.signup_opens_at.data),
        signup_closes_at=to_utc(form.signup_closes_at.data)))
    if activity is not None:
        flash("活动已发布", "success")
        return redirect(url_for("admin.activity_detail", activity_id=activity.id))
    status = 400 if request.method == "POST" else 200
    return render_template("activities/form.html", form=form), status


@bp.get("/activities/<int:activity_id>")
@staff_required(*ACTIVITY_STAFF)
def activity_detail(activity_id: int):
    activity = activity_domain.get_for_staff(current_staff(), activity_id)
    rows = activity_domain.roster(activity)
    started = activity.starts_at.astimezone(clock.SERVICE_ZONE).date() <= clock.today()
    return render_template("activities/detail.html", activity=activity, rows=rows, can_mark=started)


@bp.post("/activities/<int:activity_id>/attendance")
@staff_required(*ACTIVITY_STAFF)
def activity_attendance(activity_id: int):
    marks: dict[int, str] = {}
    for key, value in request.form.items():
        registration_id = form_id(key[5:]) if key.startswith("mark-") else None
        if registration_id is not None and value:
            marks[registration_id] = value
    changed = activity_domain.mark_attendance(current_staff(), activity_id, marks)
    db.session.commit()
    flash(f"已保存出席登记（{changed} 人有变化）", "success")
    return redirect(url_for("admin.activity_detail", activity_id=activity_id))
