"""The transactional outbox: `notify` writes notification rows in the caller's transaction and
enqueues their send job after commit; the same rows are the in-app inbox.

Other capabilities call `notify(retiree_or_account, template_key, data, idempotency_key)`.
Who receives a retiree's message: every account with an ACTIVE binding to the retiree (the
retiree themself and relatives), filtered by the template's life rule (see templates.LIFE_RULES):
a deceased retiree's own account never, a death-reported retiree's own account never, relatives
of a deceased retiree only for `bereaved` templates, holiday greetings only while alive. A
living retiree nobody can reach through WeChat goes on the offline list instead.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.domain import clock, inputs
from app.domain.messaging import templates
from app.domain.messaging.errors import NotificationNotFound
from app.extensions import db
from app.jobs import jobs, on_commit
from app.models import Account, Binding, Retiree
from app.models.messaging import Campaign, Notification, OfflineContact

log = logging.getLogger(__name__)

SEND_JOB = "workers.messaging.send_batch"

# ---- notify ------------------------------------------------------------------------------------

def notify(recipient: Retiree | Account, template_key: str, data: dict[str, Any], idempotency_key: str, *,
           link: str | None = None, campaign_id: int | None = None, enqueue: bool = True) -> list[Notification]:
    """Write one notification per receiving account in the current transaction (flush, no commit).

    Idempotent: calling again with the same `idempotency_key` returns the existing rows and adds
    rows only for accounts that have none yet (e.g. a relative bound since). The send job is
    enqueued after the caller commits (`enqueue=False` lets a campaign batch the ids itself via
    `enqueue_send`). A living retiree with no active binding goes on the offline list.
    Raises templates.UnknownTemplate for an unregistered key (a programming error).
    """
    template = templates.get(template_key)
    values = templates.normalize_data(template, data)
    if isinstance(recipient, Account):
        account_ids, retiree_id = [recipient.id], None
    else:
        retiree_id = recipient.id
        account_ids = receiving_accounts(recipient, template)
        if not account_ids:
            if recipient.life_status == "alive":
                add_offline_contact(recipient.id, "no_wechat_binding", template_key, idempotency_key,
                                    campaign_id=campaign_id)
            return []

    rows, created = _get_or_create(account_ids, idempotency_key, dict(
        retiree_id=retiree_id, campaign_id=campaign_id, template_key=template_key, title=template.title,
        data=values, link=link))
    if created and enqueue:
        enqueue_send([n.id for n in created])
    return rows


def receiving_accounts(retiree: Retiree, template: templates.Template) -> list[int]:
    """Accounts that may receive `template` about `retiree` now (active bindings, life rule)."""
    status = retiree.life_status
    if status == "deceased" and template.life_rule != "bereaved":
        return []
    if status != "alive" and template.life_rule == "alive_only":
        return []
    query = select(Binding.account_id).where(Binding.retiree_id == retiree.id, Binding.status == "active")
    if status != "alive":
        query = query.where(Binding.relation != "self")
    return sorted(set(db.session.scalars(query)))


def may_still_receive(template_key: str, retiree_id: int | None, life_status: str | None, bound: bool) -> bool:
    """Checked again at send time: a binding revoked or a death reported since `notify`.

    `life_status` is the retiree's (None: no such retiree any more), `bound` whether the account
    still has an active binding to that retiree.
    """
    if retiree_id is None:
        return True
    if life_status is None or not bound:
        return False
    template = templates.get(template_key)
    if life_status == "deceased" and template.life_rule != "bereaved":
        return False
    return not (life_status != "alive" and template.life_rule == "alive_only")


def _get_or_create(account_ids: list[int], key: str, values: dict) -> tuple[list[Notification], list[Notification]]:
    def existing() -> dict[int, Notification]:
        rows = db.session.scalars(select(Notification).where(
            Notification.idempotency_key == key, Notification.account_id.in_(account_ids)))
        return {n.account_id: n for n in rows}

    found = existing()
    missing = [a for a in account_ids if a not in found]
    created: list[Notification] = []
    if missing:
        try:
            # One savepoint for all: a concurrent twin of this event makes it fail as a whole,
            # and the rows the twin committed are then read back instead (the constraint decides).
            with db.session.begin_nested():
                created = [Notification(account_id=a, idempotency_key=key, status="pending", **values)
                           for a in missing]
                db.session.add_all(created)
        except IntegrityError:
            created = []
            for account_id in missing:
                try:
                    with db.session.begin_nested():
                        row = Notification(account_id=account_id, idempotency_key=key, status="pending", **values)
                        db.session.add(row)
                    created.append(row)
                except IntegrityError:
                    pass
        found = existing()
    return [found[a] for a in account_ids if a in found], created


def add_offline_contact(retiree_id: int, reason: str, template_key: str, source: str, *,
                        account_id: int | None = None, notification_id: int | None = None,
                        campaign_id: int | None = None) -> OfflineContact:
    """Put a retiree on the offline list (idempotent per reason, retiree, account and source)."""
    dedupe_key = f"{reason}:{retiree_id}:{account_id or 0}:{source}"[:300]
    row = db.session.scalar(select(OfflineContact).where(OfflineContact.dedupe_key == dedupe_key))
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            row = OfflineContact(retiree_id=retiree_id, account_id=account_id, notification_id=notification_id,
                                 campaign_id=campaign_id, template_key=template_key, reason=reason,
                                 source=source[:200], dedupe_key=dedupe_key)
            db.session.add(row)
    except IntegrityError:
        row = db.session.scalar(select(OfflineContact).where(OfflineContact.dedupe_key == dedupe_key))
    return row


def add_offline_contacts(entries: list[dict], reason: str) -> int:
    """Bulk `add_offline_contact` for the sender: entries with account_id, notification_id,
    campaign_id, template_key, source and retiree_id (None: the account's bound retiree, its own
    archive first). Entries with no retiree to visit are skipped. Returns rows added."""
    if not entries:
        return 0
    unknown = {e["account_id"] for e in entries if not e.get("retiree_id")}
    retiree_of: dict[int, int] = {}
    if unknown:
        for account_id, retiree_id, relation in db.session.execute(
                select(Binding.account_id, Binding.retiree_id, Binding.relation).where(
                    Binding.account_id.in_(unknown), Binding.status == "active").order_by(Binding.id)):
            if account_id not in retiree_of or relation == "self":
                retiree_of[account_id] = retiree_id
    rows: dict[str, dict] = {}
    for e in entries:
        retiree_id = e.get("retiree_id") or retiree_of.get(e["account_id"])
        if retiree_id is None:
            continue
        key = f"{reason}:{retiree_id}:{e['account_id'] or 0}:{e['source']}"[:300]
        rows[key] = {"retiree_id": retiree_id, "account_id": e["account_id"], "notification_id": e["notification_id"],
                     "campaign_id": e["campaign_id"], "template_key": e["template_key"], "reason": reason,
                     "source": e["source"][:200], "dedupe_key": key}
    if not rows:
        return 0
    existing = set(db.session.scalars(select(OfflineContact.dedupe_key).where(OfflineContact.dedupe_key.in_(rows))))
    new = [row for key, row in rows.items() if key not in existing]
    if not new:
        return 0
    try:
        with db.session.begin_nested():
            db.session.execute(insert(OfflineContact), new)
    except IntegrityError:  # a concurrent twin: fall back to one by one (each is idempotent)
        for row in new:
            add_offline_contact(row["retiree_id"], reason, row["template_key"], row["source"],
                                account_id=row["account_id"], notification_id=row["notification_id"],
                                campaign_id=row["campaign_id"])
    return len(new)


# ---- enqueueing --------------------------------------------------------------------------------

def enqueue_send(notification_ids: Iterable[int], *, delay: timedelta | None = None) -> list[str]:
    """Assign the rows to send jobs of at most MESSAGING_BATCH_SIZE ids and enqueue those jobs
    when the current transaction commits. Returns the job ids.

    This is the batch sender's one entry point: a campaign streams its audience, writes rows,
    and calls this with each chunk's ids. The job id is stored on the rows so the sweeper can
    tell a row whose job still waits in Redis from one whose job was lost.
    """
    ids = sorted(set(notification_ids))
    size = current_app.config["MESSAGING_BATCH_SIZE"]
    batches = [ids[i:i + size] for i in range(0, len(ids), size)]
    job_ids = [uuid.uuid4().hex for _ in batches]
    for batch, job_id in zip(batches, job_ids, strict=True):
        db.session.execute(update(Notification).where(Notification.id.in_(batch))
                           .values(job_id=job_id).execution_options(synchronize_session=False))
    for batch, job_id in zip(batches, job_ids, strict=True):
        if delay is None:
            jobs.enqueue_after_commit(db.session, SEND_JOB, batch, queue="messages", **job_options(job_id))
        else:
            _enqueue_in_after_commit(batch, job_id, delay)
    return job_ids


def job_options(job_id: str) -> dict:
    """RQ options of every send job: its id, timeout and RQ-level retries for unexpected errors
    (a retried job re-claims only rows still pending, so it never re-sends)."""
    from rq import Retry

    return {"job_id": job_id, "timeout": current_app.config["MESSAGING_JOB_TIMEOUT"],
            "retry": Retry(max=3, interval=[10, 60, 300]), "result_ttl": 3600, "failure_ttl": 7 * 86400}


def _enqueue_in_after_commit(batch: list[int], job_id: str, delay: timedelta) -> None:
    app = current_app._get_current_object()

    def _enqueue_in():
        if app.config["JOBS_MODE"] == "inline":
            return  # inline has no scheduler: the sweeper picks the rows up once next_attempt_at passes
        with app.app_context():
            try:
                opts = job_options(job_id)
                jobs.queue("messages").enqueue_in(
                    delay, SEND_JOB, batch, job_id=opts["job_id"], job_timeout=opts["timeout"],
                    retry=opts["retry"], result_ttl=opts["result_ttl"], failure_ttl=opts["failure_ttl"])
            except Exception:  # noqa: BLE001 — Redis down: the sweeper re-enqueues due rows
                log.exception("scheduling retry job %s failed; the sweeper will pick the rows up", job_id)

    on_commit(db.session, _enqueue_in)


def status_counts(campaign_id: int) -> dict[str, int]:
    """A campaign's notifications per status (one indexed GROUP BY; the progress display)."""
    rows = db.session.execute(select(Notification.status, func.count()).where(
        Notification.campaign_id == campaign_id).group_by(Notification.status))
    return {status: count for status, count in rows}


# ---- campaigns (minimal: the sender pauses, the sweeper resumes) ---------------------------------

def next_midnight(now: datetime) -> datetime:
    """The next service-zone midnight (WeChat's daily quotas reset then)."""
    return clock.start_of_local_day(now.astimezone(clock.SERVICE_ZONE).date() + timedelta(days=1))


def pause_campaigns(campaign_ids: set[int], until: datetime, reason: str) -> None:
    """Pause campaigns until `until`; their pending rows stay pending and the sweeper resumes them."""
    db.session.execute(update(Campaign).where(Campaign.id.in_(campaign_ids), Campaign.status.in_(
        ("approved", "sending"))).values(status="paused", paused_until=until, pause_reason=reason,
                                           updated_at=clock.now()).execution_options(synchronize_session=False))


# ---- inbox -------------------------------------------------------------------------------------

INBOX_HIDDEN = ("cancelled",)


def inbox(account: Account, page: int = 1, per_page: int = 20) -> tuple[list[Notification], int, int]:
    """The account's notifications newest first: (page of rows, total, unread count)."""
    base = select(Notification).where(Notification.account_id == account.id,
                                      Notification.status.not_in(INBOX_HIDDEN))
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    unread = db.session.scalar(select(func.count()).select_from(
        base.where(Notification.read_at.is_(None)).subquery()))
    rows = list(db.session.scalars(base.order_by(Notification.id.desc())
                                   .offset((page - 1) * per_page).limit(per_page)))
    return rows, total, unread


def inbox_entry(row: Notification) -> dict[str, Any]:
    """One notification as the inbox shows it: title, labelled lines and a one-line summary."""
    template = templates.get(row.template_key)
    lines = templates.inbox_lines(template, row.data or {})
    return {"id": row.id, "template_key": row.template_key, "title": row.title, "lines": lines,
            "text": "；".join(f"{line['label']}：{line['value']}" for line in lines),
            "link": row.link or template.page, "retiree_id": row.retiree_id,
            "read": row.read_at is not None, "read_at": row.read_at, "created_at": row.created_at}


def inbox_page(account: Account, page: int = 1, per_page: int = 20) -> dict[str, Any]:
    """One page of the inbox as entries, with the total and the unread count."""
    rows, total, unread = inbox(account, page, per_page)
    return {"items": [inbox_entry(row) for row in rows], "page": page, "per_page": per_page, "total": total,
            "unread": unread}


def mark_read(account: Account, notification_id: int) -> Notification:
    """Mark one of the account's own notifications read (idempotent); anyone else's is NotFound."""
    row = inputs.get(Notification, notification_id)
    if row is None or row.account_id != account.id or row.status in INBOX_HIDDEN:
        raise NotificationNotFound()
    if row.read_at is None:
        row.read_at = clock.now()
        db.session.flush()
    return row
