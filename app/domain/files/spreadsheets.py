"""Reading spreadsheets people hand over (CSV or XLSX) as a stream of dict rows, and the
cell parsing and result types every import shares.

Used by the archive and region imports (CLI today, a staff upload page later). Rows are yielded
one at a time, blank rows included (as all-empty dicts), so a caller's row counter stays equal to
the spreadsheet's row number (header = row 1) and memory stays flat whatever the file size.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from app.domain.errors import ValidationFailed

_SNIFF_CHUNK = 1 << 20
Progress = Callable[[int], Any]  # called with the number of rows consumed since the last call
SUPPORTED_SUFFIXES = (".csv", ".xlsx")


class UnreadableFile(ValidationFailed):
    """The file is not a CSV/XLSX we can read; the subclasses say why (one code each)."""

    code = "unreadable_file"
    message = "无法读取文件"


class UnsupportedFileType(UnreadableFile):
    code, message = "unsupported_file_type", "只支持 .csv 和 .xlsx 文件，收到“{name}”"


class UnknownEncoding(UnreadableFile):
    code, message = "unknown_encoding", "无法识别文件编码（应为 UTF-8 或 GBK/GB18030）"


class EmptyFile(UnreadableFile):
    code, message = "empty_file", "文件为空或缺少表头"


class BrokenWorkbook(UnreadableFile):
    code, message = "broken_workbook", "无法打开该 Excel 文件（应为 .xlsx）"


def _suffix(source: str | Path | IO[bytes], filename: str | None) -> str:
    name = filename or (str(source) if isinstance(source, str | Path) else getattr(source, "name", ""))
    suffix = Path(str(name)).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFileType(name=suffix or name, fields={"file": "文件类型不支持"})
    return suffix


def detect_encoding(stream: IO[bytes]) -> str:
    """utf-8-sig when a BOM is present (Excel's "CSV UTF-8"), utf-8 when the whole file decodes
    as such, else GB18030 (a superset of GBK: what Excel writes for "CSV" on a Chinese Windows).

    The whole file is checked in chunks before any row is imported, so a bad byte on row 90,000
    cannot switch encodings after half the rows are in. The stream is rewound. Raises
    UnreadableFile when neither decodes.
    """
    start = stream.tell()
    head = stream.read(3)
    if head == codecs.BOM_UTF8:
        stream.seek(start)
        return "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        stream.seek(start)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := stream.read(_SNIFF_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        stream.seek(start)
        return encoding
    raise UnknownEncoding(fields={"file": "编码无法识别"})


def iter_rows(source: str | Path | IO[bytes], *, filename: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield each data row as {header: value}. `source` is a path or a seekable binary stream
    (then `filename` gives the type). CSV values are strings; XLSX values keep their cell types
    (dates arrive as datetime, numbers as int/float) so callers can tell an Excel date cell.
    """
    suffix = _suffix(source, filename)
    if isinstance(source, str | Path):
        with open(source, "rb") as stream:
            yield from (_iter_csv(stream) if suffix == ".csv" else _iter_xlsx(stream))
    else:
        yield from (_iter_csv(source) if suffix == ".csv" else _iter_xlsx(source))


def _iter_csv(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    encoding = detect_encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        first = text.readline()
        if not first.strip():
            raise EmptyFile(fields={"file": "缺少表头"})
        # Excel on some locales saves tab- or semicolon-separated "CSV"; the header tells us which.
        delimiter = max((",", "\t", ";"), key=first.count)
        header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]
        for values in csv.reader(text, delimiter=delimiter):
            yield {key: (values[i] if i < len(values) else "") for i, key in enumerate(header) if key}
    finally:
        text.detach()


def _iter_xlsx(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # read_only streams the sheet XML instead of building the whole workbook in memory.
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise BrokenWorkbook(fields={"file": "文件已损坏或格式不对"}) from exc
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header_row = next(rows, None)
        if not header_row or not any(h not in (None, "") for h in header_row):
            raise EmptyFile(fields={"file": "缺少表头"})
        header = [str(h).strip() if h is not None else "" for h in header_row]
        for values in rows:
            yield {key: (values[i] if i < len(values) else None) for i, key in enumerate(header) if key}
    finally:
        workbook.close()


def estimate_rows(source: str | Path, *, filename: str | None = None) -> int | None:
    """Roughly how many data rows the file has (for a progress bar); None when unknown."""
    suffix = _suffix(source, filename)
    if suffix == ".csv":
        lines = 0
        with open(source, "rb") as stream:
            while chunk := stream.read(_SNIFF_CHUNK):
                lines += chunk.count(b"\n")
        return max(lines - 1, 0)
    from openpyxl import load_workbook

    workbook = load_workbook(source, read_only=True)
    try:
        max_row = workbook.worksheets[0].max_row
    finally:
        workbook.close()
    return max_row - 1 if max_row else None


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


@dataclass
class ImportResult:
    imported: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rejected == 0

    def summary(self) -> str:
        return f"imported {self.imported}, updated {self.updated}, rejected {self.rejected}"


class MissingColumns(ValidationFailed):
    code, message = "missing_columns", "文件缺少必需的列：{columns}"


class Columns:
    """Maps a file's header to canonical column names; remembers how the file spelled them."""

    def __init__(self, header: Iterable[str], spec: Mapping[str, tuple[str, ...]], required: Iterable[str]):
        aliases = {alias.lower(): canon for canon, names in spec.items() for alias in (canon, *names)}
        self.raw: dict[str, str] = {}
        for key in header:
            canon = aliases.get(str(key).strip().lower())
            if canon and canon not in self.raw:
                self.raw[canon] = key
        self.spec = spec
        missing = [spec[c][0] + f"（{c}）" for c in required if c not in self.raw]
        if missing:
            raise MissingColumns(columns="、".join(missing), fields={"header": "、".join(missing)})

    def __contains__(self, canon: str) -> bool:
        return canon in self.raw

    def label(self, canon: str) -> str:
        return self.raw.get(canon) or self.spec[canon][0]


def text(value: Any) -> str:
    """A cell as trimmed text; integral floats from Excel lose their '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def parse_date(value: Any) -> date | None:
    """YYYY-MM-DD, YYYY/M/D, YYYYMMDD, Excel date cells and Excel serial numbers; '' → None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and not 10_000_000 <= value < 100_000_000:
        from openpyxl.utils.datetime import from_excel

        try:
            return from_excel(value).date()
        except (ValueError, OverflowError, AttributeError) as exc:
            raise ValueError("日期无效") from exc
    raw = text(value).split(" ")[0].split("T")[0]
    match = _DATE_RE.match(raw)
    if match:
        parts = match.groups()
    elif len(raw) == 8 and raw.isdigit():
        parts = (raw[:4], raw[4:6], raw[6:])
    else:
        raise ValueError("日期格式应为 YYYY-MM-DD、YYYY/MM/DD 或 YYYYMMDD")
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError as exc:
        raise ValueError("日期不存在") from exc


_TRUE = frozenset({"是", "1", "true", "y", "yes", "t"})
_FALSE = frozenset({"否", "0", "false", "n", "no", "f", ""})


def parse_flag(value: Any) -> bool:
    """是/否, 1/0, true/false, Y/N, empty (= no)."""
    if isinstance(value, bool):
        return value
    raw = text(value).lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError("应填 是/否（或 1/0、Y/N、true/false）")
