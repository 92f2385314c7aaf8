"""Unit costs (per region, inherited down the tree), cost lines, and the budget read model.

Seed defaults (四川 service package, 经费测算): hospital visit 50 yuan per visit; condolence
90 yuan per death (car 50 + wreath 40); festival visits and activities 15 yuan per retiree per
year; certification assistance 2 yuan per retiree verified. Amounts are fen (分) integers.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from app.domain import audit, clock
from app.domain.errors import RoleForbidden, ValidationFailed
from app.domain.org import regions
from app.extensions import db
from app.models import Region, Retiree, Staff
from app.models.cases import (
    COST_CATEGORIES,
    UNIT_COST_CATEGORIES,
    CostLine,
    HelpRecord,
    UnitCost,
    VisitRecord,
)
from app.models.tasks import VisitTask

DEFAULT_UNIT_COSTS: dict[str, int] = {
    "hospital_visit": 5000,
    "condolence_car": 5000,
    "condolence_wreath": 4000,
    "festival_and_activities": 1500,
    "certification": 200,
}
# Which unit costs prefill a visit record, by the kind of task (a revisit uses its root's kind).
DEFAULT_LINES_BY_KIND: dict[str, tuple[str, ...]] = {
    "hospital_visit": ("hospital_visit",),
    "condolence_visit": ("condolence_car", "condolence_wreath"),
    "home_certification": ("certification",),
}
MAX_AMOUNT_FEN = 100_000_000  # one million yuan: anything above is a typo, not a cost
UNIT_COST_EDITORS = ("street_admin", "agency_admin")


@dataclass(frozen=True)
class ResolvedCost:
    category: str
    amount_fen: int
    region: Region | None  # the region whose row applies; None = the seed default


def _ancestor_codes(region: Region) -> list[str]:
    return [code for code in region.path.split("/") if code]


def resolve_unit_costs(region: Region) -> dict[str, ResolvedCost]:
    """Every category's unit cost for `region`: its own row, else the nearest ancestor's, else the default."""
    codes = _ancestor_codes(region)
    rows = db.session.execute(
        select(UnitCost, Region).join(Region, Region.id == UnitCost.region_id).where(Region.code.in_(codes))
    ).all()
    best: dict[str, tuple[int, UnitCost, Region]] = {}
    for row, owner in rows:
        depth = codes.index(owner.code)
        if row.category not in best or depth > best[row.category][0]:
            best[row.category] = (depth, row, owner)
    out: dict[str, ResolvedCost] = {}
    for category in UNIT_COST_CATEGORIES:
        if category in best:
            _, row, owner = best[category]
            out[category] = ResolvedCost(category, row.amount_fen, owner)
        else:
            out[category] = ResolvedCost(category, DEFAULT_UNIT_COSTS[category], None)
    return out


def unit_cost(region: Region, category: str) -> int:
    """The unit cost in fen of `category` for `region` (inherited, else the seed default)."""
    if category not in UNIT_COST_CATEGORIES:
        raise ValidationFailed(fields={"category": "未知的费用类别"})
    return resolve_unit_costs(region)[category].amount_fen


def set_unit_cost(staff: Staff, region: Region, category: str, amount_fen: int | None) -> UnitCost | None:
    """Set (or, with None, remove) `region`'s own unit cost. Street/agency admins, in scope; audited."""
    if staff.role not in UNIT_COST_EDITORS or not regions.contains(staff.region, region):
        raise RoleForbidden()
    if category not in UNIT_COST_CATEGORIES:
        raise ValidationFailed(fields={"category": "未知的费用类别"})
    if amount_fen is not None:
        validate_amount(amount_fen, "amount")
    row = db.session.scalar(select(UnitCost).where(UnitCost.region_id == region.id, UnitCost.category == category))
    before = row.amount_fen if row else None
    if amount_fen is None:
        if row is not None:
            db.session.delete(row)
        row = None
    elif row is None:
        row = UnitCost(region_id=region.id, category=category, amount_fen=amount_fen, updated_by_id=staff.id)
        db.session.add(row)
    else:
        row.amount_fen, row.updated_by_id = amount_fen, staff.id
    audit.record(staff, "unit_cost.set", subject_type="region", subject_id=region.id, region_id=region.id,
                 detail={"category": category, "before": before, "after": amount_fen})
    db.session.flush()
    return row


def validate_amount(amount_fen: int, field: str) -> None:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise ValidationFailed(fields={field: "金额应为整数（分）"})
    if amount_fen < 0:
        raise ValidationFailed(fields={field: "金额不能为负数"})
    if amount_fen > MAX_AMOUNT_FEN:
        raise ValidationFailed(fields={field: "金额过大"})


def default_lines(kind: str, region: Region) -> list[tuple[str, int]]:
    """Prefilled cost lines for a visit of `kind` in `region`: [(category, amount_fen)]."""
    resolved = resolve_unit_costs(region)
    return [(c, resolved[c].amount_fen) for c in DEFAULT_LINES_BY_KIND.get(kind, ())]


def check_visit_lines(lines: Iterable[tuple[str, int, str | None]]) -> None:
    """Validate visit cost lines (category, amount_fen, note) before anything is written."""
    for i, (category, amount_fen, _note) in enumerate(lines):
        if category not in COST_CATEGORIES or category == "hardship_help":
            raise ValidationFailed(fields={f"costs.{i}.category": "未知的费用类别"})
        validate_amount(amount_fen, f"costs.{i}.amount")


def add_visit_costs(record: VisitRecord, lines: Iterable[tuple[str, int, str | None]]) -> list[CostLine]:
    """Attach cost lines (category, amount_fen, note) to a visit record; zero amounts are skipped."""
    lines = list(lines)
    check_visit_lines(lines)
    out = []
    for category, amount_fen, note in lines:
        if amount_fen == 0:
            continue
        line = CostLine(category=category, amount_fen=amount_fen, community_id=record.community_id,
                        spent_on=record.visited_at.astimezone(clock.SERVICE_ZONE).date(),
                        visit_record_id=record.id, note=note)
        db.session.add(line)
        out.append(line)
    db.session.flush()
    return out


def add_help_cost(help_record: HelpRecord, community_id: int) -> CostLine:
    """The cost line of a money help record (hardship_help)."""
    line = CostLine(category="hardship_help", amount_fen=help_record.amount_fen, community_id=community_id,
                    spent_on=help_record.helped_on, help_record_id=help_record.id)
    db.session.add(line)
    db.session.flush()
    return line


def spend_by_region(region: Region, start: date, end: date) -> dict[str, int]:
    """Money recorded under `region` from `start` to `end` (inclusive), by category, plus 'total'."""
    rows = db.session.execute(
        select(CostLine.category, func.sum(CostLine.amount_fen))
        .join(Region, Region.id == CostLine.community_id)
        .where(regions.subtree_condition(region), CostLine.spent_on >= start, CostLine.spent_on <= end)
        .group_by(CostLine.category)
    ).all()
    out = {category: int(total or 0) for category, total in rows}
    out["total"] = sum(out.values())
    return out


@dataclass(frozen=True)
class EstimateLine:
    category: str
    count: int
    amount_fen: int
    basis: str


@dataclass(frozen=True)
class Estimate:
    year: int
    lines: list[EstimateLine]
    total_fen: int


def estimate(region: Region, year: int) -> Estimate:
    """Budget estimate (经费测算) for `region` in `year`: unit costs × counts, community by community.

    Counts: living retirees now (festival and activities; certification, once a year each);
    the previous year's hospital stays (hospital-visit tasks) and deaths (condolence).
    Each community uses its own (inherited) unit costs.
    """
    base = select(Region.id).where(regions.subtree_condition(region), Region.level == "community")
    last_year = (date(year - 1, 1, 1), date(year - 1, 12, 31))
    living = _counts(select(Retiree.community_id, func.count()).where(
        Retiree.community_id.in_(base), Retiree.life_status != "deceased").group_by(Retiree.community_id))
    # Hospital stays, not reports: two relatives reporting one stay make one visit task.
    hospital = _counts(select(VisitTask.community_id, func.count()).where(
        VisitTask.community_id.in_(base), VisitTask.kind == "hospital_visit",
        VisitTask.created_at >= clock.start_of_local_day(last_year[0]),
        VisitTask.created_at < clock.start_of_local_day(date(year, 1, 1)),
    ).group_by(VisitTask.community_id))
    deaths = _counts(select(Retiree.community_id, func.count()).where(
        Retiree.community_id.in_(base), Retiree.life_status == "deceased",
        Retiree.died_on.between(last_year[0], last_year[1])).group_by(Retiree.community_id))
    communities = set(living) | set(hospital) | set(deaths)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for community_id in communities:
        resolved = resolve_unit_costs(db.session.get(Region, community_id))
        plan = {
            "festival_and_activities": living.get(community_id, 0),
            "certification": living.get(community_id, 0),
            "hospital_visit": hospital.get(community_id, 0),
            "condolence_car": deaths.get(community_id, 0),
            "condolence_wreath": deaths.get(community_id, 0),
        }
        for category, count in plan.items():
            totals[category][0] += count
            totals[category][1] += count * resolved[category].amount_fen
    bases = {"festival_and_activities": "在册退休人员数", "certification": "在册退休人员数",
             "hospital_visit": f"{year - 1}年住院探视任务数", "condolence_car": f"{year - 1}年去世人数",
             "condolence_wreath": f"{year - 1}年去世人数"}
    lines = [EstimateLine(c, totals[c][0], totals[c][1], bases[c]) for c in UNIT_COST_CATEGORIES]
    return Estimate(year, lines, sum(line.amount_fen for line in lines))


def _counts(query) -> dict[int, int]:
    return {community_id: int(n) for community_id, n in db.session.execute(query).all()}


def cost_lines_for_records(record_ids: list[int]) -> dict[int, list[CostLine]]:
    """Cost lines grouped by visit record id (for record pages and exports)."""
    out: dict[int, list[CostLine]] = defaultdict(list)
    if record_ids:
        for line in db.session.scalars(select(CostLine).where(CostLine.visit_record_id.in_(record_ids))):
            out[line.visit_record_id].append(line)
    return out


def yuan(amount_fen: int | None) -> str:
    """5000 → '50.00' (for display)."""
    if amount_fen is None:
        return ""
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"


def parse_yuan(raw: str | None, field: str) -> int:
    """'50' / '50.5' / '50.50' → fen. Raises ValidationFailed on anything else."""
    text = (raw or "").strip()
    if text == "":
        return 0
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        raise ValidationFailed(fields={field: "金额格式应为元，最多两位小数"})
    amount = int(whole) * 100 + int((frac + "00")[:2])
    validate_amount(amount, field)
    return amount
