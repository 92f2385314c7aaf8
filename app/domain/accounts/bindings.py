"""Bindings between mini-program accounts and retiree archives, and the checks built on them.

A retiree binds to their own archive (`self`, active at once); a relative (`spouse`, `child`,
`other`) asks and waits (`pending`) until the retiree's own account or a staff member in the
retiree's region approves. Matching needs the ID number AND the name; a miss says the same
thing whether the ID exists or not, and misses are limited per account (BINDING_ATTEMPT_LIMIT,
kept in Redis so every web process sees the same count).
"""
from __future__ import annotations

import hmac
import re
import secrets
from typing import Any

import limits
import redis
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, lazyload, selectinload

from app.domain import audit, clock, inputs, paging, pii
from app.domain.accounts.errors import (
    AlreadyBound,
    ArchiveNotMatched,
    BindingNotFound,
    BindingNotLive,
    BindingNotPending,
    DuplicateBinding,
    NotBindingApprover,
    NotBindingOwner,
    NotBound,
    NotRetireeSelf,
    SelfAlreadyBound,
    TooManyAttempts,
)
from app.domain.archives import idcard
from app.domain.errors import NotAuthorized, Unavailable, ValidationFailed
from app.domain.org import regions
from app.extensions import RedisStore, db
from app.models import Account, Binding, Region, Retiree, Staff
from app.models.accounts import RELATIONS

RELATIVE_RELATIONS = tuple(r for r in RELATIONS if r != "self")
# Staff roles that may decide on a relative's binding (helpers only assist on the ground).
APPROVER_ROLES = ("community_worker", "street_admin", "agency_admin")
NOT_MATCHED_MESSAGE = "未找到与姓名和身份证号都一致的退休人员档案，请核对后重试"
_FAILURE_KEY = "tuiguan:binding-failures:{}"


# ---- read-side checks used by every feature --------------------------------------------------

def active_binding(account: Account, retiree_id: int) -> Binding | None:
    """The account's active binding to the retiree, if any."""
    return db.session.scalar(select(Binding).where(
        Binding.account_id == account.id, Binding.retiree_id == retiree_id, Binding.status == "active"))


def bound_retiree(account: Account, retiree_id: int) -> Retiree:
    """The retiree, if the account holds an active binding to them; else NotAuthorized (403).

    The same 403 whether the retiree exists or not, so ids cannot be probed.
    """
    # One round trip on every API request: the retiree joined to the active binding; its
    # categories (eager elsewhere) load only if a caller touches them.
    retiree = db.session.scalar(
        select(Retiree).join(Binding, Binding.retiree_id == Retiree.id)
        .where(Binding.account_id == account.id, Binding.retiree_id == retiree_id, Binding.status == "active")
        .options(lazyload(Retiree.category_rows))) if inputs.valid_id(retiree_id) else None
    if retiree is None:
        raise NotBound()
    return retiree


def bound_retiree_ids(account: Account) -> list[int]:
    """Ids of every retiree the account is actively bound to."""
    return list(db.session.scalars(select(Binding.retiree_id).where(
        Binding.account_id == account.id, Binding.status == "active")))


def for_account(account: Account) -> list[Binding]:
    """Every binding the account has made, newest first (revoked and rejected included)."""
    return list(db.session.scalars(select(Binding).where(Binding.account_id == account.id)
                                   .options(selectinload(Binding.retiree).selectinload(Retiree.community))
                                   .order_by(Binding.created_at.desc(), Binding.id.desc())))


def awaiting_account(account: Account) -> list[Binding]:
    """Pending relative bindings to the retirees this account is the active `self` of."""
    own = select(Binding.retiree_id).where(Binding.account_id == account.id, Binding.relation == "self",
                                           Binding.status == "active")
    return list(db.session.scalars(select(Binding).where(
        Binding.retiree_id.in_(own), Binding.status == "pending")
        .options(selectinload(Binding.retiree).selectinload(Retiree.community))
        .order_by(Binding.created_at, Binding.id)))


def overview(account: Account) -> dict[str, Any]:
    """The account's own page: itself, its bindings, and relatives' requests awaiting it."""
    return {"account": account, "bindings": for_account(account), "pending_approvals": awaiting_account(account)}


# ---- failed-attempt limit ----------------------------------------------------------------------

def _limit_store() -> redis.Redis:
    """The Redis that holds rate limits: RATELIMIT_STORAGE_URI (defaults to REDIS_URL; redis:// or memory://)."""
    app = current_app._get_current_object()
    client = app.extensions.get("tuiguan_ratelimit_redis")
    if client is None:
        client = app.extensions["tuiguan_ratelimit_redis"] = RedisStore.client_for_url(
            app.config["RATELIMIT_STORAGE_URI"])
    return client


class _AttemptSlot:
    """A moving-window limit on failed matches, in a Redis sorted set (no Lua: fakeredis-safe).

    An attempt reserves a slot before the match and gives it back when the match succeeds, so
    concurrent guesses cannot overshoot the limit; a refused attempt leaves nothing behind.
    """

    def __init__(self, account: Account) -> None:
        item = limits.parse(current_app.config["BINDING_ATTEMPT_LIMIT"])
        self.amount, self.window = item.amount, item.get_expiry()
        self.key = _FAILURE_KEY.format(account.id)
        self.member = secrets.token_hex(8)

    def reserve(self) -> None:
        now = clock.now().timestamp()
        try:
            pipe = _limit_store().pipeline(transaction=True)
            pipe.zremrangebyscore(self.key, "-inf", now - self.window)
            pipe.zadd(self.key, {self.member: now})
            pipe.zrange(self.key, 0, self.amount, withscores=True)
            pipe.expire(self.key, self.window)
            _, _, entries, _ = pipe.execute()
            if len(entries) <= self.amount:
                return
            _limit_store().zrem(self.key, self.member)
        except redis.RedisError as exc:
            raise Unavailable() from exc
        retry_after = max(1, int(entries[0][1] + self.window - now) + 1)
        raise TooManyAttempts(minutes=-(-retry_after // 60), headers={"Retry-After": str(retry_after)})

    def release(self) -> None:
        try:
            _limit_store().zrem(self.key, self.member)
        except redis.RedisError:  # the slot expires with the window anyway
            current_app.logger.warning("could not release binding attempt slot %s", self.key)


def _same_name(given: str, stored: str) -> bool:
    def norm(name: str) -> bytes:
        text = re.sub(r"[\s\u3000]+", "", name or "")
        return re.sub(r"[•.．・]", "·", text).encode("utf-8")

    return hmac.compare_digest(norm(given), norm(stored))


def _match(name: str, number: str) -> Retiree | None:
    # Only the three columns the decision needs, then one constant-time name check: a wrong name
    # runs exactly the statements an unknown ID runs, so neither answer nor timing tells them apart.
    row = db.session.execute(select(Retiree.id, Retiree.name, Retiree.life_status)
                             .where(Retiree.id_hash == pii.lookup_hash(number))).first()
    name_ok = _same_name(name, row.name if row is not None else "\x00")
    if row is None or not name_ok or row.life_status == "deceased":
        return None
    return db.session.get(Retiree, row.id)


# ---- requests by accounts ----------------------------------------------------------------------

def create_binding(account: Account, relation: str, name: str, id_number: str) -> Binding:
    """Bind the account to the archive matching BOTH name and ID number. Caller commits.

    `self` → active (Conflict `already_bound` if the archive already has one); a relative →
    pending. No match (or a deceased retiree) → NotFound `archive_not_matched`, counted
    against BINDING_ATTEMPT_LIMIT; past the limit → RateLimited, even for a correct attempt.
    """
    if relation not in RELATIONS:
        raise ValidationFailed(fields={"relation": "取值应为：" + ", ".join(RELATIONS)})
    try:
        number = idcard.parse(id_number).number
    except idcard.InvalidIdNumber as exc:
        raise ValidationFailed(fields={"id_number": str(exc)}) from exc
    if not (name or "").strip():
        raise ValidationFailed(fields={"name": "必填"})

    slot = _AttemptSlot(account)
    slot.reserve()
    try:
        retiree = _match(name, number)
    except Exception:
        slot.release()  # a broken lookup is not the caller's failed guess
        raise
    if retiree is None:
        raise ArchiveNotMatched()
    slot.release()
    return _insert_binding(account, retiree, relation)


def _insert_binding(account: Account, retiree: Retiree, relation: str) -> Binding:
    live = db.session.scalar(select(Binding).where(
        Binding.account_id == account.id, Binding.retiree_id == retiree.id,
        Binding.status.in_(("pending", "active"))))
    if live is not None:
        raise DuplicateBinding()
    if relation == "self":
        other_self = db.session.scalar(select(Binding.id).where(
            Binding.account_id == account.id, Binding.relation == "self", Binding.status == "active"))
        if other_self is not None:
            raise SelfAlreadyBound()
    status = "active" if relation == "self" else "pending"
    binding = Binding(account_id=account.id, retiree_id=retiree.id, relation=relation, status=status,
                      decided_at=clock.now() if status == "active" else None)
    try:
        # The partial unique indexes decide races between two requests; a savepoint keeps
        # the caller's transaction usable after a violation.
        with db.session.begin_nested():
            db.session.add(binding)
            db.session.flush()
    except IntegrityError:
        if relation == "self":
            raise AlreadyBound() from None
        raise DuplicateBinding() from None
    audit.record(account, "binding.create", subject_type="binding", subject_id=binding.id,
                 region_id=retiree.community_id, detail={"relation": relation, "status": status})
    return binding


def _decide(actor: Account | Staff, binding: Binding, status: str) -> Binding:
    """pending → `status` (active or rejected), atomically: a concurrent decision finds it no
    longer pending. Recorded as decided by `actor` and audited."""
    by = "staff" if isinstance(actor, Staff) else "retiree"
    decided_by = {"approved_by_staff_id" if by == "staff" else "approved_by_account_id": actor.id}
    result = db.session.execute(
        update(Binding).where(Binding.id == binding.id, Binding.status == "pending")
        .values(status=status, decided_at=clock.now(), **decided_by)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise BindingNotPending()
    db.session.refresh(binding)
    action = "binding.approve" if status == "active" else "binding.reject"
    audit.record(actor, action, subject_type="binding", subject_id=binding.id,
                 region_id=binding.retiree.community_id, detail={"by": by})
    return binding


def _is_self_of(account: Account, retiree_id: int) -> bool:
    own = active_binding(account, retiree_id)
    return own is not None and own.relation == "self"


def _pending_for_self_account(account: Account, binding_id: int) -> Binding:
    binding = inputs.get(Binding, binding_id)
    # Unknown id and someone else's binding look the same.
    if binding is None or binding.relation == "self" or not _is_self_of(account, binding.retiree_id):
        raise NotBindingApprover()
    if binding.status != "pending":
        raise BindingNotPending()
    return binding


def relatives_of(account: Account, retiree_id: int, page: int = 1, per_page: int = 20) -> paging.Page:
    """Relatives' bindings to the archive (every status, newest first), for the retiree's own
    account only (403 `not_retiree_self` otherwise, whether or not the archive exists)."""
    if not inputs.valid_id(retiree_id) or not _is_self_of(account, retiree_id):
        raise NotRetireeSelf()
    query = (select(Binding).where(Binding.retiree_id == retiree_id, Binding.relation != "self")
             .options(selectinload(Binding.account)).order_by(Binding.created_at.desc(), Binding.id.desc()))
    return paging.paginate(query, page, per_page, max_per_page=50)


def approve_by_account(account: Account, binding_id: int) -> Binding:
    """The retiree's own (active `self`) account approves a relative's request. Caller commits."""
    return _decide(account, _pending_for_self_account(account, binding_id), "active")


def reject_by_account(account: Account, binding_id: int) -> Binding:
    """The retiree's own account rejects a relative's request. Caller commits."""
    return _decide(account, _pending_for_self_account(account, binding_id), "rejected")


def revoke(account: Account, binding_id: int) -> Binding:
    """End a binding: its owner may, and so may the retiree's own account for a relative's.

    Access stops on the next request (every check reads the binding status). Caller commits.
    """
    binding = inputs.get(Binding, binding_id)
    allowed = binding is not None and (
        binding.account_id == account.id
        or (binding.relation != "self" and _is_self_of(account, binding.retiree_id)))
    if not allowed:
        raise NotBindingOwner()
    if binding.status not in ("pending", "active"):
        raise BindingNotLive()
    binding.status = "revoked"
    binding.revoked_at = clock.now()
    db.session.flush()
    audit.record(account, "binding.revoke", subject_type="binding", subject_id=binding.id,
                 region_id=binding.retiree.community_id,
                 detail={"by": "owner" if binding.account_id == account.id else "retiree"})
    return binding


# ---- staff side ----------------------------------------------------------------------------------

def pending_for_staff(staff: Staff, limit: int = 50) -> list[Binding]:
    """Pending relative bindings whose retiree lives in the staff member's region subtree, oldest first."""
    query = (select(Binding).join(Binding.retiree).join(Region, Retiree.community_id == Region.id)
             .where(Binding.status == "pending", regions.subtree_condition(staff.region))
             .options(contains_eager(Binding.retiree).selectinload(Retiree.community))
             .order_by(Binding.created_at, Binding.id).limit(limit))
    return list(db.session.scalars(query).unique())


def _pending_for_staff(staff: Staff, binding_id: int) -> Binding:
    if staff.role not in APPROVER_ROLES:
        raise NotAuthorized()
    binding = inputs.get(Binding, binding_id)
    # Outside the subtree answers exactly like an unknown id, so ids cannot be probed.
    if binding is None or not regions.contains(staff.region, binding.retiree.community):
        raise BindingNotFound()
    if binding.status != "pending":
        raise BindingNotPending()
    return binding


def approve_by_staff(staff: Staff, binding_id: int) -> Binding:
    """Staff in the retiree's region subtree approve a relative's request (audited). Caller commits."""
    return _decide(staff, _pending_for_staff(staff, binding_id), "active")


def reject_by_staff(staff: Staff, binding_id: int) -> Binding:
    """Staff in the retiree's region subtree reject a relative's request (audited). Caller commits."""
    return _decide(staff, _pending_for_staff(staff, binding_id), "rejected")
