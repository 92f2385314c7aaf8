"""Error codes of the inbox and subscribe-message consent (see app/domain/errors.py)."""
from __future__ import annotations

from app.domain.errors import NotFound, ValidationFailed


class NotificationNotFound(NotFound):
    code, message = "notification_not_found", "消息不存在"


class InvalidSubscriptionResult(ValidationFailed):
    code, message = "invalid_subscription_result", "订阅结果格式有误"
