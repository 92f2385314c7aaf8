"""Retiree archives (档案): creating and updating records, categories, masked views."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from app.domain import idcard, pii
from app.domain.errors import NotFound, ValidationFailed
from app.extensions import db
from app.models import Region, Retiree, RetireeCategory
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
    retiree = db.session.get(Retiree, retiree_id)
    if retiree is None:
        raise NotFound("未找到该退休人员", code="retiree_not_found")
    return retiree


def full_id_number(retiree: Retiree) -> str:
    """Decrypt the ID number. Callers showing it to staff must write an audit entry."""
    return pii.decrypt(retiree.id_number_enc)


def phone_number(retiree: Retiree) -> str | None:
    return pii.decrypt(retiree.phone_enc) if retiree.phone_enc else None


def masked_profile(retiree: Retiree, today: date | None = None) -> dict[str, Any]:
    """What a bound account or a list may show: no full ID number, no full phone."""
    today = today or date.today()
    return {
        "id": retiree.id,
        "name": retiree.name,
        "id_number": retiree.id_masked,
        "gender": retiree.gender,
        "birth_date": retiree.birth_date.isoformat(),
        "age": retiree.age_on(today),
        "phone": retiree.phone_masked,
        "community": {"code": retiree.community.code, "name": retiree.community.name},
        "former_employer": retiree.former_employer,
        "retirement_date": retiree.retirement_date.isoformat() if retiree.retirement_date else None,
        "categories": retiree.categories_on(today),
        "category_labels": [CATEGORY_LABELS[c] for c in retiree.categories_on(today)],
        "mobility_limited": retiree.mobility_limited,
        "life_status": retiree.life_status,
        "pension_status": retiree.pension_status,
    }
