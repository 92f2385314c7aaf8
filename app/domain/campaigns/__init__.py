"""Campaigns: a template, its data, an audience and a send time, reviewed by an admin and sent to
many through the outbox in slices; the lunar holidays (春节, 重阳节) whose greeting drafts are made ahead.

Modules: `audience`, `dispatch`, `holidays`, `lifecycle`.
"""
from app.domain.campaigns.audience import preview
from app.domain.campaigns.dispatch import (
    finish_done_campaigns,
    relaunch_lost_batches,
    requeue_pending,
    run_batch,
    stalled_dispatch_ids,
)
from app.domain.campaigns.holidays import double_ninth, greeting_data, plan_holiday_campaigns, spring_festival, upcoming
from app.domain.campaigns.lifecycle import (
    approve,
    cancel,
    create_campaign,
    dispatch_due,
    get_for_staff,
    job_options,
    list_for_staff,
    offline_count,
    offline_list,
    pause,
    progress,
    rendered_data,
    resume,
    update_draft,
)

__all__ = [
    "preview", "run_batch", "requeue_pending", "relaunch_lost_batches", "stalled_dispatch_ids",
    "finish_done_campaigns", "spring_festival", "double_ninth", "upcoming", "greeting_data",
    "plan_holiday_campaigns", "list_for_staff", "get_for_staff", "create_campaign", "update_draft",
    "rendered_data", "approve", "job_options", "dispatch_due", "pause", "resume", "cancel", "progress",
    "offline_count", "offline_list",
]
