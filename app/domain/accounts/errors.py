"""Error codes of accounts and bindings (see app/domain/errors.py for the rules)."""
from __future__ import annotations

from app.domain.errors import (
    Conflict,
    NotAuthenticated,
    NotAuthorized,
    NotFound,
    RateLimited,
    Unavailable,
    Unprocessable,
    ValidationFailed,
)


class NotBound(NotAuthorized):
    code, message = "not_bound", "您未绑定该退休人员"


class ArchiveNotMatched(NotFound):
    code, message = "archive_not_matched", "未找到与姓名和身份证号都一致的退休人员档案，请核对后重试"


class DuplicateBinding(Conflict):
    code, message = "duplicate_binding", "您已绑定或已申请绑定该退休人员"


class SelfAlreadyBound(Conflict):
    code, message = "self_already_bound", "本微信已作为本人绑定了另一份档案"


class AlreadyBound(Conflict):
    code, message = "already_bound", "该档案已被本人绑定；如非本人操作请联系社区"


class BindingNotPending(Conflict):
    code, message = "binding_not_pending", "该绑定申请已处理"


class NotBindingApprover(NotAuthorized):
    code, message = "not_binding_approver", "只有退休人员本人可以审核此绑定申请"


class NotRetireeSelf(NotAuthorized):
    code, message = "not_retiree_self", "只有退休人员本人可以查看和管理家属的绑定"


class NotBindingOwner(NotAuthorized):
    code, message = "not_binding_owner", "无权解除该绑定"


class BindingNotLive(Conflict):
    code, message = "binding_not_live", "该绑定已解除或已被拒绝"


class BindingNotFound(NotFound):
    code, message = "binding_not_found", "未找到该绑定申请"


class TooManyAttempts(RateLimited):
    code, message = "too_many_attempts", "绑定失败次数过多，请 {minutes} 分钟后再试"


class LoginCodeInvalid(NotAuthenticated):
    code, message = "wechat_code_invalid", "微信登录凭证无效或已使用，请重新登录"


class WeChatDown(Unavailable):
    code, message = "wechat_unavailable", "微信服务暂时不可用，请稍后重试"


class PhoneCodeInvalid(ValidationFailed):
    code, message = "phone_code_invalid", "获取手机号的凭证无效或已使用，请重新授权"


class PhoneNotMainland(Unprocessable):
    code, message = "phone_not_mainland", "仅支持中国大陆手机号，请联系社区登记其他号码"
