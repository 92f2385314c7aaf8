"""Staff home page: my region, the retirees in it (search, pages) and relative bindings to review."""
from __future__ import annotations

from flask import flash, redirect, render_template, request

from app.admin import bp
from app.admin.auth import safe_next
from app.admin.nav import register_nav
from app.admin.security import ALL_STAFF, OFFICE_STAFF, current_staff, staff_required
from app.domain import clock
from app.domain.accounts import bindings
from app.domain.archives import records
from app.domain.errors import Conflict, Unprocessable, ValidationFailed
from app.extensions import db
from app.models import Region
from app.models.accounts import RELATIONS

PER_PAGE = 20
# The form labels relations the way the mini-program asks for them.
RELATION_LABELS = dict(zip(RELATIONS, ("本人", "配偶", "子女", "其他亲属"), strict=True))

register_nav("首页", "admin.home", ALL_STAFF, order=0)


def region_chain(region: Region) -> list[Region]:
    """The region and its ancestors, root first (a handful of rows: the tree is five deep)."""
    chain = []
    node: Region | None = region
    while node is not None:
        chain.append(node)
        node = node.parent
    return chain[::-1]


@bp.get("/")
@staff_required()
def home():
    staff = current_staff()
    query = (request.args.get("q") or "").strip()
    page_number = request.args.get("page", 1, type=int)
    search_error = None
    try:
        page = records.search_retirees(staff, query or None, page_number, PER_PAGE)
    except ValidationFailed as exc:
        search_error = exc.fields.get("q") or exc.message
        page = records.search_retirees(staff, None, 1, PER_PAGE)
    today = clock.today()
    rows = [records.masked_profile(retiree, today) for retiree in page.items]
    pending = bindings.pending_for_staff(staff) if staff.role in OFFICE_STAFF else []
    return render_template(
        "home.html", staff=staff, region_chain=region_chain(staff.region), query=query, page=page,
        rows=rows, search_error=search_error, pending=pending, relation_labels=RELATION_LABELS,
        reviews_bindings=staff.role in OFFICE_STAFF, today=today)


def _decide(decision, binding_id: int, done: str):
    try:
        binding = decision(current_staff(), binding_id)
    except (Conflict, Unprocessable) as exc:
        # Someone (the retiree, or a colleague) decided first: not an error worth a page.
        db.session.rollback()
        flash(exc.message, "error")
    else:
        name = binding.retiree.name
        relation = RELATION_LABELS.get(binding.relation, binding.relation)
        db.session.commit()
        flash(done.format(name=name, relation=relation), "success")
    return redirect(safe_next(request.form.get("next")))


@bp.post("/bindings/<int:binding_id>/approve")
@staff_required(*OFFICE_STAFF)
def approve_binding(binding_id: int):
    return _decide(bindings.approve_by_staff, binding_id, "已同意{name}的{relation}绑定申请")


@bp.post("/bindings/<int:binding_id>/reject")
@staff_required(*OFFICE_STAFF)
def reject_binding(binding_id: int):
    return _decide(bindings.reject_by_staff, binding_id, "已拒绝{name}的{relation}绑定申请")

