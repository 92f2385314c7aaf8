"""Activities (重阳节文体活动 and others): creation by staff, registration with a waitlist,
attendance, confirmation and reminder messages.

Seats are counted in `activity.registered` and only move through conditional UPDATEs
(`registered < capacity`) in the same transaction as the registration row; the CHECK
`registered <= capacity` and the partial unique index (one live registration per retiree)
decide every race in the database, never a Python check-then-insert.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, distinct, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from app.domain import audit, clock, inputs
from app.domain.accounts.bindings import bound_retiree
from app.domain.errors import (
    RetireeDeceased,
    RoleForbidden,
    ValidationFailed,
)
from app.domain.events.errors import (
    ActivityNotFound,
    ActivityNotOpen,
    ActivityNotStarted,
    ActivityPast,
    AlreadyRegistered,
    NotCancellable,
    RegistrationNotFound,
    SignupClosed,
    SignupNotOpen,
)
from app.domain.messaging import outbox
from app.domain.org import regions
from app.domain.org.staff import ensure_in_scope
from app.domain.paging import Page, paginate
from app.extensions import db
from app.models import Account, Region, Retiree, Staff
from app.models.events import ACTIVITY_KINDS, SEATED_STATUSES, Activity, ActivityRegistration

MAX_CAPACITY = 10_000
MAX_PER_PAGE = 50
DESCRIPTION_MAX = 5000
CREATOR_ROLES = ("community_worker", "street_admin", "agency_admin")


@dataclass(frozen=True)
class ActivityView:
    """An activity as one retiree sees it: seats left and their own registration, if any."""
    activity: Activity
    registration: ActivityRegistration | None
    position: int | None


def _notify(recipient, template_key: str, data: dict, idempotency_key: str, link: str | None = None) -> None:
    # Imported late: messaging is its own capability and imports models of its own.

    outbox.notify(recipient, template_key, data, idempotency_key, link=link)


# ---- staff side -----------------------------------------------------------------------------------

def create_activity(staff: Staff, *, title: str, place: str, starts_at: datetime, ends_at: datetime,
                    capacity: int, region: Region, kind: str = "other", description: str | None = None,
                    signup_opens_at: datetime | None = None,
                    signup_closes_at: datetime | None = None) -> Activity:
    """Create an activity open to retirees under `region` (within the staff member's subtree).

    Sign-up opens now and closes at the start unless given. Caller commits.
    """
    if staff.role not in CREATOR_ROLES:
        raise RoleForbidden()
    ensure_in_scope(staff, region)
    now = clock.now()
    signup_opens_at = signup_opens_at or now
    signup_closes_at = signup_closes_at or starts_at
    fields: dict[str, str] = {}
    if not (title or "").strip() or len(title.strip()) > 100 or inputs.has_control_characters(title, multiline=False):
        fields["title"] = "标题必填，最多 100 个字符，不含控制字符"
    if not (place or "").strip() or len(place.strip()) > 200 or inputs.has_control_characters(place, multiline=False):
        fields["place"] = "地点必填，最多 200 个字符，不含控制字符"
    if len(description or "") > DESCRIPTION_MAX or inputs.has_control_characters(description):
        fields["description"] = f"说明最多 {DESCRIPTION_MAX} 个字符，不含控制字符"
    if kind not in ACTIVITY_KINDS:
        fields["kind"] = "类型应为：" + ", ".join(ACTIVITY_KINDS)
    if not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        fields["capacity"] = f"名额应为 1–{MAX_CAPACITY}"
    if starts_at <= now:
        fields["starts_at"] = "开始时间应晚于现在"
    if ends_at <= starts_at:
        fields["ends_at"] = "结束时间应晚于开始时间"
    if "starts_at" in fields:
        pass  # the sign-up window defaults to the start; one message is enough
    elif signup_closes_at <= signup_opens_at:
        fields["signup_closes_at"] = "报名截止应晚于报名开始"
    elif signup_closes_at > starts_at:
        fields["signup_closes_at"] = "报名截止不能晚于活动开始"
    if fields:
        raise ValidationFailed(fields=fields)
    activity = Activity(title=title.strip(), description=(description or "").strip() or None, kind=kind,
                        starts_at=starts_at, ends_at=ends_at, place=place.strip(), capacity=capacity,
                        signup_opens_at=signup_opens_at, signup_closes_at=signup_closes_at,
                        region_id=region.id, created_by_id=staff.id)
    db.session.add(activity)
    db.session.flush()
    audit.record(staff, "activity.create", subject_type="activity", subject_id=activity.id, region_id=region.id)
    return activity


def list_for_staff(staff: Staff, *, include_past: bool = False, page: int = 1) -> Page:
    """One page of the activities in the staff member's subtree, latest start first (those ended
    over a week ago only when asked)."""
    query = (select(Activity).join(Region, Activity.region_id == Region.id)
             .where(regions.subtree_condition(staff.region)).options(selectinload(Activity.region)))
    if not include_past:
        query = query.where(Activity.ends_at >= clock.now() - timedelta(days=7))
    return paginate(query.order_by(Activity.starts_at.desc(), Activity.id.desc()), page)


def get_for_staff(staff: Staff, activity_id: int) -> Activity:
    """The activity if it lies in the staff member's subtree (NotFound / NotAuthorized otherwise)."""
    activity = inputs.get(Activity, activity_id)
    if activity is None:
        raise ActivityNotFound()
    ensure_in_scope(staff, activity.region)
    return activity


def roster(activity: Activity) -> list[ActivityRegistration]:
    """Every registration of the activity (seated first, then the waitlist in order, then cancelled)."""
    order = case({"registered": 0, "attended": 0, "absent": 0, "waitlisted": 1}, value=ActivityRegistration.status,
                 else_=2)
    return list(db.session.scalars(select(ActivityRegistration).where(ActivityRegistration.activity_id == activity.id)
                                   .options(selectinload(ActivityRegistration.retiree))
                                   .order_by(order, ActivityRegistration.id)))


def mark_attendance(staff: Staff, activity_id: int, marks: dict[int, str]) -> int:
    """Record attended / absent for seated registrations, from the start day on. Caller commits.

    `marks` maps registration id → 'attended' | 'absent'. Returns how many rows changed.
    """
    activity = get_for_staff(staff, activity_id)
    if activity.starts_at.astimezone(clock.SERVICE_ZONE).date() > clock.today():
        raise ActivityNotStarted()
    bad = {str(k): "应为 attended 或 absent" for k, v in marks.items() if v not in ("attended", "absent")}
    if bad:
        raise ValidationFailed(fields=bad)
    changed = 0
    # An id no row can have matches nothing, like any id of another activity.
    for registration_id, status in ((k, v) for k, v in marks.items() if inputs.valid_id(k)):
        result = db.session.execute(
            update(ActivityRegistration)
            .where(ActivityRegistration.id == registration_id, ActivityRegistration.activity_id == activity.id,
                   ActivityRegistration.status.in_(SEATED_STATUSES), ActivityRegistration.status != status)
            .values(status=status, attendance_marked_at=clock.now(), attendance_marked_by_id=staff.id)
            .execution_options(synchronize_session=False))
        changed += result.rowcount
    if changed:
        audit.record(staff, "activity.attendance", subject_type="activity", subject_id=activity.id,
                     region_id=activity.region_id, detail={"changed": changed})
    db.session.expire_all()
    return changed


# ---- retiree side -----------------------------------------------------------------------------------

def _live_registration(activity_id: int, retiree_id: int) -> ActivityRegistration | None:
    return db.session.scalar(select(ActivityRegistration).where(
        ActivityRegistration.activity_id == activity_id, ActivityRegistration.retiree_id == retiree_id,
        ActivityRegistration.status != "cancelled"))


def waitlist_position(registration: ActivityRegistration) -> int | None:
    """1-based place in line of a waitlisted registration (None when not waitlisted)."""
    return waitlist_positions([registration]).get(registration.id)


def waitlist_positions(registrations: list[ActivityRegistration]) -> dict[int, int]:
    """Registration id → 1-based place in line, for the waitlisted ones among `registrations`
    (one query however many)."""
    waiting = [r.id for r in registrations if r.status == "waitlisted"]
    if not waiting:
        return {}
    ahead = aliased(ActivityRegistration)
    rows = db.session.execute(
        select(ActivityRegistration.id, func.count(ahead.id))
        .join(ahead, (ahead.activity_id == ActivityRegistration.activity_id) & (ahead.status == "waitlisted")
              & (ahead.id <= ActivityRegistration.id))
        .where(ActivityRegistration.id.in_(waiting)).group_by(ActivityRegistration.id))
    return {registration_id: position for registration_id, position in rows}


def is_signup_open(activity: Activity, now: datetime | None = None) -> bool:
    """Inside the sign-up window and not yet started (what `register` checks, as one answer)."""
    now = now or clock.now()
    return activity.signup_opens_at <= now < activity.signup_closes_at and now < activity.starts_at


def _open_activity(retiree: Retiree, activity_id: int) -> Activity:
    activity = inputs.get(Activity, activity_id)
    if activity is None:
        raise ActivityNotFound()
    if not regions.contains(activity.region, retiree.community):
        raise ActivityNotOpen()
    return activity


def list_for_retiree(retiree: Retiree, page: int = 1, per_page: int = 20) -> tuple[list[ActivityView], int]:
    """Activities open to the retiree's community: upcoming (soonest first), then past (latest first).

    Returns one page of views (with the retiree's live registration) and the total count.
    """
    per_page = min(max(int(per_page), 1), MAX_PER_PAGE)
    page = max(int(page), 1)
    now = clock.now()
    scope = Activity.region_id.in_(regions.ancestor_ids(retiree.community))
    total = db.session.scalar(select(func.count(Activity.id)).where(scope))
    upcoming = Activity.ends_at >= now
    rows = list(db.session.scalars(
        select(Activity).where(scope)
        .order_by(case((upcoming, 0), else_=1), case((upcoming, Activity.starts_at), else_=None),
                  Activity.starts_at.desc(), Activity.id)
        .limit(per_page).offset((page - 1) * per_page)))
    mine = {r.activity_id: r for r in db.session.scalars(select(ActivityRegistration).where(
        ActivityRegistration.retiree_id == retiree.id, ActivityRegistration.status != "cancelled",
        ActivityRegistration.activity_id.in_([a.id for a in rows])))} if rows else {}
    positions = waitlist_positions(list(mine.values()))
    views = [ActivityView(a, mine.get(a.id), positions.get(mine[a.id].id) if a.id in mine else None) for a in rows]
    return views, total


def view_for_retiree(retiree: Retiree, activity_id: int) -> ActivityView:
    """One activity open to the retiree, with their live registration."""
    activity = _open_activity(retiree, activity_id)
    registration = _live_registration(activity.id, retiree.id)
    return ActivityView(activity, registration, waitlist_position(registration) if registration else None)


def _take_seat(activity_id: int) -> bool:
    result = db.session.execute(
        update(Activity).where(Activity.id == activity_id, Activity.registered < Activity.capacity)
        .values(registered=Activity.registered + 1).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _free_seat(activity_id: int) -> None:
    db.session.execute(
        update(Activity).where(Activity.id == activity_id, Activity.registered > 0)
        .values(registered=Activity.registered - 1).execution_options(synchronize_session=False))


def register(account: Account | None, retiree: Retiree, activity_id: int) -> ActivityView:
    """Register the retiree (already authorized for `account`): a seat, or a place on the waitlist.

    422 `retiree_deceased`, `activity_past`, `signup_not_open`, `signup_closed`; 403 `activity_not_open`;
    409 `already_registered`. Sends the confirmation through messaging. Caller commits.
    """
    activity = _open_activity(retiree, activity_id)
    if retiree.life_status == "deceased":
        raise RetireeDeceased()
    now = clock.now()
    if activity.starts_at <= now:
        raise ActivityPast()
    if now < activity.signup_opens_at:
        raise SignupNotOpen()
    if now >= activity.signup_closes_at:
        raise SignupClosed()
    if _live_registration(activity.id, retiree.id) is not None:
        raise AlreadyRegistered()
    try:
        # Seat and row in one savepoint: a duplicate (lost race) gives the seat back with it.
        with db.session.begin_nested():
            seated = _take_seat(activity.id)
            registration = ActivityRegistration(
                activity_id=activity.id, retiree_id=retiree.id, community_id=retiree.community_id,
                registered_by_account_id=account.id if account else None,
                status="registered" if seated else "waitlisted", created_at=now)
            db.session.add(registration)
            db.session.flush()
    except IntegrityError:
        raise AlreadyRegistered() from None
    db.session.refresh(activity)
    position = waitlist_position(registration)
    _notify(retiree, "activity_registered", _message_data(activity, retiree, registration.status, position),
            f"activity_registered:{registration.id}", link=f"/activities/{activity.id}")
    return ActivityView(activity, registration, position)


def _message_data(activity: Activity, retiree: Retiree, status: str, position: int | None = None) -> dict:
    """Data for the `activity_registered` template (activity, time, place, name)."""
    title = activity.title if status != "waitlisted" else f"【候补第{position}位】{activity.title}"
    return {"activity": title, "time": activity.starts_at, "place": activity.place, "name": retiree.name}


def cancel(account: Account, activity_id: int, registration_id: int) -> ActivityRegistration:
    """Cancel a live registration of a retiree the account is bound to; a freed seat goes to the
    first on the waitlist (notified). Caller commits."""
    registration = inputs.get(ActivityRegistration, registration_id)
    if registration is None or registration.activity_id != activity_id:
        raise RegistrationNotFound()
    bound_retiree(account, registration.retiree_id)
    activity = registration.activity
    if activity.starts_at <= clock.now():
        raise ActivityPast()
    # One conditional UPDATE per source status, so a concurrent promotion (waitlisted →
    # registered) can never be cancelled without its seat being given back.
    for was in ("registered", "waitlisted"):
        result = db.session.execute(
            update(ActivityRegistration)
            .where(ActivityRegistration.id == registration.id, ActivityRegistration.status == was)
            .values(status="cancelled", cancelled_at=clock.now()).execution_options(synchronize_session=False))
        if result.rowcount == 1:
            break
    else:
        raise NotCancellable()
    if was == "registered":
        _free_seat(activity.id)
        _promote_first(activity)
    db.session.refresh(registration)
    return registration


def _promote_first(activity: Activity) -> ActivityRegistration | None:
    """Give a free seat to the first waitlisted registration, claimed with a conditional UPDATE."""
    candidates = db.session.scalars(
        select(ActivityRegistration.id).join(Retiree, ActivityRegistration.retiree_id == Retiree.id)
        .where(ActivityRegistration.activity_id == activity.id, ActivityRegistration.status == "waitlisted",
               Retiree.life_status != "deceased")
        .order_by(ActivityRegistration.id).limit(5)).all()
    for candidate_id in candidates:
        if not _take_seat(activity.id):
            return None
        claimed = db.session.execute(
            update(ActivityRegistration)
            .where(ActivityRegistration.id == candidate_id, ActivityRegistration.status == "waitlisted")
            .values(status="registered", promoted_at=clock.now()).execution_options(synchronize_session=False))
        if claimed.rowcount == 1:
            promoted = db.session.get(ActivityRegistration, candidate_id)
            db.session.refresh(promoted)
            db.session.refresh(activity)
            _notify(promoted.retiree, "activity_registered", _message_data(activity, promoted.retiree, "registered"),
                    f"activity_promoted:{promoted.id}", link=f"/activities/{activity.id}")
            return promoted
        _free_seat(activity.id)
    return None


def cancel_future_registrations(retiree: Retiree) -> int:
    """Cancel the retiree's live registrations for activities not yet started, giving each seat
    to the next in line (for the death cascade). Returns how many were cancelled. Caller commits."""
    live = db.session.scalars(
        select(ActivityRegistration).join(Activity, ActivityRegistration.activity_id == Activity.id)
        .where(ActivityRegistration.retiree_id == retiree.id,
               ActivityRegistration.status.in_(("registered", "waitlisted")), Activity.starts_at > clock.now())
        .order_by(ActivityRegistration.id)).all()
    cancelled = 0
    for registration in live:
        result = db.session.execute(
            update(ActivityRegistration)
            .where(ActivityRegistration.id == registration.id, ActivityRegistration.status == registration.status)
            .values(status="cancelled", cancelled_at=clock.now()).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            continue
        cancelled += 1
        if registration.status == "registered":
            _free_seat(registration.activity_id)
            _promote_first(registration.activity)
    db.session.expire_all()
    return cancelled


def send_reminders(today: date | None = None) -> int:
    """Remind every seated registrant of an activity starting tomorrow (service zone). Idempotent:
    a registration is reminded once (`reminded_at`, and the message's idempotency key). Commits."""
    today = today or clock.today()
    start = clock.start_of_local_day(today + timedelta(days=1))
    end = clock.start_of_local_day(today + timedelta(days=2))
    due = db.session.scalars(
        select(ActivityRegistration).join(Activity, ActivityRegistration.activity_id == Activity.id)
        .join(Retiree, ActivityRegistration.retiree_id == Retiree.id)
        .where(Activity.starts_at >= start, Activity.starts_at < end,
               ActivityRegistration.status == "registered", ActivityRegistration.reminded_at.is_(None),
               Retiree.life_status != "deceased")
        .order_by(ActivityRegistration.id)).all()
    sent = 0
    for registration in due:
        claimed = db.session.execute(
            update(ActivityRegistration)
            .where(ActivityRegistration.id == registration.id, ActivityRegistration.reminded_at.is_(None))
            .values(reminded_at=clock.now()).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        activity = registration.activity
        _notify(registration.retiree, "activity_reminder",
                {"activity": activity.title, "time": activity.starts_at, "place": activity.place,
                 "note": "活动明天开始，请准时参加"},
                f"activity_reminder:{registration.id}", link=f"/activities/{activity.id}")
        db.session.commit()
        sent += 1
    return sent


def participation_by_region(region: Region, date_from: date, date_to: date) -> dict:
    """For indicator and budget reports: activities held under `region` and attendance by retirees
    of communities under it, for activities starting within [date_from, date_to] (service zone)."""
    start, end = clock.local_days(date_from, date_to)
    in_period = (Activity.starts_at >= start, Activity.starts_at < end)
    held = db.session.scalar(select(func.count(Activity.id)).join(Region, Activity.region_id == Region.id)
                             .where(regions.subtree_condition(region), *in_period))
    attendance = db.session.execute(
        select(func.count(ActivityRegistration.id), func.count(distinct(ActivityRegistration.retiree_id)))
        .join(Activity, ActivityRegistration.activity_id == Activity.id)
        .join(Region, ActivityRegistration.community_id == Region.id)
        .where(regions.subtree_condition(region), ActivityRegistration.status == "attended", *in_period)).one()
    return {"activities": held, "attendances": attendance[0], "retirees_attended": attendance[1]}
