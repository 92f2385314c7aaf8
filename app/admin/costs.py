"""Staff page for unit costs per region (editable by admins) and the budget read model:
spend by category and the estimate from unit costs × counts (经费测算)."""
from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.admin import bp
from app.admin.nav import register_nav
from app.admin.security import OFFICE_STAFF, current_staff, staff_required
from app.domain import clock, inputs
from app.domain.cases import costs
from app.domain.errors import OutOfScope, ValidationFailed
from app.domain.org import regions
from app.extensions import db
from app.models import Region
from app.models.cases import UNIT_COST_CATEGORIES

register_nav("经费测算", "admin.unit_costs", OFFICE_STAFF, order=60)


def _region_in_scope(region_id: int | None) -> Region:
    staff = current_staff()
    region = inputs.get(Region, region_id) if region_id else staff.region
    if region is None or not regions.contains(staff.region, region):
        raise OutOfScope()
    return region


@bp.get("/costs")
@staff_required(*OFFICE_STAFF)
def unit_costs():
    staff = current_staff()
    region = _region_in_scope(inputs.query_id(request.args, "region"))
    today = clock.today()
    year = request.args.get("year", type=int) or today.year
    year = year if 2000 <= year <= today.year + 1 else today.year
    choices = list(db.session.scalars(select(Region).where(regions.subtree_condition(staff.region))
                                      .order_by(Region.path).limit(2000)))
    return render_template(
        "cases/unit_costs.html", region=region, year=year, resolved=costs.resolve_unit_costs(region),
        categories=UNIT_COST_CATEGORIES, spend=costs.spend_by_region(region, date(year, 1, 1), date(year, 12, 31)),
        estimate=costs.estimate(region, year), choices=choices, base_depth=staff.region.path.count("/"),
        can_edit=staff.role in costs.UNIT_COST_EDITORS)


@bp.post("/costs/<int:region_id>")
@staff_required(*costs.UNIT_COST_EDITORS)
def unit_cost_set(region_id: int):
    staff = current_staff()
    region = _region_in_scope(region_id)
    category = request.form.get("category", "")
    try:
        amount = None if request.form.get("inherit") else costs.parse_yuan(request.form.get("amount"), "amount")
        costs.set_unit_cost(staff, region, category, amount)
    except ValidationFailed as error:
        db.session.rollback()
        flash("；".join(error.fields.values()) or error.message, "error")
    else:
        db.session.commit()
        flash("单位成本已更新" if amount is not None else "已恢复为上级/默认标准", "success")
    return redirect(url_for("admin.unit_costs", region=region.id))
