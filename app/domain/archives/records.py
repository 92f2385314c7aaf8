"""Retiree archives (档案): creating and updating records, categories, masked views."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, false, select, true
from sqlalchemy.orm import contains_eager

from app.domain import audit, clock, inputs, pii
from app.domain.archives import idcard
from app.domain.archives.errors import FullIdForbidden
from app.domain.errors import RetireeNotFound, ValidationFailed
from app.domain.org import regions
from app.domain.paging import Page, paginate
from app.extensions import db
from app.models import Region, Retiree, RetireeCategory, Staff
from app.models.people import CATEGORY_LABELS, STORED_CATEGORIES

LABEL_TO_CATEGORY = {label: code for code, label in CATEGORY_LABELS.items()}


def parse_categories(raw: str | list[str] | None) -> list[str]:
    """'孤寡;残疾' / '孤寡；残疾' / ['lonely'] → stored category codes. 高龄 is ignored (computed).

    Raises ValueError naming the unknown label.
    """
    if raw is None or raw == "":
        return []
    items = raw if isinstance(raw, list) else raw.replace("；", ";").replace("，", ";").replace(",", ";").split(";")
    out: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        code = LABEL_TO_CATEGORY.get(item, item)
        if code == "elderly":
            continue
        if code not in STORED_CATEGORIES:
            raise ValueError(f"未知类别“{item}”，可选：" + "、".join(
                CATEGORY_LABELS[c] for c in STORED_CATEGORIES))
        if code not in out:
            out.append(code)
    return out


def find_by_id_number(number: str) -> Retiree | None:
    """The archive with this ID number (exact, after normalization), via the keyed hash."""
    return db.session.scalar(select(Retiree).where(Retiree.id_hash == pii.lookup_hash(idcard.normalize(number))))


def create_retiree(*, name: str, id_number: str, community: Region, phone: str | None = None,
                   address: str | None = None, former_employer: str | None = None,
                   retirement_date: date | None = None, categories: list[str] | None = None,
                   mobility_limited: bool = False) -> Retiree:
    """Create one archive (validated ID, encrypted PII). Caller commits."""
    try:
        facts = idcard.parse(id_number)
    except idcard.InvalidIdNumber as exc:
        raise ValidationFailed(fields={"id_number": str(exc)}) from exc
    if community.level != "community":
        raise ValidationFailed(fields={"community": "退休人员应归属到社区"})
    retiree = Retiree(
        name=name.strip(), id_number_enc=pii.encrypt(facts.number), id_hash=pii.lookup_hash(facts.number),
        id_masked=idcard.mask(facts.number), gender=facts.gender, birth_date=facts.birth_date,
        phone_enc=pii.encrypt(phone) if phone else None, phone_masked=pii.mask_phone(phone),
        address=address, community_id=community.id, former_employer=former_employer,
        retirement_date=retirement_date, mobility_limited=mobility_limited,
    )
    retiree.category_rows = [RetireeCategory(category=c) for c in (categories or [])]
    db.session.add(retiree)
    db.session.flush()
    return retiree


def get_retiree(retiree_id: int) -> Retiree:
    """The archive with this id, else NotFound `retiree_not_found`."""
    retiree = inputs.get(Retiree, retiree_id)
    if retiree is None:
        raise RetireeNotFound()
    return retiree


def full_id_number(retiree: Retiree) -> str:
    """Decrypt the ID number. Callers showing it to staff must write an audit entry."""
    return pii.decrypt(retiree.id_number_enc)


def phone_number(retiree: Retiree) -> str | None:
    """Decrypt the phone number (None when there is none)."""
    return pii.decrypt(retiree.phone_enc) if retiree.phone_enc else None


def masked_profile(retiree: Retiree, today: date | None = None) -> dict[str, Any]:
    """What a bound account or a list may show: no full ID number, no full phone."""
    today = today or clock.today()
    return {
        "id": retiree.id,
        "name": retiree.name,
        "id_number": retiree.id_masked,
        "gender": retiree.gender,
        "birth_date": retiree.birth_date.isoformat(),
        "age": retiree.age_on(today),
        "phone": retiree.phone_masked,
        "phone_confirmed_at": retiree.phone_confirmed_at,
        "community": {"code": retiree.community.code, "name": retiree.community.name},
        "former_employer": retiree.former_employer,
        "retirement_date": retiree.retirement_date.isoformat() if retiree.retirement_date else None,
        "categories": retiree.categories_on(today),
        "category_labels": [CATEGORY_LABELS[c] for c in retiree.categories_on(today)],
        "mobility_limited": retiree.mobility_limited,
        "life_status": retiree.life_status,
        "pension_status": retiree.pension_status,
    }


# ---- staff views: search and detail, always scoped to the staff member's region subtree --------

SEARCH_MAX_LENGTH = 50
MAX_PER_PAGE = 100
# Who may reveal a full ID number (always audited). Helpers (楼院长) are volunteers: masked only.
FULL_ID_ROLES = ("community_worker", "street_admin", "agency_admin")
_FULL_ID = re.compile(r"^\d{17}[\dX]$")
_ID_FRAGMENT = re.compile(r"^[\dX*]*[\dX][\dX*]*$")
_VISIBLE_HEAD, _VISIBLE_TAIL = 6, 4  # what `idcard.mask` leaves visible


def _id_condition(fragment: str) -> ColumnElement[bool]:
    """Match an ID number or a piece of one against what can be matched without decrypting.

    A full number is looked up exactly through the keyed hash. Otherwise only the masked form's
    visible parts can match: up to 4 characters are the last four, 5-6 digits the area prefix,
    and a masked text like `510302********0027` or `****0027` matches head and tail.
    """
    if _FULL_ID.match(fragment):
        return Retiree.id_hash == pii.lookup_hash(fragment)
    if "*" in fragment:
        head, tail = fragment.split("*", 1)[0], fragment.rsplit("*", 1)[1]
        if len(head) > _VISIBLE_HEAD or len(tail) > _VISIBLE_TAIL or "*" in head + tail:
            return false()
        conditions = [Retiree.id_masked.startswith(head)] if head else []
        conditions += [Retiree.id_masked.endswith(tail)] if tail else []
        return and_(true(), *conditions)
    if len(fragment) <= _VISIBLE_TAIL:
        return Retiree.id_masked.endswith(fragment)
    if len(fragment) <= _VISIBLE_HEAD and fragment.isdigit():
        return Retiree.id_masked.startswith(fragment)
    # 7-17 characters would need the hidden birth-date digits: nothing can match them.
    return false()


def search_condition(query: str | None) -> ColumnElement[bool]:
    """The filter for a staff search box: a name piece, or an ID number (full, masked or partial)."""
    text = (query or "").strip()
    if not text:
        return true()
    fragment = idcard.normalize(text).replace("＊", "*")
    if _ID_FRAGMENT.match(fragment):
        return _id_condition(fragment)
    return Retiree.name.contains(text, autoescape=True)


def search_retirees(staff: Staff, query: str | None = None, page: int = 1, per_page: int = 20) -> Page:
    """Retirees in the staff member's region subtree matching `query`, one page of them.

    `query` is a name substring, the full ID number (exact, via the keyed hash), a masked ID
    (`510302********0027`), its last four characters or its six-digit area prefix.
    Ordered by community, then name. A page past the end gives the last page.
    """
    if query is not None and len(query.strip()) > SEARCH_MAX_LENGTH:
        raise ValidationFailed(fields={"q": f"最多 {SEARCH_MAX_LENGTH} 个字符"})
    if inputs.has_control_characters(query, multiline=False):
        raise ValidationFailed(fields={"q": "含有无法识别的控制字符"})
    scope = and_(regions.subtree_condition(staff.region), search_condition(query))
    return paginate(select(Retiree).join(Region, Retiree.community_id == Region.id).where(scope)
                    .options(contains_eager(Retiree.community)).order_by(Region.code, Retiree.name, Retiree.id),
                    page, per_page, max_per_page=MAX_PER_PAGE)


def get_for_staff(staff: Staff, retiree_id: int) -> Retiree:
    """The retiree if they live in the staff member's region subtree.

    NotFound otherwise, the same answer as for an id that does not exist, so staff cannot
    learn which archives exist elsewhere.
    """
    retiree = inputs.get(Retiree, retiree_id)
    if retiree is None or not regions.contains(staff.region, retiree.community):
        raise RetireeNotFound()
    return retiree


def reveal_id_number(staff: Staff, retiree_id: int) -> str:
    """The full ID number for a staff member allowed to see it, with an audit entry. Caller commits."""
    retiree = get_for_staff(staff, retiree_id)
    if staff.role not in FULL_ID_ROLES:
        raise FullIdForbidden()
    audit.record(staff, "retiree.view_full_id", subject_type="retiree", subject_id=retiree.id,
                 region_id=retiree.community_id)
    return full_id_number(retiree)
