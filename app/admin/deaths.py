"""Staff pages for death verification (去世核实) and the stopped-pension list (停发名单)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.admin import bp
from app.admin.nav import register_nav
from app.admin.security import current_staff, staff_required
from app.admin.tasks import show_field_errors
from app.domain.cases import deaths as death_domain
from app.domain.errors import ValidationFailed
from app.extensions import db
from app.models.accounts import Binding

register_nav("去世核实", "admin.deaths", death_domain.VERIFIER_ROLES, order=22)
register_nav("停发名单", "admin.pension_stops", ("agency_admin",), order=23)

RELATION_LABELS = {"self": "本人", "spouse": "配偶", "child": "子女", "other": "其他亲属"}


class VerifyForm(FlaskForm):
    died_on = DateField("去世日期（核实后）", validators=[DataRequired("请填写去世日期")])
    note = TextAreaField("核实说明（可空）", validators=[Optional(), Length(max=2000)])


class RejectForm(FlaskForm):
    reason = StringField("驳回原因", validators=[DataRequired("请填写驳回原因"), Length(max=200)])


def _relation(report) -> str:
    binding = next((b for b in (report.account.bindings if report.account else [])
                    if b.retiree_id == report.retiree_id and b.status == "active"), None)
    return RELATION_LABELS.get(binding.relation, "") if isinstance(binding, Binding) else "（已解除绑定）"


def _render(status: int = 200, forms: dict | None = None):
    staff = current_staff()
    rows = []
    for report in death_domain.pending(staff):
        verify_form, reject_form = (forms or {}).get(report.id, (None, None))
        if verify_form is None:
            verify_form = VerifyForm(prefix=f"v{report.id}", formdata=None)
            verify_form.died_on.data = report.died_on
        rows.append((report, _relation(report), verify_form, reject_form or RejectForm(prefix=f"r{report.id}",
                                                                                    formdata=None)))
    return render_template("cases/deaths.html", rows=rows, decided=death_domain.recent_decisions(staff)), status


@bp.get("/deaths")
@staff_required(*death_domain.VERIFIER_ROLES)
def deaths():
    return _render()


@bp.post("/deaths/<int:report_id>/verify")
@staff_required(*death_domain.VERIFIER_ROLES)
def death_verify(report_id: int):
    staff = current_staff()
    report = death_domain.report_for(staff, report_id)
    form = VerifyForm(prefix=f"v{report.id}")
    if form.validate_on_submit():
        try:
            result = death_domain.verify(staff, report, died_on=form.died_on.data, note=form.note.data)
        except ValidationFailed as error:
            db.session.rollback()
            show_field_errors(form, error)
        else:
            db.session.commit()
            flash(f"已核实 {result.retiree.name} 去世：养老金已标记停发，取消预约 {result.bookings_cancelled} 个、"
                  f"任务 {result.tasks_cancelled} 项，吊唁走访任务截止 {result.condolence_task.due_on}", "success")
            return redirect(url_for("admin.task_detail", task_id=result.condolence_task.id))
    return _render(400, {report.id: (form, None)})


@bp.post("/deaths/<int:report_id>/reject")
@staff_required(*death_domain.VERIFIER_ROLES)
def death_reject(report_id: int):
    staff = current_staff()
    report = death_domain.report_for(staff, report_id)
    form = RejectForm(prefix=f"r{report.id}")
    if form.validate_on_submit():
        death_domain.reject(staff, report, form.reason.data)
        db.session.commit()
        flash(f"已驳回关于 {report.retiree.name} 的去世报告，状态恢复为健在", "success")
        return redirect(url_for("admin.deaths"))
    return _render(400, {report.id: (None, form)})


@bp.get("/pension-stops")
@staff_required(*death_domain.STOP_LIST_ROLES)
def pension_stops():
    only_open = request.args.get("open") == "1"
    rows = death_domain.pension_stops(current_staff(), unacknowledged_only=only_open)
    db.session.commit()  # the view itself is audited
    return render_template("cases/pension_stops.html", rows=rows, only_open=only_open)


@bp.post("/pension-stops/<int:stop_id>/acknowledge")
@staff_required("agency_admin")
def pension_stop_acknowledge(stop_id: int):
    stop = death_domain.acknowledge_stop(current_staff(), stop_id)
    db.session.commit()
    flash(f"已确认 {stop.retiree.name} 停发", "success")
    return redirect(url_for("admin.pension_stops"))
