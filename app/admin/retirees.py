"""Retiree detail page (masked), the audited full-ID view, and the labels staff templates share."""
from __future__ import annotations

from datetime import datetime

from flask import render_template

from app.admin import bp
from app.admin.security import ALL_STAFF, OFFICE_STAFF, current_staff, staff_required
from app.domain import clock
from app.domain.archives import records
from app.extensions import db
from app.models.staff import ROLE_LABELS

GENDER_LABELS = {"male": "男", "female": "女"}
LIFE_STATUS_LABELS = {"alive": "健在", "death_reported": "已报死亡（待核实）", "deceased": "已故"}
PENSION_STATUS_LABELS = {"normal": "正常发放", "suspended": "暂停发放", "stopped": "已停发"}


@bp.app_template_filter("gender_label")
def gender_label(value: str | None) -> str:
    return GENDER_LABELS.get(value or "", value or "")


@bp.app_template_filter("life_status_label")
def life_status_label(value: str | None) -> str:
    return LIFE_STATUS_LABELS.get(value or "", value or "")


@bp.app_template_filter("pension_status_label")
def pension_status_label(value: str | None) -> str:
    return PENSION_STATUS_LABELS.get(value or "", value or "")


@bp.app_template_filter("role_label")
def role_label(value: str | None) -> str:
    return ROLE_LABELS.get(value or "", value or "")


@bp.app_template_filter("local_time")
def local_time(value: datetime | None) -> str:
    """An aware timestamp as the service zone's wall-clock time, to the minute."""
    if value is None:
        return ""
    return value.astimezone(clock.SERVICE_ZONE).strftime("%Y-%m-%d %H:%M")


def _render_detail(retiree, full_id: str | None = None):
    staff = current_staff()
    return render_template(
        "retiree_detail.html", retiree=retiree, profile=records.masked_profile(retiree, clock.today()),
        full_id=full_id, can_view_full_id=staff.role in records.FULL_ID_ROLES)


@bp.get("/retirees/<int:retiree_id>")
@staff_required(*ALL_STAFF)
def retiree_detail(retiree_id: int):
    return _render_detail(records.get_for_staff(current_staff(), retiree_id))


@bp.post("/retirees/<int:retiree_id>/full-id")
@staff_required(*OFFICE_STAFF)
def retiree_full_id(retiree_id: int):
    full_id = records.reveal_id_number(current_staff(), retiree_id)
    db.session.commit()
    response = _render_detail(records.get_for_staff(current_staff(), retiree_id), full_id)
    # Shown once: not kept by the browser cache or a shared proxy, not reloaded from history.
    return response, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}
