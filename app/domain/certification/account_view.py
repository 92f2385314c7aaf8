"""Certification as a mini-program account sees it: the state of a bound retiree, service points,
open slots, and every booking of the retirees the account is bound to.

The API calls these after `accounts.bound_retiree` (or here, with the account) has authorized it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.domain import clock, paging
from app.domain.accounts import bindings
from app.domain.certification import booking, certify, cycle, slots, waitlist
from app.models import Account, Binding, Retiree
from app.models.certification import Booking, Slot, WaitlistEntry

DEFAULT_DAYS = 14


@dataclass(frozen=True)
class CertificationStatus:
    status: str
    due_on: date | None
    window_opens_on: date | None
    last_certified_on: date | None
    last_method: str | None
    home_visit_pending: bool
    booking: Booking | None
    waitlist: list[WaitlistEntry]


def status_of(retiree: Retiree) -> CertificationStatus:
    """The retiree's cycle, current booking, open home-visit request and live waitlist entries."""
    view = cycle.current(retiree)
    return CertificationStatus(
        status=view.status, due_on=view.due_on, window_opens_on=view.window_opens_on,
        last_certified_on=view.last_certified_on, last_method=view.last_method,
        home_visit_pending=certify.open_home_certification_task(retiree) is not None,
        booking=booking.active_booking(retiree), waitlist=waitlist.live_waitlist(retiree))


def points_page(retiree: Retiree, page: int, per_page: int) -> paging.Page:
    """Service points for the retiree, nearest first, one page."""
    return paging.page_of_list(slots.points_for_retiree(retiree), page, per_page)


def slots_page(point_id: int, date_from: date | None, date_to: date | None, page: int, per_page: int) -> paging.Page:
    """Slots of a service point from `date_from` (default today) to `date_to` (default 14 days on)."""
    point = slots.get_point(point_id)
    start = date_from or clock.today()
    end = date_to or start + timedelta(days=DEFAULT_DAYS)
    return paging.paginate(slots.slots_query(point, start, end), page, per_page)


def bookings_page(account: Account, page: int, per_page: int, status: str | None = None) -> paging.Page:
    """Bookings of every retiree the account is actively bound to (its own and its relatives'),
    latest slot first; `status` filters (booked, cancelled, attended, no_show)."""
    bound = select(Binding.retiree_id).where(Binding.account_id == account.id, Binding.status == "active")
    query = (select(Booking).join(Slot, Slot.id == Booking.slot_id).where(Booking.retiree_id.in_(bound))
             .options(selectinload(Booking.slot).selectinload(Slot.service_point), selectinload(Booking.retiree))
             .order_by(Slot.starts_at.desc(), Booking.id.desc()))
    if status is not None:
        query = query.where(Booking.status == status)
    return paging.paginate(query, page, per_page)


def owned_booking(account: Account, booking_id: int) -> Booking:
    """A booking of a retiree the account is bound to (404 unknown, 403 `not_bound` otherwise)."""
    found = booking.get_booking(booking_id)
    bindings.bound_retiree(account, found.retiree_id)
    return found


def owned_waitlist_entry(account: Account, entry_id: int) -> WaitlistEntry:
    """A waitlist entry of a retiree the account is bound to (404 unknown, 403 `not_bound` otherwise)."""
    entry = waitlist.get_waitlist_entry(entry_id)
    bindings.bound_retiree(account, entry.retiree_id)
    return entry
