"""Messages to retirees and families: the transactional outbox (`notify`), the consent ledger of
subscribe-message credits, the template registry, the batch sender with its errcode policy, and the
sweeper that keeps every row moving. See DESIGN.md, "Messaging reliability".

Modules: `consent`, `outbox`, `send_starts`, `senders`, `sending`, `sweeper`, `templates`.
"""
from app.domain.messaging.consent import ledger, record_api_result, record_push_event, reserve, reserve_many
from app.domain.messaging.outbox import enqueue_send, inbox, mark_read, notify, status_counts
from app.domain.messaging.send_starts import mark_started, open_claim, started_ids
from app.domain.messaging.sending import backoff_seconds, send_batch
from app.domain.messaging.sweeper import sweep
from app.domain.messaging.templates import (
    InvalidTemplateData,
    Template,
    UnknownTemplate,
    all_templates,
    by_template_id,
    check_value,
    get,
    inbox_lines,
    normalize_data,
    render,
    wechat_page,
)

__all__ = [
    "record_api_result", "record_push_event", "ledger", "reserve_many", "reserve", "notify", "enqueue_send",
    "status_counts", "inbox", "mark_read", "open_claim", "mark_started", "started_ids", "backoff_seconds",
    "send_batch", "sweep", "Template", "UnknownTemplate", "InvalidTemplateData", "get", "all_templates",
    "by_template_id", "normalize_data", "check_value", "render", "wechat_page", "inbox_lines",
]
