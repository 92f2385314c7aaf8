"""Files people hand over: spreadsheets (CSV or XLSX) read as a stream of rows, and uploads (visit
photos, meeting materials) checked by content and stored outside the web root.

Modules: `spreadsheets`, `uploads`.
"""
from app.domain.files.spreadsheets import (
    Columns,
    ImportResult,
    MissingColumns,
    RowError,
    estimate_rows,
    iter_rows,
    parse_date,
    parse_flag,
    text,
)
from app.domain.files.uploads import path_of, store_upload

__all__ = [
    "iter_rows", "estimate_rows", "RowError", "ImportResult", "MissingColumns", "Columns", "text", "parse_date",
    "parse_flag", "store_upload", "path_of",
]
