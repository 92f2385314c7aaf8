"""Death verification: the cascade in one transaction, rejection, and every denial."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain.cases import deaths, reports, visits
from app.domain.errors import Conflict, NotAuthorized
from app.extensions import db
from app.models import AuditEntry, Retiree
from app.models.cases import HardshipCase, PensionStop, Report
from app.models.certification import Booking
from app.models.tasks import VisitTask
from tests.support.cases import TODAY, booked_retiree_slot, notifications

pytestmark = pytest.mark.usefixtures("frozen_clock")


def report_death(family, account=None, died_on=date(2025, 3, 8)) -> Report:
    report, _ = reports.file_report(account or family.son, {"type": "death", "retiree_id": family.retiree.id,
                                                            "died_on": died_on, "note": "在家中安详离世"})
    db.session.commit()
    return report


@pytest.fixture
def busy_family(tree, family):
    """A death-reported retiree with a booking, a hospital visit task, a festival-like task and a hardship case."""
    _slot, found = booked_retiree_slot(tree, family.retiree)
    reports.file_report(family.son, {"type": "hospitalization", "retiree_id": family.retiree.id,
                                     "hospital": "市一医院", "admitted_on": TODAY - timedelta(days=5)})
    reports.file_report(family.son, {"type": "hardship", "retiree_id": family.retiree.id, "description": "困难"})
    db.session.commit()
    report = report_death(family)
    family.booking, family.report = found, report
    return family


def snapshot(retiree_id):
    db.session.expire_all()
    retiree = db.session.get(Retiree, retiree_id)
    return {
        "life": retiree.life_status, "pension": retiree.pension_status, "died_on": retiree.died_on,
        "bookings": sorted(b.status for b in db.session.query(Booking).filter_by(retiree_id=retiree_id)),
        "tasks": sorted((t.kind, t.status) for t in db.session.query(VisitTask).filter_by(retiree_id=retiree_id)),
        "cases": sorted(c.status for c in db.session.query(HardshipCase).filter_by(retiree_id=retiree_id)),
        "stops": db.session.query(PensionStop).count(),
        "reports": sorted((r.type, r.status) for r in db.session.query(Report).filter_by(retiree_id=retiree_id)),
        "audit": db.session.query(AuditEntry).filter_by(action="death.verify").count(),
        "condolences": len(notifications("condolence")),
    }


def test_verify_applies_the_whole_cascade(busy_family, case_staff):
    before = snapshot(busy_family.retiree.id)
    assert before["life"] == "death_reported" and before["pension"] == "normal"
    assert before["bookings"] == ["booked"]

    result = deaths.verify(case_staff.worker, busy_family.report)
    db.session.commit()

    after = snapshot(busy_family.retiree.id)
    assert after["life"] == "deceased" and after["died_on"] == date(2025, 3, 8)
    assert after["pension"] == "stopped" and after["stops"] == 1
    assert after["bookings"] == ["cancelled"]
    assert after["tasks"] == [("condolence_visit", "open"), ("hospital_visit", "cancelled")]
    assert after["cases"] == ["closed"]
    assert ("death", "verified") in after["reports"] and ("hospitalization", "cancelled") in after["reports"]
    assert after["audit"] == 1
    assert result.bookings_cancelled == 1 and result.tasks_cancelled == 1
    task = result.condolence_task
    assert task.due_on == TODAY + timedelta(days=2)
    # The condolence message goes to the relative, never to the deceased's own account.
    assert [n.account_id for n in notifications("condolence")] == [busy_family.son.id]
    stop = db.session.query(PensionStop).one()
    assert stop.stopped_since == date(2025, 3, 8)
    # Reminders and campaigns stop by themselves: messaging reaches nobody about the deceased.
    from app.domain.messaging import outbox

    retiree = db.session.get(Retiree, busy_family.retiree.id)
    assert outbox.notify(retiree, "certification_due", {"name": "王秀英"}, "after-death-reminder") == []
    assert outbox.notify(retiree, "holiday_greeting", {"festival": "春节"}, "after-death-greeting") == []


def test_verify_with_a_corrected_date_and_config_deadline(app, family, case_staff):
    report = report_death(family)
    app.config["CONDOLENCE_VISIT_DUE_DAYS"] = 5
    try:
        result = deaths.verify(case_staff.street, report, died_on=date(2025, 3, 7), note="社区核实")
    finally:
        app.config["CONDOLENCE_VISIT_DUE_DAYS"] = 2
    db.session.commit()
    assert result.retiree.died_on == date(2025, 3, 7)
    assert result.condolence_task.due_on == TODAY + timedelta(days=5)


@pytest.mark.parametrize("failing", ["app.domain.cases.deaths.outbox.notify",
                                     "app.domain.cases.deaths.visits.create_task",
                                     "app.domain.cases.deaths.audit.record"])
def test_a_failure_in_the_middle_leaves_nothing_half_done(busy_family, case_staff, monkeypatch, failing):
    before = snapshot(busy_family.retiree.id)

    def boom(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(failing, boom)
    with pytest.raises(RuntimeError, match="injected"):
        deaths.verify(case_staff.worker, busy_family.report)
    db.session.commit()  # whatever the caller then commits holds none of the cascade
    after = snapshot(busy_family.retiree.id)
    assert after == before
    assert after["life"] == "death_reported" and after["pension"] == "normal"
    assert after["bookings"] == ["booked"] and ("condolence_visit", "open") not in after["tasks"]


def test_verifying_twice_is_409(family, case_staff):
    report = report_death(family)
    deaths.verify(case_staff.worker, report)
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        deaths.verify(case_staff.street, report)
    assert caught.value.status == 409 and caught.value.code == "already_decided"
    db.session.rollback()
    assert db.session.query(VisitTask).filter_by(kind="condolence_visit").count() == 1


def test_a_second_report_of_the_same_death_is_verified_with_the_first(family, case_staff):
    first = report_death(family)
    second = report_death(family, account=family.me)
    deaths.verify(case_staff.worker, first)
    db.session.commit()
    db.session.refresh(second)
    assert second.status == "verified" and second.visit_task_id is not None
    with pytest.raises(Conflict):
        deaths.verify(case_staff.worker, second)


def test_reject_restores_alive_and_tells_the_reporter(family, case_staff):
    report = report_death(family)
    deaths.reject(case_staff.worker, report, "本人健在，系误报")
    db.session.commit()
    retiree = db.session.get(Retiree, family.retiree.id)
    assert retiree.life_status == "alive" and retiree.pension_status == "normal"
    assert report.status == "rejected" and report.decision_note == "本人健在，系误报"
    rejected = [n for n in notifications("report_received", family.son) if n.idempotency_key.startswith("report_rej")]
    assert len(rejected) == 1 and rejected[0].data["status"] == "已驳回"
    assert db.session.query(AuditEntry).filter_by(action="death.reject").count() == 1
    with pytest.raises(Conflict):
        deaths.verify(case_staff.worker, report)


@pytest.mark.parametrize("who", ["other_worker", "other_street", "neighbour_worker", "helper", "agency"])
def test_only_verifiers_in_scope_may_decide(family, case_staff, who):
    report = report_death(family)
    with pytest.raises(NotAuthorized):
        deaths.verify(getattr(case_staff, who), report)
    with pytest.raises(NotAuthorized):
        deaths.reject(getattr(case_staff, who), report, "误报")
    db.session.rollback()
    assert db.session.get(Retiree, family.retiree.id).life_status == "death_reported"


def test_pending_list_is_scoped(family, case_staff):
    report = report_death(family)
    assert [r.id for r in deaths.pending(case_staff.street)] == [report.id]
    assert deaths.pending(case_staff.other_street) == []


def test_stop_list_for_the_agency(family, case_staff):
    deaths.verify(case_staff.worker, report_death(family))
    db.session.commit()
    rows = deaths.pension_stops(case_staff.agency, unacknowledged_only=True)
    assert [r.retiree_id for r in rows] == [family.retiree.id]
    assert deaths.pension_stops(case_staff.other_street) == []
    with pytest.raises(NotAuthorized):
        deaths.acknowledge_stop(case_staff.worker, rows[0].id)
    deaths.acknowledge_stop(case_staff.agency, rows[0].id)
    db.session.commit()
    assert deaths.pension_stops(case_staff.agency, unacknowledged_only=True) == []
    assert db.session.query(AuditEntry).filter_by(action="pension_stop_list.view").count() >= 2


def test_condolence_visit_done_closes_the_report_and_notifies(family, case_staff):
    report = report_death(family)
    result = deaths.verify(case_staff.worker, report)
    db.session.commit()
    from app.domain import clock

    visits.record_visit(case_staff.worker, result.condolence_task, visited_at=clock.now(), visited_by=case_staff.worker,
                        outcome="completed", cost_lines=[("condolence_car", 5000, None),
                                                         ("condolence_wreath", 4000, None)])
    db.session.commit()
    db.session.refresh(report)
    assert report.status == "done"
    assert [n.account_id for n in notifications("visit_done")] == [family.son.id]


def test_verify_gives_the_deceased_activity_seat_to_the_next_in_line(family, case_staff, tree):
    from datetime import datetime, time

    from app.domain import clock
    from app.domain.events import activities
    from app.models.events import ActivityRegistration
    from tests.support.factories import make_retiree

    starts = datetime.combine(TODAY + timedelta(days=20), time(9), tzinfo=clock.SERVICE_ZONE)
    activity = activities.create_activity(case_staff.worker, title="重阳登高", place="社区广场", starts_at=starts,
                                          ends_at=starts + timedelta(hours=2), capacity=1,
                                          region=tree["community_a"])
    neighbour = make_retiree(tree["community_a"], name="李建国")
    db.session.commit()
    activities.register(family.me, family.retiree, activity.id)
    activities.register(None, neighbour, activity.id)
    db.session.commit()
    report = report_death(family)

    deaths.verify(case_staff.worker, report)
    db.session.commit()

    statuses = {r.retiree_id: r.status for r in db.session.query(ActivityRegistration)}
    assert statuses == {family.retiree.id: "cancelled", neighbour.id: "registered"}
