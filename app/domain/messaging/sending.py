"""Sending the outbox: one batch job claims its rows, sends them concurrently, records outcomes.

Guarantees, and how:
- Never twice: a row is sent only by the job whose conditional UPDATE moved it `pending` →
  `sending`. A row left in `sending` (worker killed, job timed out) whose send had begun is
  never re-sent: the sweeper marks it `unknown`, because WeChat has no idempotency key and the
  send may have arrived; one no sender had picked up goes back to `pending` (how the two are
  told apart: app/domain/send_starts.py). To keep that window small a job claims 2 x its
  thread count at a time, as its queue drains, and records outcomes every ~0.5 s or 100 rows:
  a killed job leaves at most ~4 x its thread count `sending`. (Claiming 4 x measured 2-3 %
  faster; the smaller window won.)
- Never without consent: a one-time credit is reserved (conditional UPDATE) before the send,
  kept when WeChat answers 0 and given back otherwise; 43101 zeroes the ledger.
- Never lost: transient errors (-1, 5xx, timeouts) put the row back to `pending` with a backoff
  and a delayed retry job; the sweeper re-enqueues pending rows whose job is gone.
- At most one send at a time per openid; one keep-alive HTTP session per job.
Retry policy by WeChat error: see `_outcome`.

Throughput: the sender threads take work from a queue and put answers on another, so they keep
sending while the job's main thread claims the next rows or records outcomes (claim and record
are a few set-based statements per chunk, whatever its size).
"""
from __future__ import annotations

import json
import logging
import queue
import time
import uuid
from collections import defaultdict, deque
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Integer, String, case, exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from app.domain import clock
from app.domain.messaging import consent, send_starts, templates
from app.domain.messaging import outbox as messaging
from app.domain.messaging.senders import NOT_STARTED, UNRECORDED, Item, Senders
from app.extensions import db
from app.models import Account, Binding, Retiree
from app.models.base import in_ids
from app.models.messaging import Campaign, Notification
from app.wechat import errors as wx
from app.wechat.client import get_client

log = logging.getLogger(__name__)

CLAIM_CHUNK_FACTOR = 2      # rows claimed ahead = concurrency x this (bounds the `unknown` window)
FLUSH_EVERY_ROWS = 100
FLUSH_EVERY_SECONDS = 0.5
QUOTA_REASON = "微信当日发送额度已用完（45009）"


def backoff_seconds(attempts: int) -> int:
    """Bounded exponential backoff after the `attempts`-th transient failure."""
    base = current_app.config["MESSAGING_RETRY_BASE_SECONDS"]
    return min(base * 3 ** max(attempts - 1, 0), current_app.config["MESSAGING_RETRY_MAX_SECONDS"])


# ---- the batch ---------------------------------------------------------------------------------

def send_batch(notification_ids: list[int]) -> dict[str, int]:
    """Send what this call can claim among `notification_ids`; commit as it goes.

    Returns counts per outcome. Re-raises the first unexpected error after recording everything
    else (its row is marked `unknown`: whether WeChat got it cannot be known).
    """
    batch = _Batch(list(notification_ids), get_client())
    return batch.run()


class _Batch:
    def __init__(self, ids: list[int], client) -> None:
        self.todo = deque(sorted(set(ids)))
        self.client = client
        self.concurrency = current_app.config["MESSAGING_SEND_CONCURRENCY"]
        self.counts: dict[str, int] = defaultdict(int)
        self.done: list[Item] = []
        self.waiting: dict[str, deque[Item]] = {}   # openid → items behind the one queued or in flight
        self.unsent: dict[int, Item] = {}           # claimed, not handed to a sender (or taken back)
        self.outstanding = 0                        # claimed and ready, answer not yet recorded
        self.stop_reason: str | None = None
        self.error: BaseException | None = None
        self.last_flush = time.monotonic()
        self.senders: Senders | None = None

    def run(self) -> dict[str, int]:
        session = self.client.new_session(pool_size=self.concurrency)
        self.senders = senders = Senders(self.client, session, self.concurrency)
        chunk = self.concurrency * CLAIM_CHUNK_FACTOR
        try:
            while True:
                if not self.stop_reason and self.todo and self.outstanding < chunk:
                    for item in self._claim_chunk(chunk):
                        self._queue(item)
                    continue
                if not self.outstanding:
                    break
                self._collect(timeout=FLUSH_EVERY_SECONDS)
                self._maybe_flush()
            if self.stop_reason:
                self._release_unsent()
                self._defer_unclaimed()
            self._flush(force=True)
        except BaseException:
            # Job timeout, database error…: rows whose send never started go back to pending;
            # answers already in are recorded; rows in flight stay `sending` (the sweeper marks
            # them `unknown`).
            self.stop_reason = self.stop_reason or "aborted"
            senders.halt.set()
            for item in senders.drain():
                self.unsent[item.id] = item
            self._collect(timeout=0)
            self._abort_cleanup()
            raise
        finally:
            senders.close()
            session.close()
        if self.error is not None:
            raise self.error
        return dict(self.counts)

    # -- claiming and planning --

    def _claim_chunk(self, size: int) -> list[Item]:
        chunk = [self.todo.popleft() for _ in range(min(size, len(self.todo)))]
        token, now = uuid.uuid4().hex, clock.now()
        n = Notification.__table__.c
        paused = select(Campaign.id).where(Campaign.status == "paused")
        claimed = db.session.scalars(
            update(Notification.__table__)
            .where(in_ids(n.id, chunk), n.status == "pending",
                   or_(n.next_attempt_at.is_(None), n.next_attempt_at <= now),
                   or_(n.campaign_id.is_(None), n.campaign_id.not_in(paused)))
            .values(status="sending", claim_token=token, claimed_at=now).returning(n.id)).all()
        # What planning needs in one read: the openid, the retiree's life status, whether the
        # binding is still active, whether the campaign was cancelled.
        bound = exists().where(Binding.account_id == n.account_id, Binding.retiree_id == n.retiree_id,
                               Binding.status == "active")
        cancelled = exists().where(Campaign.id == n.campaign_id, Campaign.status == "cancelled")
        rows = db.session.execute(
            select(n.id, n.account_id, n.retiree_id, n.campaign_id, n.template_key, n.data, n.link, n.attempts,
                   Account.openid, Retiree.life_status, bound.label("bound"), cancelled.label("campaign_cancelled"))
            .select_from(Notification.__table__).join(Account, Account.id == n.account_id)
            .outerjoin(Retiree, Retiree.id == n.retiree_id)
            .where(in_ids(n.id, claimed)).order_by(n.id)).all() if claimed else []
        self.counts["claimed"] += len(rows)
        ready = self._plan(rows, now)
        db.session.commit()  # claim and credit reservations are durable before anything is sent
        started_key = send_starts.open_claim(token) if ready else None
        for item in ready:
            item.started_key = started_key
        return ready

    def _plan(self, rows, now: datetime) -> list[Item]:
        """Settle what needs no WeChat call (cancelled, invalid data, no consent) and reserve
        credits, set-based: a handful of statements per chunk whatever its size."""
        finals: dict[tuple[str, str], list[int]] = defaultdict(list)
        candidates: list[tuple[Item, bool]] = []
        # A campaign's rows carry identical data: render each distinct (template, data) once.
        rendered: dict[tuple[str, str], tuple] = {}
        for r in rows:
            if r.campaign_cancelled or not messaging.may_still_receive(
                    r.template_key, r.retiree_id, r.life_status, bool(r.bound)):
                finals[("cancelled", "收件人已不可接收（绑定解除、去世或活动取消）")].append(r.id)
                continue
            key = (r.template_key, json.dumps(r.data or {}, sort_keys=True, ensure_ascii=False, default=str))
            if key not in rendered:
                try:
                    template = templates.get(r.template_key)
                    rendered[key] = (template, templates.render(template, r.data or {}), None)
                except (templates.UnknownTemplate, templates.InvalidTemplateData) as exc:
                    rendered[key] = (None, None, exc)
            template, data, error = rendered[key]
            if error is not None:
                log.warning("notification=%s invalid_data template=%s %s", r.id, r.template_key, error)
                finals[("invalid_data", str(error)[:300])].append(r.id)
                continue
            item = Item(id=r.id, account_id=r.account_id, retiree_id=r.retiree_id, campaign_id=r.campaign_id,
                        template_key=r.template_key, template_id=template.template_id, openid=r.openid, data=data,
                        page=templates.wechat_page(template, r.link), attempts=r.attempts)
            candidates.append((item, template.long_term))
        standing = consent.standing_consents({(i.account_id, i.template_id) for i, long in candidates if long})
        need_credit = [i for i, long in candidates if not (long and (i.account_id, i.template_id) in standing)]
        reserved = consent.reserve_many([(i.account_id, i.template_id) for i in need_credit])
        refused = []
        for item, ok in zip(need_credit, reserved, strict=True):
            item.reserved = ok
            if not ok:
                refused.append(item)
                finals[("no_consent", "无订阅授权")].append(item.id)
        for (status, error), ids in finals.items():
            self.counts[status] += len(ids)
            _update_ids(ids, status=status, error=error, updated_at=now)
        _update_ids([i.id for i in need_credit if i.reserved], credit_reserved=True)
        self._offline(refused, "no_consent")
        refused_ids = {i.id for i in refused}
        ready = [i for i, _ in candidates if i.id not in refused_ids]
        for item in ready:
            self.unsent[item.id] = item
        return ready

    def _offline(self, items: list[Item], reason: str) -> None:
        messaging.add_offline_contacts([
            {"retiree_id": i.retiree_id, "account_id": i.account_id, "notification_id": i.id,
             "campaign_id": i.campaign_id, "template_key": i.template_key, "source": f"notification:{i.id}"}
            for i in items], reason)

    # -- sending --

    def _queue(self, item: Item) -> None:
        self.outstanding += 1
        if item.openid in self.waiting:
            self.waiting[item.openid].append(item)   # one send at a time per openid
        else:
            self.waiting[item.openid] = deque()
            self._submit(item)

    def _submit(self, item: Item) -> None:
        if self.stop_reason:
            self.outstanding -= 1
            return  # stays in self.unsent; released at the end
        self.unsent.pop(item.id, None)
        self.senders.work.put(item)

    def _collect(self, timeout: float) -> None:
        """Record every answer that is in, waiting up to `timeout` for the first."""
        results = self.senders.results
        try:
            answer = results.get(timeout=timeout) if timeout > 0 else results.get_nowait()
            while True:
                self._answered(*answer)
                answer = results.get_nowait()
        except queue.Empty:
            return

    def _answered(self, item: Item, response, exc: BaseException | None) -> None:
        self.outstanding -= 1
        if response is NOT_STARTED:
            self.unsent[item.id] = item
        elif response is UNRECORDED:
            self._record(item, None, wx.WeChatUnavailable(None, "发送前无法记录开始（Redis 不可用），稍后重试"))
        else:
            self._record(item, response, exc)
        following = self.waiting.get(item.openid)
        if following:
            self._submit(following.popleft())
        else:
            self.waiting.pop(item.openid, None)

    def _record(self, item: Item, response, exc: BaseException | None) -> None:
        if exc is None:
            response = response or {}
            msgid = response.get("msgid") if isinstance(response, dict) else getattr(response, "msgid", None)
            item.outcome, item.values = "sent", {"msgid": str(msgid) if msgid else None}
        else:
            _outcome(item, exc)
            if item.outcome == "quota":
                self.stop_reason = "quota"
                self.senders.halt.set()
            elif item.outcome == "unknown" and self.error is None:
                self.error = exc
        self.done.append(item)

    # -- recording --

    def _maybe_flush(self) -> None:
        if len(self.done) >= FLUSH_EVERY_ROWS or time.monotonic() - self.last_flush >= FLUSH_EVERY_SECONDS:
            self._flush()

    def _flush(self, force: bool = False) -> None:
        self.last_flush = time.monotonic()
        if not self.done:
            if force:
                db.session.commit()
            return
        done, self.done = self.done, []
        now = clock.now()
        sent = [item for item in done if item.outcome == "sent"]
        self.counts["sent"] += len(sent)
        _mark_sent(sent, now)
        releases: dict[tuple[int, str], int] = defaultdict(int)
        quota_campaigns: set[int] = set()
        updates: list[dict] = []
        retry_groups: dict[int, list[int]] = defaultdict(list)
        for item in done:
            if item.outcome == "sent":
                continue
            values = dict(item.values, id=item.id, updated_at=now)
            if item.outcome in ("retry", "failed", "invalid_data", "quota", "released") and item.reserved:
                releases[(item.account_id, item.template_id)] += 1
                values["credit_reserved"] = False
            elif item.outcome == "no_consent":
                values["credit_reserved"] = False  # nothing was spent: the ledger is zeroed instead
            if item.outcome in ("quota", "released"):
                if item.campaign_id:
                    quota_campaigns.add(item.campaign_id)
                else:
                    values["next_attempt_at"] = messaging.next_midnight(now)
            elif item.outcome == "retry":
                retry_groups[item.delay].append(item.id)
            self.counts[item.outcome] += 1
            updates.append(values)
        _bulk_update(updates)
        consent.release_many(releases)
        consent.revoke_many({(i.account_id, i.template_id) for i in done if i.outcome == "no_consent"})
        self._offline([i for i in done if i.outcome == "no_consent"], "no_consent")
        self._offline([i for i in done if i.outcome == "failed"], "send_failed")
        if quota_campaigns:
            messaging.pause_campaigns(quota_campaigns, messaging.next_midnight(now), QUOTA_REASON)
        for delay, ids in retry_groups.items():
            messaging.enqueue_send(ids, delay=timedelta(seconds=delay))
        db.session.commit()

    def _release_unsent(self) -> None:
        for item in list(self.unsent.values()):
            if item is not None:
                item.outcome, item.values = "released", {"status": "pending"}
                self.done.append(item)
        self.unsent.clear()

    def _defer_unclaimed(self) -> None:
        """After 45009, the rest of this job's ids wait for tomorrow (campaign rows: the pause)."""
        ids = list(self.todo)
        self.todo.clear()
        if ids:
            db.session.execute(update(Notification).where(
                Notification.id.in_(ids), Notification.status == "pending", Notification.campaign_id.is_(None))
                .values(next_attempt_at=messaging.next_midnight(clock.now())).execution_options(synchronize_session=False))
            campaigns = set(db.session.scalars(select(Notification.campaign_id).where(
                Notification.id.in_(ids), Notification.campaign_id.is_not(None)).distinct()))
            if campaigns:
                messaging.pause_campaigns(campaigns, messaging.next_midnight(clock.now()), QUOTA_REASON)

    def _abort_cleanup(self) -> None:
        try:
            db.session.rollback()
            self._flush()
            ids, items = list(self.unsent), list(self.unsent.values())
            if ids:
                db.session.execute(update(Notification).where(
                    Notification.id.in_(ids), Notification.status == "sending")
                    .values(status="pending", credit_reserved=False).execution_options(synchronize_session=False))
                releases: dict[tuple[int, str], int] = defaultdict(int)
                for item in items:
                    if item.reserved:
                        releases[(item.account_id, item.template_id)] += 1
                consent.release_many(releases)
            db.session.commit()
        except Exception:  # noqa: BLE001 — best effort; the original error is what gets raised
            db.session.rollback()
            log.exception("cleanup after a failed send batch did not complete; the sweeper will finish it")


def _update_ids(ids: list[int], **values) -> None:
    if ids:
        t = Notification.__table__
        db.session.execute(update(t).where(in_ids(t.c.id, ids)).values(**values))


def _mark_sent(items: list[Item], now: datetime) -> None:
    """One UPDATE for every row WeChat accepted, with their msgids, not one per row."""
    if not items:
        return
    t = Notification.__table__
    ids = [item.id for item in items]
    msgids = [item.values.get("msgid") for item in items]
    done = {"status": "sent", "sent_at": now, "errcode": 0, "error": None, "updated_at": now}
    if db.session.get_bind().dialect.name == "postgresql":
        # UPDATE … FROM unnest(:ids, :msgids): two array parameters, one query text for any count.
        pairs = func.unnest(literal(ids, ARRAY(Integer)), literal(msgids, ARRAY(String))) \
            .table_valued("id", "msgid").render_derived()
        statement = update(t).where(t.c.id == pairs.c.id).values(msgid=pairs.c.msgid, **done)
    else:
        by_id = {i: m for i, m in zip(ids, msgids, strict=True) if m}
        msgid = case(by_id, value=t.c.id, else_=None).cast(String) if by_id else None
        statement = update(t).where(t.c.id.in_(ids)).values(msgid=msgid, **done)
    db.session.execute(statement)


def _bulk_update(updates: list[dict]) -> None:
    """UPDATE notification rows by id, one executemany per set of columns (the ORM groups only
    consecutive rows with the same keys, so sort first)."""
    if updates:
        updates.sort(key=lambda values: tuple(sorted(values)))
        db.session.execute(update(Notification), updates)


def _outcome(item: Item, exc: BaseException) -> None:
    """Map a send error to the row's next state (the retry policy)."""
    errcode = getattr(exc, "errcode", None)
    errmsg = str(getattr(exc, "errmsg", None) or exc)[:300]
    values: dict = {"errcode": errcode, "error": errmsg}
    if isinstance(exc, wx.WeChatUnavailable):
        attempts = item.attempts + 1
        values["attempts"] = attempts
        if attempts >= current_app.config["MESSAGING_MAX_ATTEMPTS"]:
            item.outcome, values["status"] = "failed", "failed"
        else:
            delay = backoff_seconds(attempts)
            item.outcome, item.delay = "retry", delay
            values.update(status="pending", next_attempt_at=clock.now() + timedelta(seconds=delay))
    elif isinstance(exc, wx.WeChatNoConsent):
        item.outcome, values["status"] = "no_consent", "no_consent"
    elif isinstance(exc, wx.WeChatInvalidData):
        log.error("notification=%s invalid_data errcode=%s template=%s errmsg=%s", item.id, errcode,
                  item.template_key, errmsg)
        item.outcome, values["status"] = "invalid_data", "invalid_data"
    elif isinstance(exc, wx.WeChatQuotaExceeded):
        item.outcome, values["status"] = "quota", "pending"
    elif isinstance(exc, wx.WeChatError):
        # Token still invalid after the client's own refresh-and-retry, or another WeChat refusal.
        item.outcome, values["status"] = "failed", "failed"
    else:
        log.error("notification=%s unexpected send error %r; marked unknown", item.id, exc)
        item.outcome, values["status"] = "unknown", "unknown"
        values["error"] = f"unexpected: {exc!r}"[:300]
    item.values = values
