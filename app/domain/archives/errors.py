"""Error codes of retiree archives (see app/domain/errors.py)."""
from __future__ import annotations

from app.domain.errors import NotAuthorized


class FullIdForbidden(NotAuthorized):
    code, message = "full_id_forbidden", "您的角色不能查看完整身份证号"
