"""Error codes of cases: reports, deaths, visits, hardship, festivals (see app/domain/errors.py)."""
from __future__ import annotations

from app.domain.errors import Conflict, NotAuthorized, NotFound, Unprocessable


class ReportNotFound(NotFound):
    code, message = "report_not_found", "未找到该报告"


class TaskNotFound(NotFound):
    code, message = "task_not_found", "未找到该走访任务"


class RecordNotFound(NotFound):
    code, message = "record_not_found", "未找到该走访记录"


class PhotoNotFound(NotFound):
    code, message = "photo_not_found", "该记录没有照片"


class CaseNotFound(NotFound):
    code, message = "case_not_found", "未找到该帮扶案例"


class HelperNotFound(NotFound):
    code, message = "helper_not_found", "未找到该帮扶人"


class PensionStopNotFound(NotFound):
    code, message = "pension_stop_not_found", "未找到该停发记录"


class RosterNotFound(NotFound):
    code, message = "roster_not_found", "未找到该名单"


class TaskForbidden(NotAuthorized):
    code, message = "task_forbidden", "该任务不在您的范围内或未分派给您"


class AssignForbidden(NotAuthorized):
    code, message = "assign_forbidden", "楼院长/小组长不能分派任务"


class OfficeOnly(NotAuthorized):
    code, message = "office_only", "仅社区专干及以上可办理"


class CaseForbidden(NotAuthorized):
    code, message = "case_forbidden", "该案例未分派给您"


class VerifyForbidden(NotAuthorized):
    code, message = "verify_forbidden", "仅社区专干或街道管理员可核实去世报告"


class StopListForbidden(NotAuthorized):
    code, message = "stop_list_forbidden", "无权查看停发名单"


class AcknowledgeForbidden(NotAuthorized):
    code, message = "acknowledge_forbidden", "仅辖区社保经办机构可确认停发"


class RosterForbidden(NotAuthorized):
    code, message = "roster_forbidden", "仅社区专干及以上可生成或查看走访名单"


class TaskClosed(Conflict):
    code, message = "task_closed", "该任务已关闭"


class CaseClosed(Conflict):
    code, message = "case_closed", "该案例已结案"


class AlreadyDecided(Conflict):
    code, message = "already_decided", "该报告已处理"


class AlreadyVerified(Conflict):
    code, message = "already_verified", "该退休人员的去世信息已核实"


class AlreadyDeceased(Conflict):
    code, message = "already_deceased", "该退休人员的去世信息已核实"


class IdempotencyKeyReused(Conflict):
    code, message = "idempotency_key_reused", "该 Idempotency-Key 已用于另一份不同的报告"


class FestivalPassed(Unprocessable):
    code, message = "festival_passed", "{year} 年春节（{festival}）已过，不能再生成走访名单"
