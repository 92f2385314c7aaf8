"""Notices (宣传推广): staff publish policy and activity news to a region subtree; retirees read
those whose scope contains their community, newest first."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.domain import audit, clock, inputs
from app.domain.errors import RoleForbidden, ValidationFailed
from app.domain.events.errors import NoticeNotFound, NoticeWithdrawn
from app.domain.org import regions
from app.domain.org.staff import ensure_in_scope
from app.domain.paging import Page, paginate
from app.extensions import db
from app.models import Region, Retiree, Staff
from app.models.notices import NOTICE_KINDS, Notice

PUBLISHER_ROLES = ("community_worker", "street_admin", "agency_admin")
MAX_PER_PAGE = 50
BODY_MAX = 20_000


def publish(staff: Staff, *, title: str, body: str, kind: str, region: Region) -> Notice:
    """Publish a notice now to the retirees under `region` (within the staff member's subtree). Caller commits."""
    if staff.role not in PUBLISHER_ROLES:
        raise RoleForbidden()
    ensure_in_scope(staff, region)
    fields: dict[str, str] = {}
    if not (title or "").strip() or len(title.strip()) > 100 or inputs.has_control_characters(title, multiline=False):
        fields["title"] = "标题必填，最多 100 个字符，不含控制字符"
    if not (body or "").strip() or len(body) > BODY_MAX or inputs.has_control_characters(body):
        fields["body"] = f"正文必填，最多 {BODY_MAX} 个字符，不含控制字符"
    if kind not in NOTICE_KINDS:
        fields["kind"] = "类型应为：" + ", ".join(NOTICE_KINDS)
    if fields:
        raise ValidationFailed(fields=fields)
    notice = Notice(title=title.strip(), body=body.strip(), kind=kind, region_id=region.id,
                    published_at=clock.now(), created_by_id=staff.id)
    db.session.add(notice)
    db.session.flush()
    audit.record(staff, "notice.publish", subject_type="notice", subject_id=notice.id, region_id=region.id)
    return notice


def list_for_staff(staff: Staff, page: int = 1) -> Page:
    """One page of the notices published to regions in the staff member's subtree, newest first."""
    return paginate(
        select(Notice).join(Region, Notice.region_id == Region.id).where(regions.subtree_condition(staff.region))
        .options(selectinload(Notice.region)).order_by(Notice.published_at.desc(), Notice.id.desc()), page)


def withdraw(staff: Staff, notice_id: int) -> Notice:
    """Stop showing a notice (it stays on record). Caller commits."""
    if staff.role not in PUBLISHER_ROLES:
        raise RoleForbidden()
    notice = inputs.get(Notice, notice_id)
    if notice is None:
        raise NoticeNotFound()
    ensure_in_scope(staff, notice.region)
    if notice.withdrawn_at is not None:
        raise NoticeWithdrawn()
    notice.withdrawn_at = clock.now()
    db.session.flush()
    audit.record(staff, "notice.withdraw", subject_type="notice", subject_id=notice.id, region_id=notice.region_id)
    return notice


def for_retiree(retiree: Retiree, page: int = 1, per_page: int = 20,
                kind: str | None = None) -> tuple[list[Notice], int]:
    """Published, not withdrawn notices whose scope contains the retiree's community, newest first."""
    per_page = min(max(int(per_page), 1), MAX_PER_PAGE)
    page = max(int(page), 1)
    conditions = [Notice.region_id.in_(regions.ancestor_ids(retiree.community)), Notice.withdrawn_at.is_(None),
                  Notice.published_at <= clock.now()]
    if kind is not None:
        conditions.append(Notice.kind == kind)
    total = db.session.scalar(select(func.count(Notice.id)).where(*conditions))
    rows = db.session.scalars(select(Notice).where(*conditions).options(selectinload(Notice.region))
                              .order_by(Notice.published_at.desc(), Notice.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


def published_by_region(region: Region, date_from: date, date_to: date) -> dict[str, int]:
    """For indicator reports (宣传推广): notices published to regions under `region` within
    [date_from, date_to] (service zone), per kind; withdrawn ones count (they were published)."""
    start, end = clock.local_days(date_from, date_to)
    rows = db.session.execute(
        select(Notice.kind, func.count(Notice.id)).join(Region, Notice.region_id == Region.id)
        .where(regions.subtree_condition(region), Notice.published_at >= start, Notice.published_at < end)
        .group_by(Notice.kind))
    counts = dict.fromkeys(NOTICE_KINDS, 0)
    counts.update({kind: count for kind, count in rows})
    return counts
