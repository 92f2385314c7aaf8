"""Staff authentication (Flask-Login) and role checks for staff pages."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from app.extensions import db, login_manager
from app.models import Staff

ALL_STAFF = ("helper", "community_worker", "street_admin", "agency_admin")
OFFICE_STAFF = ("community_worker", "street_admin", "agency_admin")
ADMINS = ("street_admin", "agency_admin")

login_manager.login_view = "admin.login"
login_manager.login_message = "请先登录"
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_staff(session_id: str) -> Staff | None:
    try:
        staff_id, version = (int(part) for part in session_id.split(":", 1))
    except ValueError:
        return None
    staff = db.session.get(Staff, staff_id)
    if staff is None or staff.session_version != version or not staff.active:
        return None
    return staff


def staff_required(*roles: str):
    """Require a logged-in staff member, with one of `roles` when given (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_staff() -> Staff:
    return current_user._get_current_object()
