"""Error codes of ratings and feedback (see app/domain/errors.py)."""
from __future__ import annotations

from app.domain.errors import Conflict, NotFound, Unprocessable


class SubjectNotFound(NotFound):
    code, message = "subject_not_found", "未找到要评价的服务"


class TicketNotFound(NotFound):
    code, message = "ticket_not_found", "未找到该反馈"


class AlreadyRated(Conflict):
    code, message = "already_rated", "您已评价过该服务"


class TicketNotOpen(Conflict):
    code, message = "ticket_not_open", "该反馈已回复或已关闭"


class TicketClosed(Conflict):
    code, message = "ticket_closed", "该反馈已关闭"


class SubjectNotCompleted(Unprocessable):
    code, message = "subject_not_completed", "服务尚未完成，暂不能评价"
