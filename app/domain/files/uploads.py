"""Uploaded files (visit photos, meeting materials): validated, stored outside the web root.

Files live under UPLOAD_DIR with random names; the original name and type are kept in the
`stored_file` row. They are served only through views that check access.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from app.domain.errors import ValidationFailed
from app.extensions import db
from app.models.files import StoredFile

# Magic numbers: the declared type must match the bytes, not only the file name.
_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}
IMAGE_TYPES = ("image/jpeg", "image/png")
DOCUMENT_TYPES = ("application/pdf",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}


def store_upload(file: FileStorage | None, *, kind: str, allowed_types: tuple[str, ...],
                 max_bytes: int, field: str = "file") -> StoredFile:
    """Validate type (by content) and size, write under UPLOAD_DIR, add a StoredFile row."""
    if file is None or not file.filename:
        raise ValidationFailed(fields={field: "请选择文件"})
    data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationFailed(fields={field: f"文件不能超过 {max_bytes // (1024 * 1024)} MB"})
    if not data:
        raise ValidationFailed(fields={field: "文件为空"})
    content_type = next((t for t in allowed_types if any(data.startswith(sig) for sig in _SIGNATURES.get(t, ()))),
                        None)
    if content_type is None:
        raise ValidationFailed(fields={field: "文件类型不支持"})
    directory = Path(current_app.config["UPLOAD_DIR"]) / kind
    directory.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16) + _EXTENSIONS.get(content_type, "")
    (directory / name).write_bytes(data)
    stored = StoredFile(kind=kind, storage_name=f"{kind}/{name}", original_name=file.filename[:200],
                        content_type=content_type, size=len(data))
    db.session.add(stored)
    db.session.flush()
    return stored


def path_of(stored: StoredFile) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / stored.storage_name
