"""Audit log of sensitive actions. Written in the caller's transaction: no audit, no action."""
from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import Account, AuditEntry, Staff


def record(actor: Staff | Account | None, action: str, *, subject_type: str | None = None,
           subject_id: int | None = None, region_id: int | None = None,
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add an audit entry (e.g. `death.verify`, `retiree.view_full_id`, `risk_list.export`)."""
    if isinstance(actor, Staff):
        actor_type, actor_id = "staff", actor.id
        region_id = region_id if region_id is not None else actor.region_id
    elif isinstance(actor, Account):
        actor_type, actor_id = "account", actor.id
    else:
        actor_type, actor_id = "system", None
    entry = AuditEntry(actor_type=actor_type, actor_id=actor_id, action=action,
                       subject_type=subject_type, subject_id=subject_id, region_id=region_id,
                       detail=detail or None)
    db.session.add(entry)
    db.session.flush()
    return entry
