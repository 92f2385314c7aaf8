"""Annual pension-eligibility certification (协助资格认证): each retiree's cycle, recording a
certification, service points' slots, bookings with zero overbooking, the waitlist, the roster desk,
result-file imports, the daily job, and the risk list and work-fee reports.

Modules: `booking`, `certify`, `cycle`, `daily`, `imports`, `reports`, `roster`, `seats`, `slots`, `waitlist`.
"""
from app.domain.certification.booking import (
    active_booking,
    book,
    cancel,
    cancel_future_bookings,
    get_booking,
    reschedule,
)
from app.domain.certification.certify import (
    open_home_certification_task,
    record_certification,
    request_home_certification,
)
from app.domain.certification.cycle import CycleSettings, add_months, current, settings_for
from app.domain.certification.daily import daily_tick
from app.domain.certification.imports import import_certifications
from app.domain.certification.reports import pension_risk_list, work_fee_counts
from app.domain.certification.roster import check_in
from app.domain.certification.waitlist import (
    accept_offer,
    expire_offers,
    get_waitlist_entry,
    join_waitlist,
    leave_waitlist,
    live_waitlist,
    waitlist_position,
)

__all__ = [
    "get_booking", "active_booking", "book", "cancel", "reschedule", "cancel_future_bookings",
    "record_certification", "open_home_certification_task", "request_home_certification", "CycleSettings",
    "settings_for", "add_months", "current", "daily_tick", "import_certifications", "pension_risk_list",
    "work_fee_counts", "check_in", "get_waitlist_entry", "join_waitlist", "waitlist_position", "live_waitlist",
    "leave_waitlist", "accept_offer", "expire_offers",
]
