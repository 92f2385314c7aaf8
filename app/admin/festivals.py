"""Staff pages for Spring Festival key visits (春节走访慰问): rosters per community and coverage."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import DataRequired

from app.admin import bp
from app.admin.nav import register_nav
from app.admin.security import current_staff, staff_required
from app.domain import clock
from app.domain.cases import festivals as festival_domain
from app.domain.errors import ValidationFailed
from app.extensions import db
from app.models.people import CATEGORY_LABELS

register_nav("春节走访", "admin.festivals", festival_domain.GENERATOR_ROLES, order=26)


class GenerateForm(FlaskForm):
    year = IntegerField("年份", validators=[DataRequired("请填写年份")])


@bp.get("/festivals")
@staff_required(*festival_domain.GENERATOR_ROLES)
def festivals():
    year = request.args.get("year", type=int) or festival_domain.current_year()
    if not 2000 <= year <= 2100:
        year = festival_domain.current_year()
    form = GenerateForm(formdata=None)
    form.year.data = year
    return render_template(
        "cases/festivals.html", year=year, festival=festival_domain.spring_festival(year),
        lunar=festival_domain.lunar_label(year), rows=festival_domain.coverage(current_staff(), year), form=form,
        groups=[CATEGORY_LABELS[c] for c in festival_domain.priority_categories()])


@bp.post("/festivals/generate")
@staff_required(*festival_domain.GENERATOR_ROLES)
def festivals_generate():
    form = GenerateForm()
    if not form.validate_on_submit():
        flash("请填写年份", "error")
        return redirect(url_for("admin.festivals"))
    try:
        results = festival_domain.generate(current_staff(), form.year.data)
    except ValidationFailed as error:
        db.session.rollback()
        flash("；".join(error.fields.values()) or error.message, "error")
        return redirect(url_for("admin.festivals"))
    db.session.commit()
    added = sum(r.added for r in results)
    flash(f"{form.year.data} 年春节重点走访名单已生成：{len(results)} 个社区，新增 {added} 人", "success")
    return redirect(url_for("admin.festivals", year=form.year.data))


@bp.get("/festivals/rosters/<int:roster_id>")
@staff_required(*festival_domain.GENERATOR_ROLES)
def festival_roster(roster_id: int):
    roster = festival_domain.roster_for(current_staff(), roster_id)
    return render_template("cases/roster.html", roster=roster, entries=festival_domain.entries(roster),
                           labels=CATEGORY_LABELS, today=clock.today())
