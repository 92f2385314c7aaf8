"""Liveness and readiness: `GET /healthz` checks the database and Redis."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from app.extensions import db, redis_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 — report, don't crash the probe
        db.session.rollback()
        checks["database"] = "down"
    try:
        redis_store.client.ping()
        checks["redis"] = "ok"
    except Exception:  # noqa: BLE001
        checks["redis"] = "down"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", checks=checks), 200 if healthy else 503
