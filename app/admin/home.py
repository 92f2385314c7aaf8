"""Staff home page (placeholder until the retiree list lands)."""
from __future__ import annotations

from flask import render_template

from app.admin import bp
from app.admin.nav import register_nav
from app.admin.security import ALL_STAFF, staff_required

register_nav("首页", "admin.home", ALL_STAFF, order=0)


@bp.get("/")
@staff_required()
def home():
    return render_template("home.html")
