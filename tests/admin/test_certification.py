"""Staff pages: opening hours and slots, the roster with check-in and walk-ins, the risk list
and its export (audited), work fees, and region scoping."""
from __future__ import annotations

import io
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.domain import clock
from app.domain.archives import records
from app.domain.certification import booking, certify, cycle, daily, reports
from app.domain.certification import slots as certification_slots
from app.extensions import db
from app.models import AuditEntry
from app.models.certification import Booking, CertificationRecord, CertificationState, OpeningHours, Slot
from tests.support.certification import TODAY, at, due_retiree, make_slot, retiree_in
from tests.support.factories import make_service_point, make_staff
from tests.support.staff import fresh_client, login

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def client(app):
    return fresh_client(app)


def _as(client, staff):
    db.session.commit()
    assert login(client, staff).status_code == 302
    return client


def test_opening_hours_and_open_slots_page(client, tree, point):
    worker = make_staff("community_worker", tree["community_a"])
    _as(client, worker)
    base = f"/staff/certification/points/{point.id}"
    response = client.post(base + "/hours", data={"weekday": "0", "start": "09:00", "end": "11:00",
                                                 "slot_minutes": "30", "capacity": "5"})
    assert response.status_code == 302
    overlap = client.post(base + "/hours", data={"weekday": "0", "start": "10:00", "end": "12:00",
                                                "slot_minutes": "30", "capacity": "5"}, follow_redirects=True)
    assert "重叠" in overlap.get_data(as_text=True)
    client.post(base + "/closed", data={"day": str(TODAY + timedelta(days=7)), "reason": "培训"})
    opened = client.post(base + "/open-slots", data={"start": str(TODAY), "days": "15"}, follow_redirects=True)
    # Mondays 03-10, 03-17 (closed), 03-24; today's 09:00 slot has begun (the clock is at 09:00).
    assert "已开放 7 个时段" in opened.get_data(as_text=True)
    starts = db.session.scalars(select(Slot.starts_at).order_by(Slot.starts_at)).all()
    assert [s.astimezone(at(0).tzinfo).strftime("%m-%d %H:%M") for s in starts] == [
        "03-10 09:30", "03-10 10:00", "03-10 10:30", "03-24 09:00", "03-24 09:30", "03-24 10:00", "03-24 10:30"]
    again = client.post(base + "/open-slots", data={"start": str(TODAY), "days": "15"}, follow_redirects=True)
    assert "已开放 0 个时段" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OpeningHours)) == 1


def test_open_slots_command(runner, point):
    certification_slots.add_opening_hours(point, weekday=1, start=time(14), end=time(16), slot_minutes=60, capacity=8)
    db.session.commit()
    result = runner.invoke(args=["open-slots", "--service-point", point.code, "--from", "2025-03-11", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert "opened 2 slots" in result.output
    assert db.session.scalars(select(Slot.capacity)).all() == [8, 8]
    missing = runner.invoke(args=["open-slots", "--service-point", "NOPE", "--from", "2025-03-11", "--days", "7"])
    assert missing.exit_code == 2


def test_roster_check_in_certified_no_show_and_walk_in(client, tree, point):
    worker = make_staff("community_worker", tree["community_a"])
    comes = due_retiree(tree["community_a"], name="王建国")
    absent = due_retiree(tree["community_a"], name="赵淑珍")
    walker = due_retiree(tree["community_a"], name="刘德明", id_number=None)
    slot = make_slot(point, at(0, hour=8, minute=30), capacity=5)
    # Booked earlier (before the slot began): freeze at yesterday to book.
    with clock.frozen(at(-1)):
        b1 = booking.book(None, comes, slot.id)
        b2 = booking.book(None, absent, slot.id)
        db.session.commit()
    _as(client, worker)
    page = client.get(f"/staff/certification/points/{point.id}/roster").get_data(as_text=True)
    assert "王建国" in page and "赵淑珍" in page
    client.post(f"/staff/certification/bookings/{b1.id}/check-in", data={"outcome": "certified", "method": "on_site"})
    client.post(f"/staff/certification/bookings/{b2.id}/check-in", data={"outcome": "no_show"})
    db.session.expire_all()
    assert (db.session.get(Booking, b1.id).status, db.session.get(Booking, b2.id).status) == ("attended", "no_show")
    record = db.session.scalar(select(CertificationRecord).where(CertificationRecord.retiree_id == comes.id,
                                                                 CertificationRecord.certified_on == TODAY))
    assert (record.method, record.staff_id, record.source) == ("on_site", worker.id, f"booking:{b1.id}")
    assert db.session.get(CertificationState, comes.id).status == "ok"
    number = records.full_id_number(walker)
    response = client.post(f"/staff/certification/points/{point.id}/walk-in",
                           data={"id_number": number, "method": "on_site"}, follow_redirects=True)
    assert "刘德明：现场认证已登记" in response.get_data(as_text=True)
    assert db.session.get(CertificationState, walker.id).last_certified_on == TODAY
    bad = client.post(f"/staff/certification/points/{point.id}/walk-in", data={"id_number": "123"},
                      follow_redirects=True)
    assert "身份证号" in bad.get_data(as_text=True)


def test_other_regions_roster_and_points_are_403(client, tree, point):
    outsider = make_staff("community_worker", tree["community_b"])
    far_retiree = due_retiree(tree["community_a"])
    slot = make_slot(point, at(0, hour=8, minute=30))
    with clock.frozen(at(-1)):
        found = booking.book(None, far_retiree, slot.id)
        db.session.commit()
    _as(client, outsider)
    assert client.get(f"/staff/certification/points/{point.id}/roster").status_code == 403
    assert client.get(f"/staff/certification/points/{point.id}").status_code == 403
    assert client.post(f"/staff/certification/points/{point.id}/open-slots",
                       data={"start": str(TODAY), "days": "3"}).status_code == 403
    assert client.post(f"/staff/certification/bookings/{found.id}/check-in",
                       data={"outcome": "certified"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Booking, found.id).status == "booked"
    assert point.code not in client.get("/staff/certification").get_data(as_text=True)
    assert client.get("/staff/certification/risk").status_code == 403  # not an admin
    helper = make_staff("helper", tree["community_a"])
    client.post("/staff/logout")
    _as(client, helper)
    assert client.get(f"/staff/certification/points/{point.id}/roster").status_code == 403


def _audits(action):
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_risk_list_is_scoped_audited_and_exported(client, tree):
    street = make_staff("street_admin", tree["street_a"])
    mine = retiree_in(tree["community_a"], name="陈光荣", certified_on=date(2024, 1, 15), mobility_limited=True)
    theirs = retiree_in(tree["community_b"], name="周文华", certified_on=date(2024, 1, 15))
    current = retiree_in(tree["community_a2"], name="吴丽", certified_on=TODAY - timedelta(days=10))
    daily.daily_tick()
    _as(client, street)
    page = client.get("/staff/certification/risk")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "陈光荣" in text and "周文华" not in text and "吴丽" not in text
    assert f'data-testid="risk-{mine.id}"' in text and f"risk-{theirs.id}" not in text and current.id
    assert _audits("certification.risk_list.view") == 1
    export = client.get("/staff/certification/risk.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "姓名" and len(rows) == 2
    name, _, _, community, status, due_on, days, *_rest = rows[1]
    assert (name, community, status, days) == ("陈光荣", "光大街社区", "已暂停发放", (TODAY - date(2025, 1, 15)).days)
    assert rows[1][9] == "是"  # the overdue immobile retiree got a home-visit task
    assert _audits("certification.risk_list.export") == 1


def test_agency_admin_sees_the_whole_city(client, tree):
    agency = make_staff("agency_admin", tree["city"])
    retiree_in(tree["community_a"], name="甲", certified_on=date(2024, 1, 15))
    retiree_in(tree["community_b"], name="乙", certified_on=date(2024, 1, 15))
    daily.daily_tick()
    _as(client, agency)
    text = client.get("/staff/certification/risk").get_data(as_text=True)
    assert "甲" in text and "乙" in text


def test_work_fee_counts(client, tree):
    a1 = retiree_in(tree["community_a"], certified_on=date(2025, 1, 5))
    certify.record_certification(a1, date(2025, 2, 5), "data_match")  # twice in the period: once
    retiree_in(tree["community_a"], certified_on=date(2025, 2, 1), method="self_service_face")
    retiree_in(tree["community_a2"], certified_on=date(2025, 2, 1))
    retiree_in(tree["community_b"], certified_on=date(2025, 2, 1))
    retiree_in(tree["community_a"], certified_on=date(2024, 12, 31))  # before the period
    db.session.commit()
    rows = reports.work_fee_counts(tree["street_a"], date(2025, 1, 1), date(2025, 3, 10))
    assert [(r.community_code, r.certified, r.fee) for r in rows] == [
        ("510302001001", 2, Decimal("4")), ("510302001002", 1, Decimal("2"))]
    assert rows[0].by_method == {"on_site": 1, "data_match": 1, "self_service_face": 1}
    priced = reports.work_fee_counts(tree["city"], date(2025, 1, 1), date(2025, 3, 10),
                                                   unit_cost=Decimal("2.5"))
    assert sum(r.fee for r in priced) == Decimal("10.0")
    worker = make_staff("community_worker", tree["community_a"])
    _as(client, worker)
    page = client.get("/staff/certification/work-fees?from=2025-01-01&to=2025-03-10").get_data(as_text=True)
    assert 'data-testid="total">2<' in page and 'data-testid="fee">4<' in page


def test_new_service_point_listed_for_its_staff(client, tree):
    make_service_point(tree["community_a2"], code="SP-WJ")
    worker = make_staff("community_worker", tree["community_a2"])
    _as(client, worker)
    text = client.get("/staff/certification").get_data(as_text=True)
    assert "SP-WJ" in text
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_cycle_settings_page_is_admin_only_scoped_and_audited(client, tree):
    street = make_staff("street_admin", tree["street_a"])
    _as(client, street)
    assert "每 12 个月认证一次" in client.get("/staff/certification").get_data(as_text=True)
    response = client.post("/staff/certification/settings", data={
        "region_code": tree["community_a"].code, "cycle_months": "6", "due_window_days": "30", "grace_days": "15"})
    assert response.status_code == 302
    assert cycle.settings_for(tree["community_a"]) == cycle.CycleSettings(6, 30, 15)
    assert cycle.settings_for(tree["community_a2"]) == cycle.CycleSettings(12, 60, 0)
    assert _audits("certification.settings_changed") == 1
    other = client.post("/staff/certification/settings", data={
        "region_code": tree["community_b"].code, "cycle_months": "6", "due_window_days": "30", "grace_days": "0"})
    assert other.status_code == 403
    assert cycle.settings_for(tree["community_b"]) == cycle.CycleSettings(12, 60, 0)
    client.post("/staff/logout")
    worker = make_staff("community_worker", tree["community_a"])
    _as(client, worker)
    assert client.post("/staff/certification/settings", data={
        "region_code": tree["community_a"].code, "cycle_months": "24", "due_window_days": "30",
        "grace_days": "0"}).status_code == 403
