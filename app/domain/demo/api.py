"""Demo data for the mini-program API's certification flows: opening hours and two weeks of
slots at the service points of the demo accounts' communities, so `GET /service-points`,
`GET /slots`, `POST /bookings`, `GET /bookings` and the waitlist have something to show.

Idempotent: opening hours are added once per point, and `slots.open_slots` leaves existing slots
alone. The phone-number flow needs no data: the sandbox answers `phone-<number>.<anything>` codes.
"""
from __future__ import annotations

from datetime import time

from sqlalchemy import select

from app.domain import clock
from app.domain.certification import slots
from app.extensions import db
from app.models import Account, Binding, Retiree, ServicePoint

DAYS = 14
# Weekday mornings and one Saturday morning, half-hour slots of four seats.
HOURS = tuple((weekday, time(9), time(11, 30)) for weekday in range(5)) + ((5, time(9), time(11)),)
SLOT_MINUTES, CAPACITY = 30, 4


def seed_certification_slots(openids: tuple[str, ...]) -> int:
    """Open slots at the community service points of the retirees bound to `openids`. Returns
    the slots created. COMMITS."""
    community_ids = set(db.session.scalars(
        select(Retiree.community_id).join(Binding, Binding.retiree_id == Retiree.id)
        .join(Account, Account.id == Binding.account_id).where(Account.openid.in_(openids))))
    created = 0
    points = db.session.scalars(select(ServicePoint).where(ServicePoint.region_id.in_(community_ids))
                                .order_by(ServicePoint.code))
    for point in points:
        if not slots.hours_of(point):
            for weekday, start, end in HOURS:
                slots.add_opening_hours(point, weekday=weekday, start=start, end=end, slot_minutes=SLOT_MINUTES,
                                        capacity=CAPACITY)
        created += slots.open_slots(point, clock.today(), DAYS)
    db.session.commit()
    return created
