"""Events for retirees and staff: activities (重阳节文体活动 and others) with capacity and a waitlist,
policy meetings (社保政策例会) with materials and attendance, and notices (宣传推广).

Modules: `activities`, `meetings`, `notices`.
"""
from app.domain.events.activities import (
    ActivityView,
    cancel,
    cancel_future_registrations,
    create_activity,
    is_signup_open,
    list_for_retiree,
    mark_attendance,
    participation_by_region,
    register,
    send_reminders,
    view_for_retiree,
    waitlist_position,
)
from app.domain.events.meetings import (
    add_material,
    attendance_by_community,
    create_meeting,
    invitations,
    invite_region,
    material_for_download,
    record_attendance,
)
from app.domain.events.notices import for_retiree, publish, published_by_region, withdraw

__all__ = [
    "ActivityView", "create_activity", "mark_attendance", "waitlist_position", "is_signup_open",
    "list_for_retiree", "view_for_retiree", "register", "cancel", "cancel_future_registrations",
    "send_reminders", "participation_by_region", "create_meeting", "add_material", "material_for_download",
    "invite_region", "invitations", "record_attendance", "attendance_by_community", "publish", "withdraw",
    "for_retiree", "published_by_region",
]
