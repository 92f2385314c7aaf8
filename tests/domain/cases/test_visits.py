"""Visit tasks and records: queue scoping, assignment, helpers, costs, the empty visit and revisit."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain import clock
from app.domain.cases import reports, visits
from app.domain.errors import Conflict, NotAuthorized, NotFound, ValidationFailed
from app.extensions import db
from app.models.cases import CostLine, Report, VisitRecord
from app.models.certification import CertificationRecord
from app.models.tasks import VisitTask
from tests.support.cases import TODAY, notifications
from tests.support.factories import make_retiree

pytestmark = pytest.mark.usefixtures("frozen_clock")


def hospital_report(family) -> Report:
    report, _ = reports.file_report(family.son, {"type": "hospitalization", "retiree_id": family.retiree.id,
                                                 "hospital": "市一医院", "ward": "3 病区", "admitted_on": TODAY})
    db.session.commit()
    return report


def task_in(community, kind="hardship_visit", due_in=3, name="赵大爷"):
    retiree = make_retiree(community, name=name)
    task = visits.create_task(kind, retiree, TODAY + timedelta(days=due_in))
    db.session.commit()
    return task


def test_create_task_is_idempotent_per_source(family):
    a = visits.create_task("hospital_visit", family.retiree, TODAY, source_type="report", source_id=99)
    b = visits.create_task("hospital_visit", family.retiree, TODAY, source_type="report", source_id=99)
    assert a.id == b.id
    with pytest.raises(ValidationFailed):
        visits.create_task("tea_party", family.retiree, TODAY)


def test_queue_is_scoped_to_the_subtree(tree, case_staff):
    mine = task_in(tree["community_a"])
    neighbour = task_in(tree["community_a2"], name="钱奶奶")
    elsewhere = task_in(tree["community_b"], name="孙大爷")
    assert {t.id for t in visits.queue(case_staff.worker).tasks} == {mine.id}
    assert {t.id for t in visits.queue(case_staff.street).tasks} == {mine.id, neighbour.id}
    assert {t.id for t in visits.queue(case_staff.agency).tasks} == {mine.id, neighbour.id, elsewhere.id}
    with pytest.raises(NotAuthorized):
        visits.task_for(case_staff.other_worker, mine.id)
    with pytest.raises(NotFound):
        visits.task_for(case_staff.worker, 10_000)


def test_queue_filters_and_overdue(tree, case_staff):
    late = task_in(tree["community_a"], due_in=-2)
    soon = task_in(tree["community_a"], kind="hospital_visit", due_in=2, name="周奶奶")
    visits.assign(case_staff.worker, soon, case_staff.helper)
    db.session.commit()
    assert [t.id for t in visits.queue(case_staff.worker).tasks] == [late.id, soon.id]  # by due date
    assert [t.id for t in visits.queue(case_staff.worker, overdue_only=True).tasks] == [late.id]
    assert [t.id for t in visits.queue(case_staff.worker, kind="hospital_visit").tasks] == [soon.id]
    assert [t.id for t in visits.queue(case_staff.worker, assignee_id=case_staff.helper.id).tasks] == [soon.id]
    assert [t.id for t in visits.queue(case_staff.worker, assignee_id=0).tasks] == [late.id]
    assert visits.is_overdue(late) and not visits.is_overdue(soon)
    assert visits.queue(case_staff.worker, status="done").total == 0
    with pytest.raises(ValidationFailed):
        visits.queue(case_staff.worker, kind="nonsense")


def test_helpers_see_and_record_only_their_own_tasks(tree, case_staff):
    theirs = task_in(tree["community_a"])
    not_theirs = task_in(tree["community_a"], name="吴奶奶")
    visits.assign(case_staff.worker, theirs, case_staff.helper)
    visits.assign(case_staff.worker, not_theirs, case_staff.helper2)
    db.session.commit()
    assert [t.id for t in visits.queue(case_staff.helper).tasks] == [theirs.id]
    with pytest.raises(NotAuthorized):
        visits.task_for(case_staff.helper, not_theirs.id)
    with pytest.raises(NotAuthorized):
        visits.record_visit(case_staff.helper, not_theirs, visited_at=clock.now(), visited_by=case_staff.helper,
                            outcome="completed")
    with pytest.raises(NotAuthorized):
        visits.assign(case_staff.helper, theirs, case_staff.helper)
    with pytest.raises(ValidationFailed):  # a helper records only their own visits
        visits.record_visit(case_staff.helper, theirs, visited_at=clock.now(), visited_by=case_staff.worker,
                            outcome="completed")
    record = visits.record_visit(case_staff.helper, theirs, visited_at=clock.now(), visited_by=case_staff.helper,
                                 outcome="completed", notes="精神不错")
    db.session.commit()
    assert record.visited_by_id == case_staff.helper.id and theirs.status == "done"


def test_assign_only_to_staff_responsible_for_the_community(tree, case_staff):
    task = task_in(tree["community_a"])
    for wrong in (case_staff.other_worker, case_staff.neighbour_worker):
        with pytest.raises(ValidationFailed):
            visits.assign(case_staff.street, task, wrong)
    visits.assign(case_staff.street, task, case_staff.helper)
    visits.assign(case_staff.street, task, case_staff.helper2)  # reassign
    db.session.commit()
    assert task.assignee_id == case_staff.helper2.id
    with pytest.raises(NotAuthorized):
        visits.assign(case_staff.other_street, task, case_staff.helper)
    visits.assign(case_staff.worker, task, None)
    assert task.assignee_id is None


def test_visit_record_with_costs_closes_the_task_and_notifies_the_reporter(family, case_staff):
    report = hospital_report(family)
    task = report.visit_task
    defaults = visits.costs.default_lines("hospital_visit", task.community)
    assert defaults == [("hospital_visit", 5000)]
    record = visits.record_visit(case_staff.worker, task, visited_at=clock.now() - timedelta(hours=1),
                                 visited_by=case_staff.worker, outcome="completed", companions="楼长李阿姨",
                                 cost_lines=[("hospital_visit", 5000, None), ("other", 0, "零金额不计")])
    db.session.commit()
    assert task.status == "done" and task.closed_at is not None
    assert [(c.category, c.amount_fen, c.spent_on) for c in record.cost_lines] == [("hospital_visit", 5000, TODAY)]
    db.session.refresh(report)
    assert report.status == "done"
    sent = notifications("visit_done")
    assert [n.account_id for n in sent] == [family.son.id]
    assert sent[0].data["service"] == "住院探视" and sent[0].data["name"] == "王秀英"
    with pytest.raises(Conflict):
        visits.record_visit(case_staff.worker, task, visited_at=clock.now(), visited_by=case_staff.worker,
                            outcome="completed")


def test_bad_visit_input_is_refused_and_nothing_written(family, case_staff):
    task = hospital_report(family).visit_task
    cases = [
        dict(outcome="certified"),
        dict(visited_at=clock.now() + timedelta(hours=2)),
        dict(visited_at=clock.now() - timedelta(days=400)),
        dict(visited_by=case_staff.other_worker),
        dict(cost_lines=[("hospital_visit", -1, None)]),
        dict(cost_lines=[("hardship_help", 100, None)]),
        dict(cost_lines=[("wine", 100, None)]),
    ]
    for override in cases:
        args = dict(visited_at=clock.now(), visited_by=case_staff.worker, outcome="completed") | override
        with pytest.raises(ValidationFailed):
            visits.record_visit(case_staff.worker, task, **args)
        assert db.session.get(VisitTask, task.id).status == "open"  # refused before anything is written
        db.session.commit()
    assert db.session.query(VisitRecord).count() == 0 and db.session.query(CostLine).count() == 0
    assert db.session.get(VisitTask, task.id).status == "open"


def test_cost_lines_cannot_be_negative_in_the_database(family, case_staff):
    from sqlalchemy.exc import IntegrityError

    task = hospital_report(family).visit_task
    record = visits.record_visit(case_staff.worker, task, visited_at=clock.now(), visited_by=case_staff.worker,
                                 outcome="completed")
    db.session.add(CostLine(category="other", amount_fen=-5, community_id=task.community_id, spent_on=TODAY,
                            visit_record_id=record.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_empty_visit_schedules_a_revisit_and_keeps_the_report_open(app, family, case_staff):
    report = hospital_report(family)
    task = report.visit_task
    visits.assign(case_staff.worker, task, case_staff.helper)
    record, revisit = visits.record_empty_visit(case_staff.helper, task, visited_at=clock.now(),
                                                visited_by=case_staff.helper, reason="无人在家")
    db.session.commit()
    assert record.empty_visit and record.outcome == "not_home" and record.empty_reason == "无人在家"
    assert task.status == "done"
    assert revisit.kind == "revisit" and revisit.status == "open"
    assert revisit.due_on == TODAY + timedelta(days=2)
    assert revisit.assignee_id == case_staff.helper.id
    assert (revisit.source_type, revisit.source_id) == ("visit_task", task.id)
    db.session.refresh(report)
    assert report.status == "received" and notifications("visit_done") == []

    # Nobody home again: the next revisit still points at the root task.
    with clock.frozen(date(2025, 3, 12)):
        _, second = visits.record_empty_visit(case_staff.helper, revisit, visited_at=clock.now(),
                                              visited_by=case_staff.helper, reason="电话联系不上")
    db.session.commit()
    assert (second.source_type, second.source_id) == ("visit_task", task.id)
    assert [t.id for t in visits.chain(second)] == [task.id, revisit.id, second.id]
    assert visits.effective_kind(second) == "hospital_visit"

    with clock.frozen(date(2025, 3, 14)):
        visits.record_visit(case_staff.helper, second, visited_at=clock.now(), visited_by=case_staff.helper,
                            outcome="completed")
    db.session.commit()
    db.session.refresh(report)
    assert report.status == "done" and len(notifications("visit_done")) == 1


def test_empty_visit_needs_a_reason(family, case_staff):
    task = hospital_report(family).visit_task
    with pytest.raises(ValidationFailed) as caught:
        visits.record_empty_visit(case_staff.worker, task, visited_at=clock.now(), visited_by=case_staff.worker,
                                  reason="  ")
    assert "reason" in caught.value.fields
    assert db.session.query(VisitTask).filter_by(kind="revisit").count() == 0


def test_revisit_delay_is_configurable(app, family, case_staff):
    task = hospital_report(family).visit_task
    app.config["REVISIT_AFTER_DAYS"] = 4
    try:
        _, revisit = visits.record_empty_visit(case_staff.worker, task, visited_at=clock.now(),
                                               visited_by=case_staff.worker, reason="无人在家")
    finally:
        app.config["REVISIT_AFTER_DAYS"] = 2
    assert revisit.due_on == TODAY + timedelta(days=4)


def test_home_certification_visit_certifies_the_retiree(family, case_staff):
    from app.domain.certification import certify

    certify.record_certification(family.retiree, TODAY - timedelta(days=335), "on_site")
    report, _ = reports.file_report(family.me, {"type": "home_certification", "retiree_id": family.retiree.id})
    db.session.commit()
    task = report.visit_task
    assert visits.costs.default_lines("home_certification", task.community) == [("certification", 200)]
    with pytest.raises(ValidationFailed):
        visits.record_visit(case_staff.worker, task, visited_at=clock.now(), visited_by=case_staff.worker,
                            outcome="completed")
    visits.record_visit(case_staff.worker, task, visited_at=clock.now(), visited_by=case_staff.worker,
                        outcome="certified", cost_lines=[("certification", 200, None)])
    db.session.commit()
    record = db.session.query(CertificationRecord).filter_by(retiree_id=family.retiree.id,
                                                             method="home_visit").one()
    assert record.certified_on == TODAY and record.source == f"visit_task:{task.id}"
    db.session.refresh(report)
    assert report.status == "done"


def test_cancel_open_tasks_keeps_one(family, case_staff):
    keep = visits.create_task("condolence_visit", family.retiree, TODAY)
    other = visits.create_task("hardship_visit", family.retiree, TODAY)
    assert visits.cancel_open_tasks(family.retiree, keep_task_id=keep.id) == 1
    db.session.commit()
    assert (db.session.get(VisitTask, keep.id).status, db.session.get(VisitTask, other.id).status) == \
        ("open", "cancelled")
