"""Error codes of events: activities, notices, policy meetings (see app/domain/errors.py)."""
from __future__ import annotations

from app.domain.errors import Conflict, NotAuthorized, NotFound, Unprocessable


class ActivityNotFound(NotFound):
    code, message = "activity_not_found", "未找到该活动"


class RegistrationNotFound(NotFound):
    code, message = "registration_not_found", "未找到该报名记录"


class NoticeNotFound(NotFound):
    code, message = "notice_not_found", "未找到该公告"


class MeetingNotFound(NotFound):
    code, message = "meeting_not_found", "未找到该例会"


class MaterialNotFound(NotFound):
    code, message = "material_not_found", "未找到该材料"


class ActivityNotOpen(NotAuthorized):
    code, message = "activity_not_open", "该活动不面向您所在的社区"


class MeetingForbidden(NotAuthorized):
    code, message = "meeting_forbidden", "您未受邀参加该例会"


class AlreadyRegistered(Conflict):
    code, message = "already_registered", "已报名该活动"


class NoticeWithdrawn(Conflict):
    code, message = "notice_withdrawn", "该公告已撤回"


class InvitationConflict(Conflict):
    code, message = "invitation_conflict", "邀请名单已被他人同时修改，请刷新后重试"


class ActivityPast(Unprocessable):
    code, message = "activity_past", "活动已开始或已结束"


class SignupNotOpen(Unprocessable):
    code, message = "signup_not_open", "报名尚未开始"


class SignupClosed(Unprocessable):
    code, message = "signup_closed", "报名已截止"


class NotCancellable(Unprocessable):
    code, message = "not_cancellable", "该报名已取消或已登记出席"


class ActivityNotStarted(Unprocessable):
    code, message = "activity_not_started", "活动尚未开始，不能登记出席"


class MeetingNotStarted(Unprocessable):
    code, message = "meeting_not_started", "例会尚未召开，不能登记出席"
