"""Hardship cases: assessment, helpers, help records (money or service), reviews due, closing."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain import clock
from app.domain.cases import hardship, reports
from app.domain.errors import Conflict, NotAuthorized, NotFound, ValidationFailed
from app.extensions import db
from app.models import AuditEntry
from app.models.cases import CostLine, HardshipCase, HelpRecord
from tests.support.cases import TODAY

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def case(family, case_staff):
    report, _ = reports.file_report(family.son, {"type": "hardship", "retiree_id": family.retiree.id,
                                                 "description": "独居，医药费负担重"})
    db.session.commit()
    return report.hardship_case


def test_assess_assign_help_review_close(case, case_staff, family):
    hardship.assess(case_staff.worker, case, "符合特困条件，每季度复核", review_days=90)
    assert case.review_due_on == TODAY + timedelta(days=90)
    hardship.assign_helper(case_staff.worker, case, case_staff.helper)
    again = hardship.assign_helper(case_staff.worker, case, case_staff.helper)  # idempotent
    assert len([h for h in case.helpers if h.ended_at is None]) == 1 and again.staff_id == case_staff.helper.id

    money = hardship.record_help(case_staff.helper, case, kind="money", amount_fen=30000, helped_on=TODAY)
    service = hardship.record_help(case_staff.helper, case, kind="service", description="代购药品、打扫卫生",
                                   helped_on=TODAY - timedelta(days=1))
    db.session.commit()
    assert money.helper_id == case_staff.helper.id and service.amount_fen is None
    line = db.session.query(CostLine).one()
    assert (line.category, line.amount_fen, line.help_record_id) == ("hardship_help", 30000, money.id)
    assert hardship.money_total(case) == 30000

    with clock.frozen(date(2025, 6, 9)):
        assert [c.id for c in hardship.cases(case_staff.worker, review_due=True)] == [case.id]
        hardship.review(case_staff.worker, case, "情况稳定")
        assert case.review_due_on == date(2025, 6, 9) + timedelta(days=90)
        assert hardship.cases(case_staff.worker, review_due=True) == []
    hardship.close(case_staff.worker, case, "子女接回赡养")
    db.session.commit()
    assert case.status == "closed" and case.close_reason == "子女接回赡养" and case.closed_at is not None
    assert case.reviews[0].note == "情况稳定"
    assert db.session.query(AuditEntry).filter_by(action="hardship.close").count() == 1
    with pytest.raises(Conflict):
        hardship.record_help(case_staff.worker, case, kind="service", description="x", helped_on=TODAY)
    with pytest.raises(Conflict):
        hardship.close(case_staff.worker, case, "再次结案")


def test_reviews_due_list_is_scoped(case, case_staff):
    hardship.assess(case_staff.worker, case, "评估", review_days=1)
    db.session.commit()
    with clock.frozen(date(2025, 3, 11)):
        assert [c.id for c in hardship.cases(case_staff.street, review_due=True)] == [case.id]
        assert hardship.cases(case_staff.other_street, review_due=True) == []


def test_help_record_validation(case, case_staff):
    for kwargs, field in ((dict(kind="money"), "amount"), (dict(kind="money", amount_fen=0), "amount"),
                          (dict(kind="service"), "description"), (dict(kind="gift"), "kind"),
                          (dict(kind="service", description="x", helped_on=TODAY + timedelta(days=1)), "helped_on")):
        args = {"helped_on": TODAY} | kwargs
        with pytest.raises(ValidationFailed) as caught:
            hardship.record_help(case_staff.worker, case, **args)
        assert field in caught.value.fields
    assert db.session.query(HelpRecord).count() == 0


def test_denials(case, case_staff):
    with pytest.raises(NotAuthorized):
        hardship.case_for(case_staff.other_worker, case.id)
    with pytest.raises(NotAuthorized):  # a helper not assigned to the case
        hardship.case_for(case_staff.helper, case.id)
    with pytest.raises(NotFound):
        hardship.case_for(case_staff.worker, 9999)
    with pytest.raises(NotAuthorized):
        hardship.assess(case_staff.helper, case, "我来评估")
    with pytest.raises(NotAuthorized):
        hardship.assess(case_staff.other_street, case, "越权评估")
    hardship.assign_helper(case_staff.worker, case, case_staff.helper)
    with pytest.raises(NotAuthorized):
        hardship.record_help(case_staff.helper2, case, kind="service", description="x", helped_on=TODAY)
    with pytest.raises(ValidationFailed):  # a helper records their own help only
        hardship.record_help(case_staff.helper, case, kind="service", description="x", helped_on=TODAY,
                             helper=case_staff.helper2)
    with pytest.raises(ValidationFailed):  # helpers come from the case's community
        hardship.assign_helper(case_staff.street, case, case_staff.neighbour_worker)
    with pytest.raises(NotAuthorized):
        hardship.close(case_staff.helper, case, "结案")
    assert [c.id for c in hardship.cases(case_staff.helper)] == [case.id]
    assert hardship.cases(case_staff.helper2) == []


def test_ending_a_helper_removes_their_access(case, case_staff):
    row = hardship.assign_helper(case_staff.worker, case, case_staff.helper)
    hardship.end_helper(case_staff.worker, case, row.id)
    db.session.commit()
    with pytest.raises(NotAuthorized):
        hardship.case_for(case_staff.helper, case.id)
    assert hardship.assign_helper(case_staff.worker, case, case_staff.helper).id != row.id  # may come back


def test_staff_open_a_case_and_only_one_is_open(family, case_staff):
    first = hardship.open_case(case_staff.worker, family.retiree, "低保边缘")
    second = hardship.open_case(case_staff.street, family.retiree, "新增困难")
    assert first.id == second.id and "新增困难" in first.description
    with pytest.raises(ValidationFailed):
        hardship.open_case(case_staff.worker, family.retiree, " ")
    hardship.close(case_staff.worker, first, "已脱困")
    third = hardship.open_case(case_staff.worker, family.retiree, "再次困难")
    db.session.commit()
    assert third.id != first.id
    assert db.session.query(HardshipCase).filter_by(status="open").count() == 1


def test_review_and_assessment_validation(case, case_staff):
    with pytest.raises(ValidationFailed):
        hardship.assess(case_staff.worker, case, "评估", review_days=0)
    with pytest.raises(ValidationFailed):
        hardship.review(case_staff.worker, case, "复核", next_review_on=TODAY)
    with pytest.raises(ValidationFailed):
        hardship.close(case_staff.worker, case, "")
