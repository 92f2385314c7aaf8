"""Error codes of regions and staff accounts (see app/domain/errors.py)."""
from __future__ import annotations

from app.domain.errors import Conflict


class UsernameTaken(Conflict):
    code, message = "username_taken", "用户名已存在"
