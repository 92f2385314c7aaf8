"""Staff pages (/staff): Jinja templates, little JS. Thin: parse, authorize, call domain, render.

Every module in this package attaches its routes to `bp` when imported; all are imported here.
"""
from __future__ import annotations

import importlib
import pkgutil

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/staff", template_folder="templates")

_SKIP = {"errors", "nav", "security"}


@bp.app_context_processor
def _staff_nav():
    from flask_login import current_user

    from app.admin.nav import entries_for

    def staff_nav():
        return entries_for(current_user.role) if current_user.is_authenticated else []

    return {"staff_nav": staff_nav}

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
    if _info.name not in _SKIP:
        importlib.import_module(f"{__name__}.{_info.name}")
