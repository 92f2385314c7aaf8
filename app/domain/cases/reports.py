"""Reports from the mini-program: hospitalization, death, hardship, home certification.

A report only starts work; nothing irreversible happens on it. A death report marks the
retiree `death_reported` (reversible) and waits for staff (`deaths.verify` / `deaths.reject`);
pension and bookings are untouched until then.

Idempotency: a report filed with an `Idempotency-Key` is stored with the key and a fingerprint
of its body. The same key with the same body returns the original report; with a different
body it is refused (409 `idempotency_key_reused`). The key is unique per account in the
database, so two concurrent first requests still create one report.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.domain import audit, clock
from app.domain.accounts import bindings
from app.domain.cases import hardship, visits
from app.domain.cases.errors import AlreadyDeceased, IdempotencyKeyReused, ReportNotFound
from app.domain.certification import certify
from app.domain.errors import RetireeDeceased, ValidationFailed
from app.domain.messaging import outbox
from app.extensions import db
from app.models import Account, Retiree
from app.models.cases import REPORT_STATUS_LABELS, REPORT_TYPE_LABELS, REPORT_TYPES, Report
from app.models.tasks import VisitTask

MAX_KEY_LENGTH = 100
_FIELDS_BY_TYPE = {
    "hospitalization": ("hospital", "ward", "admitted_on", "note"),
    "death": ("died_on", "note"),
    "hardship": ("description", "note"),
    "home_certification": ("note",),
}
_REQUIRED_BY_TYPE = {
    "hospitalization": ("hospital", "admitted_on"),
    "death": ("died_on",),
    "hardship": ("description",),
    "home_certification": (),
}


def fingerprint(data: dict[str, Any]) -> str:
    """A stable hash of a report body (keys sorted, dates as ISO strings, blanks dropped)."""
    normalized = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()
                  if v is not None and v != ""}
    return hashlib.sha256(json.dumps(normalized, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def validate(data: dict[str, Any]) -> dict[str, Any]:
    """Check the fields a report type needs and refuse the ones it does not take (400)."""
    kind = data.get("type")
    if kind not in REPORT_TYPES:
        raise ValidationFailed(fields={"type": "取值应为：" + ", ".join(REPORT_TYPES)})
    fields: dict[str, str] = {}
    allowed = set(_FIELDS_BY_TYPE[kind]) | {"type", "retiree_id"}
    for name, value in data.items():
        if name not in allowed and value not in (None, ""):
            fields[name] = f"{REPORT_TYPE_LABELS[kind]}报告不需要此项"
    for name in _REQUIRED_BY_TYPE[kind]:
        if data.get(name) in (None, ""):
            fields[name] = "必填"
    today = clock.today()
    for name in ("admitted_on", "died_on"):
        value = data.get(name)
        if isinstance(value, date) and value > today:
            fields[name] = "日期不能晚于今天"
    if fields:
        raise ValidationFailed(fields=fields)
    return {k: v for k, v in data.items() if k in allowed}


def _by_key(account: Account, key: str) -> Report | None:
    return db.session.scalar(select(Report).where(Report.account_id == account.id, Report.idempotency_key == key))


def _replay(existing: Report, digest: str) -> tuple[Report, bool]:
    if existing.request_hash != digest:
        raise IdempotencyKeyReused(fields={"Idempotency-Key": "已用于不同的请求内容"})
    return existing, False


def file_report(account: Account, data: dict[str, Any], idempotency_key: str | None = None) -> tuple[Report, bool]:
    """File a report for a retiree the account is actively bound to. Returns (report, created).

    403 `not_bound` when not bound; 409 `idempotency_key_reused`; 409 `already_deceased` for a
    death report on a verified death; 422 `retiree_deceased` for other reports on the deceased.
    Caller commits.
    """
    if idempotency_key is not None and not (0 < len(idempotency_key) <= MAX_KEY_LENGTH
                                            and idempotency_key.isprintable()):
        raise ValidationFailed(fields={"Idempotency-Key": f"应为 1–{MAX_KEY_LENGTH} 个可见字符"})
    data = validate(data)
    digest = fingerprint(data)
    if idempotency_key:
        existing = _by_key(account, idempotency_key)
        if existing is not None:
            return _replay(existing, digest)
    retiree = bindings.bound_retiree(account, data.get("retiree_id"))
    try:
        with db.session.begin_nested():
            report = _create(account, retiree, data, idempotency_key, digest)
    except IntegrityError:
        # A concurrent request with the same key won the unique constraint: answer as a replay.
        existing = _by_key(account, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _replay(existing, digest)
    outbox.notify(account, "report_received",
                     {"kind": REPORT_TYPE_LABELS[report.type], "name": retiree.name, "received_at": clock.now(),
                      "status": REPORT_STATUS_LABELS["received"], "note": "我们会尽快与您联系"},
                     f"report_received:{report.id}", link=f"/reports/{report.id}")
    return report, True


def request_home_certification(account: Account, retiree_id: int, note: str | None,
                               idempotency_key: str | None = None) -> tuple[Report, bool]:
    """A home-visit certification asked for by the retiree or a bound relative: filed as a
    `home_certification` report, so it has the report's idempotency, notification and visit task.
    Returns (report, created); errors as `file_report` and 422 `not_due` when recently certified.
    """
    data = {"type": "home_certification", "retiree_id": retiree_id, "note": note}
    return file_report(account, data, idempotency_key)


def _create(account: Account, retiree: Retiree, data: dict[str, Any], key: str | None, digest: str) -> Report:
    kind = data["type"]
    if retiree.life_status == "deceased":
        if kind == "death":
            raise AlreadyDeceased()
        raise RetireeDeceased()
    if kind == "death" and data["died_on"] < retiree.birth_date:
        raise ValidationFailed(fields={"died_on": "去世日期早于出生日期"})
    report = Report(type=kind, status="received", retiree_id=retiree.id, account_id=account.id,
                    hospital=_clip(data.get("hospital"), 100), ward=_clip(data.get("ward"), 50),
                    admitted_on=data.get("admitted_on"), died_on=data.get("died_on"),
                    description=_clip(data.get("description"), 4000), note=_clip(data.get("note"), 2000),
                    idempotency_key=key, request_hash=digest, created_at=clock.now())
    db.session.add(report)
    db.session.flush()
    if kind == "hospitalization":
        report.visit_task_id = _hospital_task(retiree, report).id
    elif kind == "death":
        if retiree.life_status == "alive":
            retiree.life_status = "death_reported"
        audit.record(account, "death.reported", subject_type="retiree", subject_id=retiree.id,
                     region_id=retiree.community_id, detail={"report_id": report.id,
                                                             "died_on": report.died_on.isoformat()})
    elif kind == "hardship":
        report.hardship_case_id = hardship.open_case_from_report(retiree, report).id
    else:
        report.visit_task_id = certify.request_home_certification(account, retiree, report.note).id
    db.session.flush()
    return report


def _hospital_task(retiree: Retiree, report: Report) -> VisitTask:
    """One open hospital visit per retiree: a second report of the same stay joins the first task."""
    task = db.session.scalar(select(VisitTask).where(
        VisitTask.retiree_id == retiree.id, VisitTask.kind == "hospital_visit", VisitTask.status == "open"))
    if task is not None:
        return task
    days = current_app.config["HOSPITAL_VISIT_DUE_DAYS"]
    where = " ".join(p for p in (report.hospital, report.ward) if p)
    note = f"{where}，{report.admitted_on:%Y-%m-%d} 入院" + (f"。{report.note}" if report.note else "")
    return visits.create_task("hospital_visit", retiree, clock.today() + timedelta(days=days),
                              source_type="report", source_id=report.id, note=note)


def list_reports(account: Account, *, page: int = 1, per_page: int = 20) -> tuple[list[Report], int]:
    """The account's own reports, newest first, with the total count."""
    base = select(Report).where(Report.account_id == account.id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = db.session.scalars(base.order_by(Report.created_at.desc(), Report.id.desc())
                               .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return list(items), int(total)


def get_report(account: Account, report_id: int) -> Report:
    """One of the account's own reports; 404 for anyone else's (ids are not probed)."""
    report = db.session.get(Report, report_id)
    if report is None or report.account_id != account.id:
        raise ReportNotFound()
    return report


def _clip(value: str | None, limit: int) -> str | None:
    value = (value or "").strip() if isinstance(value, str) else value
    return value[:limit] if value else None
