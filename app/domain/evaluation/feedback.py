"""Ratings of completed services and feedback tickets (满意度评价与反馈).

A rating is given once per subject per account (unique constraint), only by an account bound
to the subject's retiree and only once the service is completed. A score of 2 or less opens a
complaint ticket automatically. Tickets carry a reply deadline by category (configurable, see
`reply_days`) and are handled by the staff whose subtree holds the ticket's community:

* a ticket about a retiree → that retiree's community;
* a ticket without a retiree → the community of the account's first bound retiree (oldest binding);
* an account with no binding → no community: agency admins at city or province level handle it.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.domain import clock, inputs
from app.domain.accounts import bindings
from app.domain.errors import RoleForbidden, ValidationFailed
from app.domain.evaluation.errors import (
    AlreadyRated,
    SubjectNotCompleted,
    SubjectNotFound,
    TicketClosed,
    TicketNotFound,
    TicketNotOpen,
)
from app.domain.messaging import outbox
from app.domain.org import regions
from app.domain.paging import Page, paginate
from app.extensions import db
from app.models import Account, Binding, Region, Retiree, Staff
from app.models.certification import Booking
from app.models.evaluation import (
    FEEDBACK_CATEGORIES,
    FEEDBACK_CATEGORY_LABELS,
    RATING_SUBJECTS,
    FeedbackTicket,
    Rating,
)
from app.models.events import ActivityRegistration
from app.models.tasks import VisitTask

LOW_SCORE = 2
TEXT_MAX = 1000
REPLY_MAX = 2000
MAX_PER_PAGE = 50
STAFF_ROLES = ("community_worker", "street_admin", "agency_admin")
UNSCOPED_LEVELS = ("city", "province")


# ---- rating subjects: subject_type → (subject_id → (retiree_id, completed) | None) ----------------

def _visit(subject_id: int) -> tuple[int, bool] | None:
    task = inputs.get(VisitTask, subject_id)
    return (task.retiree_id, task.status == "done") if task else None


def _booking(subject_id: int) -> tuple[int, bool] | None:
    booking = inputs.get(Booking, subject_id)
    return (booking.retiree_id, booking.status == "attended") if booking else None


def _activity(subject_id: int) -> tuple[int, bool] | None:
    registration = inputs.get(ActivityRegistration, subject_id)
    return (registration.retiree_id, registration.status == "attended") if registration else None


SUBJECT_RESOLVERS: dict[str, Callable[[int], tuple[int, bool] | None]] = {
    "visit": _visit, "booking": _booking, "activity": _activity,
}


def resolve_subject(subject_type: str, subject_id: int) -> tuple[int, bool] | None:
    """(retiree_id, completed?) of a rateable subject, or None when it does not exist."""
    resolver = SUBJECT_RESOLVERS.get(subject_type)
    return resolver(subject_id) if resolver else None


# ---- ratings ---------------------------------------------------------------------------------------

def rate(account: Account, subject_type: str, subject_id: int, score: int, comment: str | None = None) -> Rating:
    """Rate a completed service once. 404 `subject_not_found`, 403 `not_bound`,
    422 `subject_not_completed`, 409 `already_rated`. A low score opens a complaint. Caller commits."""
    fields: dict[str, str] = {}
    if subject_type not in RATING_SUBJECTS:
        fields["subject_type"] = "取值应为：" + ", ".join(RATING_SUBJECTS)
    if not isinstance(score, int) or not 1 <= score <= 5:
        fields["score"] = "评分应为 1–5"
    if comment is not None and (len(comment) > TEXT_MAX or inputs.has_control_characters(comment)):
        fields["comment"] = f"最多 {TEXT_MAX} 个字符，不含控制字符"
    if fields:
        raise ValidationFailed(fields=fields)
    resolved = resolve_subject(subject_type, subject_id)
    if resolved is None:
        raise SubjectNotFound()
    retiree_id, completed = resolved
    retiree = bindings.bound_retiree(account, retiree_id)
    if not completed:
        raise SubjectNotCompleted()
    comment = (comment or "").strip() or None
    rating = Rating(subject_type=subject_type, subject_id=subject_id, account_id=account.id, retiree_id=retiree.id,
                    community_id=retiree.community_id, score=score, comment=comment, created_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(rating)
            db.session.flush()
    except IntegrityError:
        raise AlreadyRated() from None
    if score <= LOW_SCORE:
        text = f"【{score} 分评价】" + (comment or "服务评价较低，未留言")
        _open_ticket(account, "complaint", text, retiree, source_rating_id=rating.id)
    return rating


# ---- tickets -----------------------------------------------------------------------------------------

def reply_days(category: str) -> int:
    """Days to reply for a category (the FEEDBACK_REPLY_DAYS_<CATEGORY> settings)."""
    return current_app.config[f"FEEDBACK_REPLY_DAYS_{category.upper()}"]


def _default_community_id(account: Account) -> int | None:
    return db.session.scalar(
        select(Retiree.community_id).join(Binding, Binding.retiree_id == Retiree.id)
        .where(Binding.account_id == account.id, Binding.status == "active")
        .order_by(Binding.created_at, Binding.id).limit(1))


def _open_ticket(account: Account, category: str, text: str, retiree: Retiree | None,
                 source_rating_id: int | None = None) -> FeedbackTicket:
    now = clock.now()
    community_id = retiree.community_id if retiree else _default_community_id(account)
    ticket = FeedbackTicket(account_id=account.id, retiree_id=retiree.id if retiree else None,
                            community_id=community_id, category=category, text=text, status="open",
                            reply_due_at=now + timedelta(days=reply_days(category)),
                            source_rating_id=source_rating_id, created_at=now)
    db.session.add(ticket)
    db.session.flush()
    return ticket


def submit(account: Account, category: str, text: str, retiree_id: int | None = None) -> FeedbackTicket:
    """A complaint, suggestion or question; about a bound retiree when `retiree_id` is given
    (403 `not_bound` otherwise). Caller commits."""
    fields: dict[str, str] = {}
    if category not in FEEDBACK_CATEGORIES:
        fields["category"] = "取值应为：" + ", ".join(FEEDBACK_CATEGORIES)
    text = (text or "").strip()
    if not text or len(text) > TEXT_MAX or inputs.has_control_characters(text):
        fields["text"] = f"内容必填，最多 {TEXT_MAX} 个字符，不含控制字符"
    if fields:
        raise ValidationFailed(fields=fields)
    retiree = bindings.bound_retiree(account, retiree_id) if retiree_id is not None else None
    return _open_ticket(account, category, text, retiree)


def tickets_for_account(account: Account, page: int = 1, per_page: int = 20) -> tuple[list[FeedbackTicket], int]:
    """The account's own tickets (with replies), newest first; one page and the total."""
    per_page = min(max(int(per_page), 1), MAX_PER_PAGE)
    page = max(int(page), 1)
    where = FeedbackTicket.account_id == account.id
    total = db.session.scalar(select(func.count(FeedbackTicket.id)).where(where))
    rows = db.session.scalars(select(FeedbackTicket).where(where)
                              .order_by(FeedbackTicket.created_at.desc(), FeedbackTicket.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


def is_overdue(ticket: FeedbackTicket, now: datetime | None = None) -> bool:
    """Still open past its reply deadline."""
    return ticket.status == "open" and ticket.reply_due_at < (now or clock.now())


def _staff_scope(staff: Staff) -> Select:
    query = select(FeedbackTicket).outerjoin(Region, FeedbackTicket.community_id == Region.id)
    in_subtree = regions.subtree_condition(staff.region)
    if staff.role == "agency_admin" and staff.region.level in UNSCOPED_LEVELS:
        return query.where(or_(in_subtree, FeedbackTicket.community_id.is_(None)))
    return query.where(in_subtree)


def tickets_for_staff(staff: Staff, status: str | None = "open", page: int = 1) -> Page:
    """One page of the tickets the staff member handles (see the module docstring), by deadline."""
    if staff.role not in STAFF_ROLES:
        raise RoleForbidden()
    query = _staff_scope(staff)
    if status:
        query = query.where(FeedbackTicket.status == status)
    query = query.options(selectinload(FeedbackTicket.retiree), selectinload(FeedbackTicket.community))
    return paginate(query.order_by(FeedbackTicket.reply_due_at, FeedbackTicket.id), page)


def overdue_count(staff: Staff) -> int:
    """How many tickets the staff member handles are still open past their reply deadline."""
    if staff.role not in STAFF_ROLES:
        raise RoleForbidden()
    scoped = _staff_scope(staff).where(FeedbackTicket.status == "open", FeedbackTicket.reply_due_at < clock.now())
    return db.session.scalar(select(func.count()).select_from(scoped.subquery())) or 0


def get_for_staff(staff: Staff, ticket_id: int) -> FeedbackTicket:
    """One ticket in the staff member's scope; another region's ticket looks absent (404)."""
    if staff.role not in STAFF_ROLES:
        raise RoleForbidden()
    ticket = (db.session.scalar(_staff_scope(staff).where(FeedbackTicket.id == ticket_id))
              if inputs.valid_id(ticket_id) else None)
    if ticket is None:
        raise TicketNotFound()
    return ticket


def reply(staff: Staff, ticket_id: int, text: str) -> FeedbackTicket:
    """Reply to an open ticket (once; later edits are new tickets) and notify the account. Caller commits."""
    ticket = get_for_staff(staff, ticket_id)
    text = (text or "").strip()
    if not text or len(text) > REPLY_MAX or inputs.has_control_characters(text):
        raise ValidationFailed(fields={"reply": f"回复必填，最多 {REPLY_MAX} 个字符，不含控制字符"})
    now = clock.now()
    result = db.session.execute(
        update(FeedbackTicket).where(FeedbackTicket.id == ticket.id, FeedbackTicket.status == "open")
        .values(status="replied", reply=text, replied_by_id=staff.id, replied_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise TicketNotOpen()
    db.session.refresh(ticket)
    topic = f"您的{FEEDBACK_CATEGORY_LABELS[ticket.category]}：{ticket.text}"
    outbox.notify(ticket.account, "feedback_reply", {"topic": topic, "reply": text, "replied_at": now},
                     f"feedback_reply:{ticket.id}", link=f"/feedback/{ticket.id}")
    return ticket


def close(staff: Staff, ticket_id: int) -> FeedbackTicket:
    """Close a ticket (replied, or settled offline). Caller commits."""
    ticket = get_for_staff(staff, ticket_id)
    if ticket.status == "closed":
        raise TicketClosed()
    ticket.status, ticket.closed_at = "closed", clock.now()
    db.session.flush()
    return ticket


# ---- numbers for evaluation and indicator reports ------------------------------------------------

def satisfaction_by_region(region: Region, date_from: date, date_to: date) -> dict:
    """Ratings of retirees of communities under `region`, given within [date_from, date_to]
    (service zone): {"count", "average" (None without ratings), "low_share" (share of scores ≤ 2)}."""
    start, end = clock.local_days(date_from, date_to)
    count, total, low = db.session.execute(
        select(func.count(Rating.id), func.sum(Rating.score), func.count(Rating.id).filter(Rating.score <= LOW_SCORE))
        .join(Region, Rating.community_id == Region.id)
        .where(regions.subtree_condition(region), Rating.created_at >= start, Rating.created_at < end)).one()
    if not count:
        return {"count": 0, "average": None, "low_share": None}
    return {"count": count, "average": round(total / count, 2), "low_share": round(low / count, 4)}


def ticket_summary(region: Region, date_from: date, date_to: date) -> dict:
    """Tickets of communities under `region` opened within the period: per category, replied in time,
    and still open past the deadline now."""
    start, end = clock.local_days(date_from, date_to)
    base = (select(FeedbackTicket.category, func.count(FeedbackTicket.id),
                   func.count(FeedbackTicket.id).filter(FeedbackTicket.replied_at <= FeedbackTicket.reply_due_at),
                   func.count(FeedbackTicket.id).filter(FeedbackTicket.status == "open",
                                                        FeedbackTicket.reply_due_at < clock.now()))
            .join(Region, FeedbackTicket.community_id == Region.id)
            .where(regions.subtree_condition(region), FeedbackTicket.created_at >= start,
                   FeedbackTicket.created_at < end)
            .group_by(FeedbackTicket.category))
    out = {c: {"opened": 0, "replied_in_time": 0, "overdue": 0} for c in FEEDBACK_CATEGORIES}
    for category, opened, in_time, overdue in db.session.execute(base):
        out[category] = {"opened": opened, "replied_in_time": in_time, "overdue": overdue}
    return out


def ratings_for_account(account: Account, page: int = 1, per_page: int = 20) -> Page:
    """The ratings the account has given, newest first (a client marks those services as rated)."""
    query = (select(Rating).where(Rating.account_id == account.id)
             .order_by(Rating.created_at.desc(), Rating.id.desc()))
    return paginate(query, page, per_page, max_per_page=MAX_PER_PAGE)
