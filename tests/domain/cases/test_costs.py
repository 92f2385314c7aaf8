"""Unit costs (seed defaults, region overrides inherited down the tree) and the budget read model."""
from __future__ import annotations

from datetime import date

import pytest

from app.domain import clock
from app.domain.cases import costs, deaths, hardship, reports, visits
from app.domain.errors import NotAuthorized, ValidationFailed
from app.extensions import db
from app.models import AuditEntry, Retiree
from tests.support.cases import TODAY
from tests.support.factories import make_retiree

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_seed_defaults(tree):
    resolved = costs.resolve_unit_costs(tree["community_a"])
    assert {c: r.amount_fen for c, r in resolved.items()} == {
        "hospital_visit": 5000, "condolence_car": 5000, "condolence_wreath": 4000,
        "festival_and_activities": 1500, "certification": 200}
    assert all(r.region is None for r in resolved.values())
    assert costs.unit_cost(tree["community_a"], "condolence_car") + \
        costs.unit_cost(tree["community_a"], "condolence_wreath") == 9000


def test_region_overrides_are_inherited_by_the_nearest_ancestor(tree, case_staff):
    # The city pays 40 yuan for a condolence visit (the seed's other city); street A then raises its car.
    costs.set_unit_cost(case_staff.agency, tree["city"], "condolence_car", 0)
    costs.set_unit_cost(case_staff.street, tree["street_a"], "condolence_car", 3000)
    db.session.commit()
    assert costs.unit_cost(tree["community_a"], "condolence_car") == 3000
    assert costs.resolve_unit_costs(tree["community_a"])["condolence_car"].region.id == tree["street_a"].id
    assert costs.unit_cost(tree["community_b"], "condolence_car") == 0
    assert costs.unit_cost(tree["community_b"], "condolence_wreath") == 4000
    assert costs.unit_cost(tree["province"], "condolence_car") == 5000
    assert costs.default_lines("condolence_visit", tree["community_a"]) == [("condolence_car", 3000),
                                                                            ("condolence_wreath", 4000)]
    costs.set_unit_cost(case_staff.street, tree["street_a"], "condolence_car", None)  # back to inheriting
    db.session.commit()
    assert costs.unit_cost(tree["community_a"], "condolence_car") == 0
    assert db.session.query(AuditEntry).filter_by(action="unit_cost.set").count() == 3


def test_only_admins_in_scope_edit_unit_costs(tree, case_staff):
    for who, region in ((case_staff.worker, tree["community_a"]), (case_staff.street, tree["street_b"]),
                        (case_staff.other_street, tree["community_a"])):
        with pytest.raises(NotAuthorized):
            costs.set_unit_cost(who, region, "hospital_visit", 6000)
    with pytest.raises(ValidationFailed):
        costs.set_unit_cost(case_staff.street, tree["street_a"], "hospital_visit", -100)
    with pytest.raises(ValidationFailed):
        costs.set_unit_cost(case_staff.street, tree["street_a"], "banquet", 100)


@pytest.mark.parametrize(("raw", "fen"), [("50", 5000), ("50.5", 5050), ("0.05", 5), ("", 0), (" 12.30 ", 1230)])
def test_parse_yuan(raw, fen):
    assert costs.parse_yuan(raw, "amount") == fen
    assert costs.parse_yuan(costs.yuan(fen), "amount") == fen


@pytest.mark.parametrize("raw", ["-1", "1.234", "abc", "1e3", "五十"])
def test_parse_yuan_refuses(raw):
    with pytest.raises(ValidationFailed):
        costs.parse_yuan(raw, "amount")


def test_spend_by_region_sums_visits_and_help_by_category(tree, case_staff, family):
    report, _ = reports.file_report(family.son, {"type": "hospitalization", "retiree_id": family.retiree.id,
                                                 "hospital": "市一医院", "admitted_on": TODAY})
    visits.record_visit(case_staff.worker, report.visit_task, visited_at=clock.now(), visited_by=case_staff.worker,
                        outcome="completed", cost_lines=[("hospital_visit", 5000, None), ("other", 800, "水果")])
    case = hardship.open_case(case_staff.worker, family.retiree, "困难")
    hardship.record_help(case_staff.worker, case, kind="money", amount_fen=20000, helped_on=TODAY)
    other = make_retiree(tree["community_b"], name="孙大爷")
    task = visits.create_task("hardship_visit", other, TODAY)
    visits.record_visit(case_staff.other_worker, task, visited_at=clock.now(), visited_by=case_staff.other_worker,
                        outcome="completed", cost_lines=[("other", 1000, None)])
    db.session.commit()
    year = (date(2025, 1, 1), date(2025, 12, 31))
    assert costs.spend_by_region(tree["street_a"], *year) == {"hospital_visit": 5000, "other": 800,
                                                              "hardship_help": 20000, "total": 25800}
    assert costs.spend_by_region(tree["city"], *year)["total"] == 26800
    assert costs.spend_by_region(tree["street_a"], date(2025, 3, 11), date(2025, 12, 31)) == {"total": 0}


def test_estimate_from_unit_costs_and_counts(tree, case_staff):
    community = tree["community_a"]
    for i in range(3):
        make_retiree(community, name=f"在册{i}")
    # Last year: one death (verified) and two hospitalization reports in community_a.
    with clock.frozen(date(2024, 6, 1)):
        dead = make_retiree(community, name="去年故")
        from tests.support.api import bind, make_account

        son = make_account()
        bind(son, dead, "child")
        for _ in range(2):
            reports.file_report(son, {"type": "hospitalization", "retiree_id": dead.id, "hospital": "市一医院",
                                      "admitted_on": date(2024, 5, 30)})
        report, _ = reports.file_report(son, {"type": "death", "retiree_id": dead.id, "died_on": date(2024, 5, 31)})
        deaths.verify(case_staff.worker, report)
    costs.set_unit_cost(case_staff.street, tree["street_a"], "festival_and_activities", 2000)
    db.session.commit()
    assert db.session.get(Retiree, dead.id).life_status == "deceased"
    estimate = costs.estimate(tree["street_a"], 2025)
    lines = {line.category: (line.count, line.amount_fen) for line in estimate.lines}
    assert lines["festival_and_activities"] == (3, 6000)   # living retirees × overridden 20 yuan
    assert lines["certification"] == (3, 600)
    assert lines["hospital_visit"] == (1, 5000)           # two reports of one stay: one visit
    assert lines["condolence_car"] == (1, 5000) and lines["condolence_wreath"] == (1, 4000)
    assert estimate.total_fen == 6000 + 600 + 5000 + 9000
    assert costs.estimate(tree["street_b"], 2025).total_fen == 0
    assert costs.estimate(tree["street_a"], 2026).lines[2].count == 0  # nothing happened in 2025 yet


def test_yuan_formatting():
    assert costs.yuan(5000) == "50.00" and costs.yuan(5) == "0.05" and costs.yuan(None) == ""
