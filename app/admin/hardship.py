"""Staff pages for hardship cases (特困老人帮扶): list, reviews due, case page with assessment,
helpers, help records, reviews and closing."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.admin import bp
from app.admin.nav import register_nav
from app.admin.security import ALL_STAFF, OFFICE_STAFF, current_staff, staff_required
from app.admin.tasks import show_field_errors, staff_label
from app.domain import clock
from app.domain.archives import records as archives
from app.domain.cases import costs, visits
from app.domain.cases import hardship as hardship_domain
from app.domain.errors import IdNumberNotFound, NotFound, ValidationFailed
from app.extensions import db
from app.models import Staff

register_nav("特困帮扶", "admin.hardship", ALL_STAFF, order=24)


class OpenCaseForm(FlaskForm):
    id_number = StringField("退休人员身份证号", validators=[DataRequired("请填写身份证号"), Length(max=32)])
    description = TextAreaField("困难情况", validators=[DataRequired("请填写困难情况"), Length(max=4000)])


class AssessForm(FlaskForm):
    assessment = TextAreaField("评估意见", validators=[DataRequired("请填写评估意见"), Length(max=4000)])
    review_days = IntegerField("复核周期（天）", validators=[Optional(), NumberRange(1, 366, "应为 1–366 天")])


class HelperForm(FlaskForm):
    helper = SelectField("帮扶人", coerce=int)


class HelpForm(FlaskForm):
    kind = SelectField("帮扶方式", choices=[SelectChoice("money", "资金帮扶"), SelectChoice("service", "服务帮扶")])
    amount = StringField("金额（元）", validators=[Optional(), Length(max=20)])
    description = TextAreaField("帮扶内容", validators=[Optional(), Length(max=4000)])
    helped_on = DateField("帮扶日期", validators=[DataRequired("请填写日期")])


class ReviewForm(FlaskForm):
    note = TextAreaField("复核情况", validators=[DataRequired("请填写复核情况"), Length(max=4000)])
    next_review_on = DateField("下次复核日期（可空：按周期）", validators=[Optional()])


class CloseForm(FlaskForm):
    reason = StringField("结案原因", validators=[DataRequired("请填写结案原因"), Length(max=200)])


@bp.get("/hardship")
@staff_required(*ALL_STAFF)
def hardship():
    staff = current_staff()
    view = request.args.get("view", "open")
    if view == "due":
        rows = hardship_domain.cases(staff, review_due=True)
    else:
        rows = hardship_domain.cases(staff, status="closed" if view == "closed" else "open")
    return render_template("cases/hardship_list.html", rows=rows, view=view, today=clock.today(),
                           open_form=OpenCaseForm() if staff.role != "helper" else None)


@bp.post("/hardship/new")
@staff_required(*OFFICE_STAFF)
def hardship_new():
    staff = current_staff()
    form = OpenCaseForm()
    if form.validate_on_submit():
        try:
            retiree = archives.find_by_id_number(form.id_number.data)
            if retiree is None:
                raise IdNumberNotFound()
            case = hardship_domain.open_case(staff, archives.get_for_staff(staff, retiree.id), form.description.data)
        except (ValidationFailed, NotFound) as error:
            db.session.rollback()
            flash("；".join([error.message, *error.fields.values()]), "error")
        else:
            db.session.commit()
            flash("帮扶案例已建立，请完成评估", "success")
            return redirect(url_for("admin.hardship_case", case_id=case.id))
    for errors in form.errors.values():
        for message in errors:
            flash(message, "error")
    return redirect(url_for("admin.hardship"))


def _forms(case, **posted):
    staff = current_staff()
    forms = {
        "assess": AssessForm(prefix="assess", formdata=None),
        "helper": HelperForm(prefix="helper", formdata=None),
        "help": HelpForm(prefix="help", formdata=None),
        "review": ReviewForm(prefix="review", formdata=None),
        "close": CloseForm(prefix="close", formdata=None),
    }
    forms.update(posted)
    if "assess" not in posted:
        forms["assess"].assessment.data = case.assessment
        forms["assess"].review_days.data = hardship_domain.review_interval()
    forms["helper"].helper.choices = _helper_choices(staff, case)
    if "help" not in posted:
        forms["help"].helped_on.data = clock.today()
    return forms


def _helper_choices(staff: Staff, case) -> list[tuple[int, str]]:
    if staff.role == "helper":
        return []
    return [(s.id, staff_label(s)) for s in visits.staff_responsible_for(staff, case.community)]


def _render(case, status: int = 200, **posted):
    staff = current_staff()
    return render_template("cases/hardship_detail.html", case=case, forms=_forms(case, **posted),
                           money_total=hardship_domain.money_total(case),
                           is_office=staff.role != "helper", today=clock.today()), status


@bp.get("/hardship/<int:case_id>")
@staff_required(*ALL_STAFF)
def hardship_case(case_id: int):
    return _render(hardship_domain.case_for(current_staff(), case_id))


def _act(case_id: int, name: str, form_class, action, success: str):
    """POST handling shared by the case forms: validate, call the domain, commit or re-render."""
    staff = current_staff()
    case = hardship_domain.case_for(staff, case_id)
    form = form_class(prefix=name)
    if name == "helper":
        form.helper.choices = _helper_choices(staff, case)
    if form.validate_on_submit():
        try:
            action(staff, case, form)
        except ValidationFailed as error:
            db.session.rollback()
            show_field_errors(form, error)
        else:
            db.session.commit()
            flash(success, "success")
            return redirect(url_for("admin.hardship_case", case_id=case.id))
    return _render(case, 400, **{name: form})


@bp.post("/hardship/<int:case_id>/assess")
@staff_required(*OFFICE_STAFF)
def hardship_assess(case_id: int):
    return _act(case_id, "assess", AssessForm, lambda s, c, f: hardship_domain.assess(
        s, c, f.assessment.data, f.review_days.data), "评估已保存")


@bp.post("/hardship/<int:case_id>/helpers")
@staff_required(*OFFICE_STAFF)
def hardship_assign(case_id: int):
    return _act(case_id, "helper", HelperForm, lambda s, c, f: hardship_domain.assign_helper(
        s, c, db.session.get(Staff, f.helper.data)), "帮扶人已分派")


@bp.post("/hardship/<int:case_id>/helpers/<int:row_id>/end")
@staff_required(*OFFICE_STAFF)
def hardship_end_helper(case_id: int, row_id: int):
    staff = current_staff()
    hardship_domain.end_helper(staff, hardship_domain.case_for(staff, case_id), row_id)
    db.session.commit()
    flash("已取消该帮扶人", "success")
    return redirect(url_for("admin.hardship_case", case_id=case_id))


def _record_help(staff, case, form):
    amount = costs.parse_yuan(form.amount.data, "amount") if form.kind.data == "money" else None
    hardship_domain.record_help(staff, case, kind=form.kind.data, helped_on=form.helped_on.data,
                                amount_fen=amount, description=form.description.data)


@bp.post("/hardship/<int:case_id>/help")
@staff_required(*ALL_STAFF)
def hardship_help(case_id: int):
    return _act(case_id, "help", HelpForm, _record_help, "帮扶记录已保存")


@bp.post("/hardship/<int:case_id>/review")
@staff_required(*OFFICE_STAFF)
def hardship_review(case_id: int):
    return _act(case_id, "review", ReviewForm, lambda s, c, f: hardship_domain.review(
        s, c, f.note.data, f.next_review_on.data), "复核已记录")


@bp.post("/hardship/<int:case_id>/close")
@staff_required(*OFFICE_STAFF)
def hardship_close(case_id: int):
    return _act(case_id, "close", CloseForm, lambda s, c, f: hardship_domain.close(s, c, f.reason.data), "已结案")
