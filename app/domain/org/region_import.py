"""Region tree import (区划导入): the statistical-division rows of a handover, parents first.

Kept apart from `imports` (retiree archives) only for size; `imports.import_regions` is the name
callers use.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select, update

from app.domain import audit, clock
from app.domain.files.spreadsheets import Columns, ImportResult, Progress, RowError, text
from app.domain.org.regions import path_for
from app.extensions import db
from app.models import Staff
from app.models.org import Region

REGION_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("区划代码", "代码", "统计用区划代码"),
    "name": ("名称", "区划名称"),
    "parent_code": ("上级代码", "上级区划代码"),
    "level": ("级别", "层级"),
}
REGION_REQUIRED = ("code", "name", "level")
LEVEL_ORDER = ("province", "city", "district", "street", "community")
LEVEL_LABELS = {"province": "省", "city": "市", "district": "区县", "street": "街道", "community": "社区"}
LEVEL_ALIASES = {
    **{level: level for level in LEVEL_ORDER},
    "省": "province", "市": "city", "区": "district", "县": "district", "区县": "district",
    "街道": "street", "乡镇": "street", "镇": "street", "乡": "street",
    "社区": "community", "村": "community", "居委会": "community", "村委会": "community",
}
# How many leading digits of the 12-digit statistical code identify a region at each level
# (2 province, 4 city, 6 county, 9 township, 12 village/community); the rest are zeros.
CODE_DIGITS = {"province": 2, "city": 4, "district": 6, "street": 9, "community": 12}
_CODE_RE = re.compile(r"^\d{12}$")


class _Known(NamedTuple):
    """A region already in the database or written by this import (has what `path_for` reads)."""

    id: int
    path: str
    level: str
    parent_id: int | None


def _region_code_problem(code: str, level: str) -> str | None:
    """Why `code` cannot be a region code at `level`, or None."""
    if not _CODE_RE.match(code):
        return "区划代码应为 12 位数字"
    digits = CODE_DIGITS[level]
    if code[digits:].strip("0"):
        return f"{LEVEL_LABELS[level]}级区划代码应以 {12 - digits} 个 0 结尾"
    previous = CODE_DIGITS[LEVEL_ORDER[LEVEL_ORDER.index(level) - 1]] if level != "province" else 0
    if not code[previous:digits].strip("0"):
        return f"{LEVEL_LABELS[level]}级区划代码第 {previous + 1}–{digits} 位不应全为 0"
    return None


def import_regions(rows: Iterable[Mapping[str, Any]], *, progress: Progress | None = None,
                   actor: Staff | None = None) -> ImportResult:
    """Import region tree rows (code, name, parent_code, level; see REGION_COLUMNS).

    Parents may come after their children in the file: valid rows are held (a region file is
    small, a few thousand rows for a city) and written level by level, province first, so
    every parent exists before its children. A parent must be a higher level, and a child's code
    must start with its parent's significant digits. A code already in the database updates the
    name; changing its level or parent is refused (that would move a subtree). COMMITS.
    """
    result = ImportResult()
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return result
    columns = Columns(first.keys(), REGION_COLUMNS, REGION_REQUIRED)
    raw = columns.raw
    known = {code: _Known(rid, path, level, parent_id) for code, rid, path, level, parent_id in db.session.execute(
        select(Region.code, Region.id, Region.path, Region.level, Region.parent_id))}
    code_by_id = {k.id: code for code, k in known.items()}
    pending: dict[str, list[tuple[int, str, str, str]]] = {level: [] for level in LEVEL_ORDER}
    in_file: dict[str, int] = {}
    rejected: dict[str, int] = {}

    def fail(row_no: int, canon: str, reason: str, code: str | None = None) -> None:
        result.errors.append(RowError(row_no, columns.label(canon), reason))
        if code:
            rejected.setdefault(code, row_no)

    row_no = 1
    for row in itertools.chain([first], iterator):
        row_no += 1
        code, name = text(row.get(raw["code"])), text(row.get(raw["name"]))
        level = LEVEL_ALIASES.get(text(row.get(raw["level"])).lower())
        parent_code = text(row.get(raw["parent_code"])) if "parent_code" in columns else ""
        if not (code or name or parent_code or text(row.get(raw["level"]))):
            continue
        before = len(result.errors)
        if level is None:
            fail(row_no, "level", "级别应为 province/city/district/street/community（或 省/市/区/街道/社区）", code)
        elif problem := _region_code_problem(code, level):
            fail(row_no, "code", problem, code)
        if not name or len(name) > 100:
            fail(row_no, "name", "名称必填，最多 100 字", code)
        if parent_code and not _CODE_RE.match(parent_code):
            fail(row_no, "parent_code", "上级代码应为 12 位数字", code)
        if code in in_file:
            fail(row_no, "code", f"与第 {in_file[code]} 行区划代码重复")
        elif len(result.errors) == before:
            in_file[code] = row_no
            pending[level].append((row_no, code, name, parent_code))
        if progress and (row_no - 1) % 1000 == 0:
            progress(1000)

    data_rows = row_no - 1
    file_levels = {code: level for level, entries in pending.items() for _r, code, _n, _p in entries}
    table = Region.__table__
    for level in LEVEL_ORDER:
        new_rows, renamed = [], []
        for row_no, code, name, parent_code in pending[level]:
            parent = known.get(parent_code) if parent_code else None
            parent_level = parent.level if parent else file_levels.get(parent_code)
            if parent_level and LEVEL_ORDER.index(parent_level) >= LEVEL_ORDER.index(level):
                fail(row_no, "parent_code", f"上级区划 {parent_code} 是{LEVEL_LABELS[parent_level]}级，"
                     f"不能作为{LEVEL_LABELS[level]}级的上级", code)
                continue
            if parent_code and parent is None:
                reason = (f"上级区划 {parent_code} 本次未能导入（见第 {rejected[parent_code]} 行）"
                          if parent_code in rejected else f"上级区划 {parent_code} 不存在")
                fail(row_no, "parent_code", reason, code)
                continue
            if parent and not code.startswith(parent_code[:CODE_DIGITS[parent.level]]):
                fail(row_no, "code", f"区划代码应以上级代码的前 {CODE_DIGITS[parent.level]} 位开头", code)
                continue
            if code in known:
                old = known[code]
                old_parent = code_by_id.get(old.parent_id, "") if old.parent_id else ""
                if old.level != level or ("parent_code" in columns and old_parent != parent_code):
                    fail(row_no, "parent_code", "与已有区划的级别或上级不一致；导入不能移动区划", code)
                    continue
                renamed.append({"p_id": old.id, "p_name": name})
                continue
            new_rows.append({"code": code, "name": name, "level": level,
                             "parent_id": parent.id if parent else None,
                             "path": path_for(code, parent), "created_at": clock.now()})
        conn = db.session.connection()
        if new_rows:
            ids = dict(conn.execute(insert(table).returning(table.c.code, table.c.id), new_rows).all())
            for r in new_rows:
                known[r["code"]] = _Known(ids[r["code"]], r["path"], level, r["parent_id"])
        if renamed:
            conn.execute(update(table).where(table.c.id == bindparam("p_id")).values(name=bindparam("p_name")),
                         renamed)
        result.imported += len(new_rows)
        result.updated += len(renamed)
        db.session.commit()
    result.rejected = len({e.row for e in result.errors})
    result.errors.sort(key=lambda e: e.row)
    audit.record(actor, "regions.import", detail={"imported": result.imported, "updated": result.updated,
                                                   "rejected": result.rejected})
    db.session.commit()
    if progress and data_rows % 1000:
        progress(data_rows % 1000)
    return result
