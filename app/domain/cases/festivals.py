"""春节走访慰问: Spring Festival key-visit rosters (重点走访) per community, and their coverage.

The festival date is lunar 1/1, converted with lunar_python. A roster lists the community's
living retirees in the priority groups (FESTIVAL_PRIORITY_CATEGORIES, default 高龄 孤寡 特困
劳模 重病), each with a `festival_visit` task due on the festival. A retiree is on at most one
roster per year (a unique constraint), so generating again only adds newcomers to the groups.
The greeting to every retiree is a messaging campaign, not a roster.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from lunar_python import Lunar
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app.domain import clock
from app.domain.campaigns import holidays
from app.domain.cases.errors import FestivalPassed, RosterForbidden, RosterNotFound
from app.domain.errors import OutOfScope, ValidationFailed
from app.domain.org import regions
from app.extensions import db
from app.models import Region, Retiree, RetireeCategory, Staff
from app.models.cases import FestivalRoster, FestivalRosterEntry, VisitRecord
from app.models.people import CATEGORY_LABELS, ELDERLY_AGE
from app.models.tasks import VisitTask

GENERATOR_ROLES = ("community_worker", "street_admin", "agency_admin")
# Key visits run until the Lantern Festival (正月十五); rosters for a festival long past are refused.
LATE_DAYS = 14


# One lunar calendar for the whole service: the greeting campaigns use the same date.
spring_festival = holidays.spring_festival


def lunar_label(year: int) -> str:
    """'丙午年（马年）正月初一' for 2026."""
    lunar = Lunar.fromYmd(year, 1, 1)
    return f"{lunar.getYearInGanZhi()}年（{lunar.getYearShengXiao()}年）正月初一"


def current_year(today: date | None = None) -> int:
    """The festival staff are working towards: this year's until its visits close, then next year's."""
    today = today or clock.today()
    return today.year if today <= spring_festival(today.year) + timedelta(days=LATE_DAYS) else today.year + 1


def priority_categories() -> list[str]:
    """The configured priority groups (codes), validated against the known categories."""
    cats = list(current_app.config["FESTIVAL_PRIORITY_CATEGORIES"])
    unknown = [c for c in cats if c not in CATEGORY_LABELS]
    if unknown or not cats:
        raise RuntimeError(f"FESTIVAL_PRIORITY_CATEGORIES has unknown or no categories: {unknown or cats!r}")
    return cats


@dataclass(frozen=True)
class RosterResult:
    roster: FestivalRoster
    added: int
    size: int


@dataclass(frozen=True)
class Coverage:
    roster: FestivalRoster
    size: int
    visited: int

    @property
    def percent(self) -> float:
        return round(100.0 * self.visited / self.size, 1) if self.size else 0.0


def _communities(staff: Staff, community: Region | None) -> list[Region]:
    if staff.role not in GENERATOR_ROLES:
        raise RosterForbidden()
    if community is not None:
        if community.level != "community" or not regions.contains(staff.region, community):
            raise OutOfScope()
        return [community]
    return list(db.session.scalars(select(Region).where(regions.subtree_condition(staff.region),
                                                        Region.level == "community").order_by(Region.code)))


def _candidates(community: Region, festival: date, cats: list[str]):
    conditions = []
    if "elderly" in cats:
        conditions.append(Retiree.birth_date <= date(festival.year - ELDERLY_AGE, festival.month, festival.day))
    stored = [c for c in cats if c != "elderly"]
    if stored:
        conditions.append(Retiree.id.in_(select(RetireeCategory.retiree_id).where(RetireeCategory.category.in_(stored))))
    return (select(Retiree)
            .where(Retiree.community_id == community.id, Retiree.life_status == "alive", or_(*conditions))
            .order_by(Retiree.id))


def generate(staff: Staff, year: int, community: Region | None = None) -> list[RosterResult]:
    """Generate (or top up) the rosters of `year` for every community in scope, or one. Caller commits.

    Idempotent: a retiree already on a roster of that year is skipped.
    """
    today = clock.today()
    if not 2000 <= year <= today.year + 1:
        raise ValidationFailed(fields={"year": f"年份应在 2000–{today.year + 1} 之间"})
    festival = spring_festival(year)
    if today > festival + timedelta(days=LATE_DAYS):
        raise FestivalPassed(year=year, festival=festival)
    cats = priority_categories()
    results = []
    for item in _communities(staff, community):
        for attempt in range(2):
            try:
                with db.session.begin_nested():
                    results.append(_generate_one(staff, year, festival, item, cats))
                break
            except IntegrityError:  # generated concurrently: the second pass skips their rows
                if attempt:
                    raise
    return results


def _generate_one(staff: Staff, year: int, festival: date, community: Region, cats: list[str]) -> RosterResult:
    roster = db.session.scalar(select(FestivalRoster).where(FestivalRoster.year == year,
                                                            FestivalRoster.community_id == community.id))
    if roster is None:
        roster = FestivalRoster(year=year, community_id=community.id, festival_date=festival,
                                lunar_date=lunar_label(year), generated_by_id=staff.id)
        db.session.add(roster)
        db.session.flush()
    else:
        roster.generated_at, roster.generated_by_id = clock.now(), staff.id
    already = set(db.session.scalars(select(FestivalRosterEntry.retiree_id).where(FestivalRosterEntry.year == year)))
    fresh = [r for r in db.session.scalars(_candidates(community, festival, cats)) if r.id not in already]
    entries = [FestivalRosterEntry(roster_id=roster.id, year=year, retiree_id=r.id,
                                   categories=",".join(c for c in r.categories_on(festival) if c in cats))
               for r in fresh]
    db.session.add_all(entries)
    db.session.flush()
    tasks = [VisitTask(kind="festival_visit", retiree_id=e.retiree_id, community_id=community.id, status="open",
                       due_on=festival, source_type="festival_roster_entry", source_id=e.id, created_at=clock.now(),
                       note=f"{year} 年春节重点走访（{_labels(e.categories)}）")
             for e in entries]
    db.session.add_all(tasks)
    db.session.flush()
    for entry, task in zip(entries, tasks, strict=True):
        entry.task_id = task.id
    db.session.flush()
    size = db.session.scalar(select(func.count()).where(FestivalRosterEntry.roster_id == roster.id))
    return RosterResult(roster, len(entries), int(size or 0))


def _labels(categories: str) -> str:
    return "、".join(CATEGORY_LABELS[c] for c in categories.split(",") if c)


def roster_for(staff: Staff, roster_id: int) -> FestivalRoster:
    roster = db.session.get(FestivalRoster, roster_id)
    if roster is None:
        raise RosterNotFound()
    if staff.role == "helper" or not regions.contains(staff.region, roster.community):
        raise OutOfScope()
    return roster


def entries(roster: FestivalRoster) -> list[FestivalRosterEntry]:
    return list(db.session.scalars(select(FestivalRosterEntry).where(FestivalRosterEntry.roster_id == roster.id)
                                   .order_by(FestivalRosterEntry.id)))


def _visited_roots():
    """Task ids whose visit found the retiree, directly or through a revisit after an empty visit."""
    direct = select(VisitRecord.task_id).where(VisitRecord.empty_visit.is_(False))
    via_revisit = (select(VisitTask.source_id).join(VisitRecord, VisitRecord.task_id == VisitTask.id)
                   .where(VisitTask.kind == "revisit", VisitTask.source_type == "visit_task",
                          VisitRecord.empty_visit.is_(False)))
    return direct, via_revisit


def coverage(staff: Staff, year: int) -> list[Coverage]:
    """Per community roster of `year` in scope: roster size and retirees actually visited.

    Size leaves out entries whose task was cancelled (the retiree died); an empty visit counts
    only once its revisit finds someone.
    """
    if staff.role == "helper":
        raise RosterForbidden()
    rosters = list(db.session.scalars(select(FestivalRoster).join(Region, Region.id == FestivalRoster.community_id)
                                      .where(FestivalRoster.year == year, regions.subtree_condition(staff.region))
                                      .order_by(Region.code)))
    if not rosters:
        return []
    ids = [r.id for r in rosters]
    live = (select(FestivalRosterEntry.roster_id, func.count())
            .join(VisitTask, VisitTask.id == FestivalRosterEntry.task_id)
            .where(FestivalRosterEntry.roster_id.in_(ids), VisitTask.status != "cancelled")
            .group_by(FestivalRosterEntry.roster_id))
    sizes = dict(db.session.execute(live).all())
    direct, via_revisit = _visited_roots()
    visited_q = (select(FestivalRosterEntry.roster_id, func.count())
                 .where(FestivalRosterEntry.roster_id.in_(ids),
                        or_(FestivalRosterEntry.task_id.in_(direct), FestivalRosterEntry.task_id.in_(via_revisit)))
                 .group_by(FestivalRosterEntry.roster_id))
    visited = dict(db.session.execute(visited_q).all())
    return [Coverage(r, int(sizes.get(r.id, 0)), int(visited.get(r.id, 0))) for r in rosters]
