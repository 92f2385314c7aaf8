"""Staff pages for notices (宣传推广): list, publish to a region, withdraw."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.admin import bp
from app.admin.forms import as_choices, region_by_id, region_choices, save_form
from app.admin.nav import register_nav
from app.admin.security import current_staff, staff_required
from app.domain.events import notices as notice_domain
from app.extensions import db
from app.models.notices import NOTICE_KIND_LABELS

NOTICE_STAFF = notice_domain.PUBLISHER_ROLES
register_nav("公告", "admin.notices", NOTICE_STAFF, order=55)


class NoticeForm(FlaskForm):
    title = StringField("标题", validators=[DataRequired("请填写标题"), Length(max=100)])
    kind = SelectField("类型", choices=as_choices(NOTICE_KIND_LABELS.items()))
    region_id = SelectField("发布范围", coerce=int, validators=[DataRequired("请选择范围")])
    body = TextAreaField("正文", validators=[DataRequired("请填写正文"), Length(max=notice_domain.BODY_MAX)])


@bp.app_template_filter("notice_kind_label")
def notice_kind_label(value: str | None) -> str:
    return NOTICE_KIND_LABELS.get(value or "", value or "")


@bp.get("/notices")
@staff_required(*NOTICE_STAFF)
def notices():
    page = notice_domain.list_for_staff(current_staff(), request.args.get("page", 1, type=int))
    return render_template("notices/list.html", notices=page.items, page=page)


@bp.route("/notices/new", methods=["GET", "POST"])
@staff_required(*NOTICE_STAFF)
def notice_new():
    staff = current_staff()
    form = NoticeForm()
    form.region_id.choices = as_choices(region_choices(staff))
    if request.method == "GET":
        form.region_id.data = staff.region_id
    notice = save_form(form, lambda: notice_domain.publish(
        staff, title=form.title.data, body=form.body.data, kind=form.kind.data,
        region=region_by_id(form.region_id.data)))
    if notice is not None:
        flash("公告已发布", "success")
        return redirect(url_for("admin.notices"))
    return render_template("notices/form.html", form=form), 400 if request.method == "POST" else 200


@bp.post("/notices/<int:notice_id>/withdraw")
@staff_required(*NOTICE_STAFF)
def notice_withdraw(notice_id: int):
    notice_domain.withdraw(current_staff(), notice_id)
    db.session.commit()
    flash("公告已撤回", "success")
    return redirect(url_for("admin.notices"))
