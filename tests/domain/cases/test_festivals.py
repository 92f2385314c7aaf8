"""Spring Festival key visits: lunar dates, roster generation (idempotent), coverage."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain import clock
from app.domain.cases import festivals, visits
from app.domain.errors import NotAuthorized, Unprocessable, ValidationFailed
from app.extensions import db
from app.models.cases import FestivalRoster, FestivalRosterEntry
from app.models.tasks import VisitTask
from tests.support.factories import make_retiree

pytestmark = pytest.mark.usefixtures("frozen_clock")

JAN = date(2026, 1, 10)  # before the 2026 festival (2026-02-17)


@pytest.mark.parametrize(("year", "day"), [(2025, date(2025, 1, 29)), (2026, date(2026, 2, 17)),
                                           (2027, date(2027, 2, 6)), (2028, date(2028, 1, 26)),
                                           (2029, date(2029, 2, 13)), (2030, date(2030, 2, 3))])
def test_spring_festival_dates_from_the_lunar_calendar(year, day):
    assert festivals.spring_festival(year) == day


def test_lunar_label():
    assert festivals.lunar_label(2026) == "丙午年（马年）正月初一"


def test_current_year_rolls_over_after_the_lantern_festival():
    assert festivals.current_year(date(2026, 2, 20)) == 2026
    assert festivals.current_year(date(2026, 3, 10)) == 2027


@pytest.fixture
def village(tree):
    """community_a: an 82-year-old, a lonely, a model worker, one ordinary retiree, one deceased hardship."""
    c = tree["community_a"]
    rs = {
        "old": make_retiree(c, name="高奶奶", birth=date(1944, 1, 1)),
        "lonely": make_retiree(c, name="孤大爷", birth=date(1955, 5, 5), categories=["lonely"]),
        "worker": make_retiree(c, name="劳模李", birth=date(1956, 6, 6), categories=["model_worker", "disabled"]),
        "plain": make_retiree(c, name="普通王", birth=date(1958, 8, 8)),
        "gone": make_retiree(c, name="已故赵", birth=date(1950, 1, 1), categories=["hardship"]),
        "nearly": make_retiree(c, name="差一天", birth=date(1946, 2, 18)),  # 80 the day after the festival
        "elsewhere": make_retiree(tree["community_b"], name="外社区", birth=date(1950, 2, 2), categories=["lonely"]),
    }
    rs["gone"].life_status = "deceased"
    db.session.commit()
    return rs


def roster_names(roster):
    return sorted(e.retiree.name for e in festivals.entries(roster))


def test_generate_rosters_per_community_with_tasks_due_on_the_festival(village, case_staff, tree):
    with clock.frozen(JAN):
        results = festivals.generate(case_staff.street, 2026)
    db.session.commit()
    by_code = {r.roster.community.code: r for r in results}
    assert set(by_code) == {tree["community_a"].code, tree["community_a2"].code}
    roster = by_code[tree["community_a"].code].roster
    assert roster_names(roster) == ["劳模李", "孤大爷", "高奶奶"]
    assert roster.festival_date == date(2026, 2, 17) and roster.lunar_date.startswith("丙午")
    entry = next(e for e in festivals.entries(roster) if e.retiree.name == "高奶奶")
    assert entry.categories == "elderly"
    assert "高龄" in entry.task.note
    tasks = db.session.query(VisitTask).filter_by(kind="festival_visit").all()
    assert len(tasks) == 3 and {t.due_on for t in tasks} == {date(2026, 2, 17)}
    assert {(t.source_type, t.community_id) for t in tasks} == {("festival_roster_entry", tree["community_a"].id)}


def test_generation_is_idempotent_and_tops_up(village, case_staff, tree):
    with clock.frozen(JAN):
        festivals.generate(case_staff.worker, 2026)
        db.session.commit()
        again = festivals.generate(case_staff.worker, 2026)
        db.session.commit()
        assert again[0].added == 0 and again[0].size == 3
        make_retiree(tree["community_a"], name="新孤寡", birth=date(1957, 1, 1), categories=["lonely"])
        db.session.commit()
        topped = festivals.generate(case_staff.street, 2026)
        db.session.commit()
    assert sum(r.added for r in topped) == 1
    assert db.session.query(FestivalRoster).filter_by(year=2026).count() == 2
    assert db.session.query(VisitTask).filter_by(kind="festival_visit").count() == 4
    assert db.session.query(FestivalRosterEntry).filter_by(year=2026).count() == 4


def test_the_database_refuses_a_retiree_twice_in_a_year(village, case_staff):
    from sqlalchemy.exc import IntegrityError

    with clock.frozen(JAN):
        results = festivals.generate(case_staff.worker, 2026)
    db.session.commit()
    db.session.add(FestivalRosterEntry(roster_id=results[0].roster.id, year=2026, retiree_id=village["old"].id,
                                       categories="elderly"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_priority_groups_are_configurable(app, village, case_staff, monkeypatch):
    monkeypatch.setitem(app.config, "FESTIVAL_PRIORITY_CATEGORIES", ["model_worker"])
    with clock.frozen(JAN):
        results = festivals.generate(case_staff.worker, 2026)
    assert roster_names(results[0].roster) == ["劳模李"]
    monkeypatch.setitem(app.config, "FESTIVAL_PRIORITY_CATEGORIES", ["rich"])
    with pytest.raises(RuntimeError):
        festivals.priority_categories()


def test_coverage_counts_retirees_actually_visited(village, case_staff, tree):
    with clock.frozen(JAN):
        festivals.generate(case_staff.worker, 2026)
        db.session.commit()
        tasks = {t.retiree.name: t for t in db.session.query(VisitTask).filter_by(kind="festival_visit")}
        visits.record_visit(case_staff.worker, tasks["高奶奶"], visited_at=clock.now(), visited_by=case_staff.worker,
                            outcome="completed")
        _, revisit = visits.record_empty_visit(case_staff.worker, tasks["孤大爷"], visited_at=clock.now(),
                                               visited_by=case_staff.worker, reason="无人在家")
        db.session.commit()
        [row] = festivals.coverage(case_staff.worker, 2026)
        assert (row.size, row.visited, row.percent) == (3, 1, 33.3)   # an empty visit is not coverage
        visits.record_visit(case_staff.worker, revisit, visited_at=clock.now(), visited_by=case_staff.worker,
                            outcome="completed")
        db.session.commit()
        [row] = festivals.coverage(case_staff.worker, 2026)
        assert (row.size, row.visited, row.percent) == (3, 2, 66.7)
        assert festivals.coverage(case_staff.other_worker, 2026) == []
        rows = festivals.coverage(case_staff.agency, 2026)
        assert [r.roster.community.code for r in rows] == [tree["community_a"].code]


def test_a_death_takes_the_retiree_out_of_the_denominator(village, case_staff, family):
    from app.domain.cases import deaths, reports

    with clock.frozen(JAN):
        family.retiree.category_rows  # noqa: B018 — loaded before the change below
        from app.models import RetireeCategory

        family.retiree.category_rows.append(RetireeCategory(category="lonely"))
        db.session.commit()
        festivals.generate(case_staff.worker, 2026)
        db.session.commit()
        [row] = festivals.coverage(case_staff.worker, 2026)
        assert row.size == 4
        report, _ = reports.file_report(family.son, {"type": "death", "retiree_id": family.retiree.id,
                                                     "died_on": JAN - timedelta(days=1)})
        deaths.verify(case_staff.worker, report)
        db.session.commit()
        [row] = festivals.coverage(case_staff.worker, 2026)
        assert row.size == 3


def test_generation_denials_and_limits(village, case_staff, tree):
    with clock.frozen(JAN):
        with pytest.raises(NotAuthorized):
            festivals.generate(case_staff.helper, 2026)
        with pytest.raises(NotAuthorized):
            festivals.generate(case_staff.worker, 2026, community=tree["community_b"])
        with pytest.raises(ValidationFailed):
            festivals.generate(case_staff.worker, 2028)
        with pytest.raises(NotAuthorized):
            festivals.coverage(case_staff.helper, 2026)
    with clock.frozen(date(2026, 3, 10)):
        with pytest.raises(Unprocessable) as caught:
            festivals.generate(case_staff.worker, 2026)
        assert caught.value.code == "festival_passed"
    assert db.session.query(FestivalRoster).count() == 0
