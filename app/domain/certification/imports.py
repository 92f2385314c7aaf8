"""Certification results that arrive as files: self-service face recognition (12333 app) and
silent data matching (数据比对), also desk lists typed up in Excel.

Columns `id_number,certified_on,method` (or 身份证号, 认证日期, 认证方式). Every good row becomes a
certification record through `certify.record_certification` (so the clock, pension
resumption and bookings follow); bad rows are reported with row number (header = row 1),
column and reason; a row already recorded (same retiree, date and method) is skipped, so
re-importing a file changes nothing.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import selectinload

from app.domain import audit, clock, pii
from app.domain.archives import idcard
from app.domain.certification import certify
from app.domain.errors import DomainError
from app.domain.files.spreadsheets import Columns, RowError, parse_date, text
from app.domain.org import regions
from app.extensions import db
from app.models import Retiree, Staff
from app.models.certification import METHOD_LABELS, METHODS, CertificationRecord

BATCH_SIZE = 500
CERT_COLUMNS: dict[str, tuple[str, ...]] = {
    "id_number": ("身份证号", "身份证号码", "公民身份号码"),
    "certified_on": ("认证日期", "认证时间"),
    "method": ("认证方式",),
}
METHOD_ALIASES = {
    "on_site": ("现场认证", "现场", "社区认证"),
    "home_visit": ("上门认证", "上门"),
    "self_service_face": ("人脸识别", "人脸识别认证", "刷脸认证", "自助认证", "12333"),
    "data_match": ("数据比对", "数据比对认证", "大数据比对", "静默认证"),
}
_METHOD_LOOKUP = {alias.lower(): code for code, names in METHOD_ALIASES.items() for alias in (code, *names)}


@dataclass
class CertificationImportResult:
    imported: int = 0
    skipped: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)

    def summary(self) -> str:
        return f"imported {self.imported}, skipped {self.skipped}, rejected {self.rejected}"

    def reject(self, row: int, column: str, reason: str) -> None:
        self.rejected += 1
        self.errors.append(RowError(row, column, reason))


@dataclass(frozen=True)
class _Row:
    row: int
    number: str
    certified_on: Any
    method: str


def parse_method(value: Any) -> str:
    """'人脸识别' / 'self_service_face' / … → a method code; ValueError naming the choices."""
    code = _METHOD_LOOKUP.get(text(value).lower())
    if code is None:
        raise ValueError("认证方式应为：" + "、".join(METHOD_LABELS[m] for m in METHODS))
    return code


def import_certifications(rows: Iterable[Mapping[str, Any]], *, staff: Staff | None = None,
                          source_name: str = "file") -> CertificationImportResult:
    """Import certification results from dict rows (`tabular.iter_rows` of a CSV/XLSX file).

    `staff` limits the import to retirees in their region subtree (others are rejected); the
    CLI passes None. COMMITS after every batch of BATCH_SIZE rows, so a crash loses at most a
    batch and re-importing completes it. Raises MissingColumns for a header without the columns.
    """
    result = CertificationImportResult()
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return result
    columns = Columns(first.keys(), CERT_COLUMNS, tuple(CERT_COLUMNS))
    seen: set[tuple[str, Any, str]] = set()
    batch: list[_Row] = []
    today = clock.today()
    for row_no, row in enumerate(itertools.chain([first], iterator), start=2):
        parsed = _parse(row_no, row, columns, result, today)
        if parsed is None:
            continue
        key = (parsed.number, parsed.certified_on, parsed.method)
        if key in seen:
            result.skipped += 1
            continue
        seen.add(key)
        batch.append(parsed)
        if len(batch) >= BATCH_SIZE:
            _write(batch, columns, staff, source_name, result)
            batch.clear()
    _write(batch, columns, staff, source_name, result)
    if staff is not None:
        audit.record(staff, "certification.import", detail={"file": source_name[:100], "imported": result.imported,
                                                            "skipped": result.skipped, "rejected": result.rejected})
    db.session.commit()
    return result


def _parse(row_no: int, row: Mapping[str, Any], columns: Columns, result: CertificationImportResult,
           today) -> _Row | None:
    values = {canon: row.get(columns.raw[canon]) for canon in CERT_COLUMNS}
    if not any(text(v) for v in values.values()):
        return None  # a blank line
    errors: list[tuple[str, str]] = []
    number = text(values["id_number"])
    if not number:
        errors.append(("id_number", "必填"))
    else:
        try:
            number = idcard.parse(number).number
        except idcard.InvalidIdNumber as exc:
            errors.append(("id_number", str(exc)))
    certified_on = None
    try:
        certified_on = parse_date(values["certified_on"])
        if certified_on is None:
            errors.append(("certified_on", "必填"))
        elif certified_on > today:
            errors.append(("certified_on", "认证日期不能晚于今天"))
    except ValueError as exc:
        errors.append(("certified_on", str(exc)))
    method = ""
    try:
        method = parse_method(values["method"])
    except ValueError as exc:
        errors.append(("method", str(exc)))
    for canon, reason in errors:
        result.reject(row_no, columns.label(canon), reason)
    return None if errors else _Row(row_no, number, certified_on, method)


def _write(batch: list[_Row], columns: Columns, staff: Staff | None, source_name: str,
           result: CertificationImportResult) -> None:
    if not batch:
        return
    hashes = {r.number: pii.lookup_hash(r.number) for r in batch}
    retirees = {r.id_hash: r for r in db.session.scalars(
        select(Retiree).where(Retiree.id_hash.in_(set(hashes.values()))).options(selectinload(Retiree.community)))}
    known = {r.id for r in retirees.values()}
    existing = set(db.session.execute(
        select(CertificationRecord.retiree_id, CertificationRecord.certified_on, CertificationRecord.method)
        .where(CertificationRecord.retiree_id.in_(known),
               tuple_(CertificationRecord.certified_on, CertificationRecord.method).in_(
                   {(r.certified_on, r.method) for r in batch}))).all()) if known else set()
    id_column = columns.label("id_number")
    for item in sorted(batch, key=lambda r: r.certified_on):
        retiree = retirees.get(hashes[item.number])
        if retiree is None:
            result.reject(item.row, id_column, "未找到该身份证号对应的退休人员")
            continue
        if staff is not None and not regions.contains(staff.region, retiree.community):
            result.reject(item.row, id_column, "该退休人员不在您的管辖范围内")
            continue
        if (retiree.id, item.certified_on, item.method) in existing:
            result.skipped += 1
            continue
        try:
            certify.record_certification(retiree, item.certified_on, item.method, staff=staff,
                                               source=f"import:{source_name}"[:120])
        except DomainError as exc:
            column = columns.label("certified_on") if exc.code == "retiree_deceased" else id_column
            result.reject(item.row, column, exc.message)
            continue
        result.imported += 1
    result.errors.sort(key=lambda e: (e.row, e.column))
    db.session.commit()
