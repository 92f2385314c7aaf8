"""Error codes of holiday campaigns (see app/domain/errors.py)."""
from __future__ import annotations

from app.domain.errors import NotAuthorized, NotFound, Unprocessable, ValidationFailed


class CampaignNotFound(NotFound):
    code, message = "campaign_not_found", "消息活动不存在"


class CampaignForbidden(NotAuthorized):
    code, message = "campaign_forbidden", "无权办理该消息活动（角色或管辖范围不符）"


class InvalidCampaign(ValidationFailed):
    code, message = "invalid_campaign", "消息活动内容有误，请按提示修改"


class CampaignNotDraft(Unprocessable):
    code, message = "campaign_not_draft", "只有草稿可以修改或审核"


class CampaignSendTimePassed(Unprocessable):
    code, message = "campaign_send_time_passed", "发送时间已过去一天以上，请先修改发送时间"


class CampaignNotRunning(Unprocessable):
    code, message = "campaign_not_running", "当前状态不能暂停"


class CampaignNotPaused(Unprocessable):
    code, message = "campaign_not_paused", "活动未暂停"


class CampaignFinished(Unprocessable):
    code, message = "campaign_finished", "活动已结束"
