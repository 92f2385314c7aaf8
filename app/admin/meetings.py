"""Staff pages for policy meetings (社保政策例会): list, create, materials, invitations, attendance."""
from __future__ import annotations

from datetime import date, timedelta

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.admin import bp
from app.admin.forms import (
    FIRST_YEAR,
    LAST_YEAR,
    as_choices,
    form_id,
    in_service_years,
    region_by_id,
    region_choices,
    save_form,
    to_utc,
)
from app.admin.nav import register_nav
from app.admin.security import current_staff, staff_required
from app.domain import clock
from app.domain.errors import ValidationFailed
from app.domain.events import meetings as meeting_domain
from app.extensions import csrf, db

MEETING_STAFF = ("community_worker", "street_admin", "agency_admin")
register_nav("政策例会", "admin.meetings", MEETING_STAFF, order=45)


class MeetingForm(FlaskForm):
    title = StringField("例会主题", validators=[DataRequired("请填写主题"), Length(max=100)])
    starts_at = DateTimeLocalField("时间", validators=[DataRequired("请填写时间"), in_service_years])
    place = StringField("地点", validators=[DataRequired("请填写地点"), Length(max=200)])
    region_id = SelectField("参会范围", coerce=int, validators=[DataRequired("请选择范围")])
    agenda = TextAreaField("议程", validators=[Optional(), Length(max=meeting_domain.AGENDA_MAX)])


def _parse_date(raw: str | None, default: date) -> date:
    """A YYYY-MM-DD query value within the years forms accept, else `default`."""
    try:
        day = date.fromisoformat(raw) if raw else default
    except ValueError:
        return default
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else default


@bp.get("/meetings")
@staff_required(*MEETING_STAFF)
def meetings():
    staff = current_staff()
    today = clock.today()
    date_from = _parse_date(request.args.get("from"), date(today.year, 1, 1))
    date_to = _parse_date(request.args.get("to"), today)
    rates = (meeting_domain.attendance_by_community(staff.region, date_from=date_from, date_to=date_to)
             if staff.role in meeting_domain.ADMIN_ROLES else [])
    page = meeting_domain.list_for_staff(staff, request.args.get("page", 1, type=int))
    return render_template("meetings/list.html", meetings=page.items, page=page, rates=rates,
                           is_admin=staff.role in meeting_domain.ADMIN_ROLES, date_from=date_from, date_to=date_to)


@bp.route("/meetings/new", methods=["GET", "POST"])
@staff_required(*meeting_domain.ADMIN_ROLES)
def meeting_new():
    staff = current_staff()
    form = MeetingForm()
    form.region_id.choices = as_choices(region_choices(staff, exclude_communities=True))
    if request.method == "GET":
        form.region_id.data = staff.region_id
        form.starts_at.data = (clock.local_now() + timedelta(days=7)).replace(hour=9, minute=0, second=0,
                                                                               microsecond=0, tzinfo=None)
    meeting = save_form(form, lambda: meeting_domain.create_meeting(
        staff, title=form.title.data, starts_at=to_utc(form.starts_at.data), place=form.place.data,
        region=region_by_id(form.region_id.data), agenda=form.agenda.data))
    if meeting is not None:
        flash("例会已创建，请上传材料并邀请参会人员", "success")
        return redirect(url_for("admin.meeting_detail", meeting_id=meeting.id))
    return render_template("meetings/form.html", form=form), 400 if request.method == "POST" else 200


@bp.get("/meetings/<int:meeting_id>")
@staff_required(*MEETING_STAFF)
def meeting_detail(meeting_id: int):
    staff = current_staff()
    page = meeting_domain.page_for_staff(staff, meeting_id)
    return render_template(
        "meetings/detail.html", meeting=page.meeting, materials=page.materials, invitations=page.invitations,
        manage=page.manage, started=page.started, rates=page.rates,
        invite_choices=region_choices(staff) if page.manage else [])


@bp.post("/meetings/<int:meeting_id>/materials")
@csrf.exempt  # checked below, once the larger body limit is set
@staff_required(*meeting_domain.ADMIN_ROLES)
def meeting_material_upload(meeting_id: int):
    # Materials may be larger than the app-wide body limit; allow their own limit plus form overhead.
    # The app-wide CSRF check would parse the body first, under the smaller limit (a 413), so it
    # runs here instead, after the limit is raised.
    request.max_content_length = meeting_domain.MATERIAL_MAX_BYTES + 64 * 1024
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()
    try:
        material = meeting_domain.add_material(current_staff(), meeting_id, request.files.get("file"))
    except ValidationFailed as error:
        db.session.rollback()
        flash("上传失败：" + "；".join(error.fields.values()), "error")
    else:
        db.session.commit()
        flash(f"已上传：{material.file.original_name}", "success")
    return redirect(url_for("admin.meeting_detail", meeting_id=meeting_id))


@bp.get("/meetings/<int:meeting_id>/materials/<int:material_id>")
@staff_required(*MEETING_STAFF)
def meeting_material_download(meeting_id: int, material_id: int):
    stored, path = meeting_domain.material_for_download(current_staff(), meeting_id, material_id)
    response = send_file(path, mimetype=stored.content_type, as_attachment=True,
                         download_name=stored.original_name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/meetings/<int:meeting_id>/invitations")
@staff_required(*meeting_domain.ADMIN_ROLES)
def meeting_invite(meeting_id: int):
    region = region_by_id(form_id(request.form.get("region_id")))
    try:
        added = meeting_domain.invite_region(current_staff(), meeting_id, region)
    except ValidationFailed as error:
        db.session.rollback()
        flash("；".join(error.fields.values()), "error")
    else:
        db.session.commit()
        flash(f"已邀请 {added} 名社区专干" if added else "该范围内的社区专干都已在邀请名单中", "success")
    return redirect(url_for("admin.meeting_detail", meeting_id=meeting_id))


@bp.post("/meetings/<int:meeting_id>/attendance")
@staff_required(*meeting_domain.ADMIN_ROLES)
def meeting_attendance(meeting_id: int):
    attended = {i for i in map(form_id, request.form.getlist("attended")) if i is not None}
    recorded = meeting_domain.record_attendance(current_staff(), meeting_id, attended)
    db.session.commit()
    flash(f"已登记出席：{len(attended)} / {recorded} 人", "success")
    return redirect(url_for("admin.meeting_detail", meeting_id=meeting_id))
