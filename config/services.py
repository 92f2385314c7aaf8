"""Service-package settings: certification, bookings, visits and reports, festivals, feedback."""
from __future__ import annotations

from config.declare import Setting


def _page(template: str) -> None:
    try:
        template.format(retiree_id=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"expected a page path with at most a {{retiree_id}} placeholder, got {template!r}") \
            from exc


GROUP = "Services"
SETTINGS = (
    Setting("CERT_CYCLE_MONTHS", "int", 12, "certification cycle (a region's own setting overrides it)",
            minimum=1, maximum=60),
    Setting("CERT_DUE_WINDOW_DAYS", "int", 60, "status `due` and bookable from this many days before the due date",
            minimum=0, maximum=366),
    Setting("CERT_GRACE_DAYS", "int", 0, "days overdue before the pension is suspended", minimum=0, maximum=366),
    Setting("CERT_HOME_VISIT_DUE_DAYS", "int", 7, "deadline of home-certification visits (days)", minimum=1),
    Setting("CERT_BOOKING_PAGE", "str", "pages/certification/index?retiree_id={retiree_id}",
            "mini-program page linked from certification messages", check=_page),
    Setting("BOOKING_CANCEL_CUTOFF_MINUTES", "int", 120, "no cancel or reschedule closer than this to the slot",
            minimum=0),
    Setting("WAITLIST_OFFER_HOLD_MINUTES", "int", 120, "how long a freed seat is held for the first in line",
            minimum=1),
    Setting("HOSPITAL_VISIT_DUE_DAYS", "int", 3, "hospital visit deadline after a report (days)", minimum=0),
    Setting("CONDOLENCE_VISIT_DUE_DAYS", "int", 2, "condolence visit deadline after a verified death (days)",
            minimum=0),
    Setting("REVISIT_AFTER_DAYS", "int", 2, "revisit after an empty visit (空访) (days)", minimum=0),
    Setting("HARDSHIP_REVIEW_DAYS", "int", 90, "days between hardship case reviews", minimum=1),
    Setting("FESTIVAL_PRIORITY_CATEGORIES", "list", ["elderly", "lonely", "hardship", "model_worker",
                                                     "serious_illness"],
            "Spring Festival key-visit groups (retiree category codes)"),
    Setting("HOLIDAY_CAMPAIGN_LEAD_DAYS", "int", 14,
            "Spring Festival / Double Ninth drafts are created this many days ahead", minimum=0, maximum=90),
    Setting("FEEDBACK_REPLY_DAYS_COMPLAINT", "int", 3, "reply deadline for complaints (days)", minimum=1),
    Setting("FEEDBACK_REPLY_DAYS_QUESTION", "int", 5, "reply deadline for questions (days)", minimum=1),
    Setting("FEEDBACK_REPLY_DAYS_SUGGESTION", "int", 10, "reply deadline for suggestions (days)", minimum=1),
)
