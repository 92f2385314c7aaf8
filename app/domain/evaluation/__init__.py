"""How the service is judged: ratings of completed services and feedback tickets with reply deadlines,
and the summaries per region built on them.

Modules: `feedback`.
"""
from app.domain.evaluation.feedback import (
    get_for_staff,
    rate,
    reply,
    satisfaction_by_region,
    submit,
    ticket_summary,
    tickets_for_account,
    tickets_for_staff,
)

__all__ = [
    "rate", "submit", "tickets_for_account", "tickets_for_staff", "get_for_staff", "reply",
    "satisfaction_by_region", "ticket_summary",
]
