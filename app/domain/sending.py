"""Sending the outbox: one batch job claims its rows, sends them concurrently, records outcomes.

Guarantees, and how:
- Never twice: a row is sent only by the job whose conditional UPDATE moved it `pending` →
  `sending`. A row left in `sending` (worker killed, job timed out) is never re-sent: the
  sweeper marks it `unknown`, because WeChat has no idempotency key and the send may have
  arrived. To keep that window small a job claims its ids ~4 x its thread count at a time, as
  its thread pool drains, and records outcomes every ~0.5 s or 100 rows.
- Never without consent: a one-time credit is reserved (conditional UPDATE) before the send,
  kept when WeChat answers 0 and given back otherwise; 43101 zeroes the ledger.
- Never lost: transient errors (-1, 5xx, timeouts) put the row back to `pending` with a backoff
  and a delayed retry job; the sweeper re-enqueues pending rows whose job is gone.
- At most one send at a time per openid; one keep-alive HTTP session per job.
Retry policy by WeChat error: see `_outcome`.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from app.domain import clock, consent, messaging, templates
from app.extensions import db
from app.models import Account, Binding, Retiree
from app.models.messaging import Campaign, Notification

log = logging.getLogger(__name__)

CLAIM_CHUNK_FACTOR = 4      # rows claimed ahead = concurrency x this (bounds the `unknown` window)
FLUSH_EVERY_ROWS = 100
FLUSH_EVERY_SECONDS = 0.5
QUOTA_REASON = "微信当日发送额度已用完（45009）"


@dataclass
class Item:
    """What a sender thread needs: plain values, no ORM object crosses a thread."""

    id: int
    account_id: int
    retiree_id: int | None
    campaign_id: int | None
    template_key: str
    template_id: str
    openid: str
    data: dict
    page: str
    attempts: int
    reserved: bool = False
    outcome: str = ""
    delay: int = 0
    values: dict = field(default_factory=dict)


def backoff_seconds(attempts: int) -> int:
    """Bounded exponential backoff after the `attempts`-th transient failure."""
    base = messaging.setting("MESSAGING_RETRY_BASE_SECONDS")
    return min(base * 3 ** max(attempts - 1, 0), messaging.setting("MESSAGING_RETRY_MAX_SECONDS"))


# ---- the batch ---------------------------------------------------------------------------------

def send_batch(notification_ids: list[int]) -> dict[str, int]:
    """Send what this call can claim among `notification_ids`; commit as it goes.

    Returns counts per outcome. Re-raises the first unexpected error after recording everything
    else (its row is marked `unknown`: whether WeChat got it cannot be known).
    """
    from app.wechat.client import get_client

    batch = _Batch(list(notification_ids), get_client())
    return batch.run()


class _Batch:
    def __init__(self, ids: list[int], client) -> None:
        self.todo = deque(sorted(set(ids)))
        self.client = client
        self.concurrency = messaging.setting("MESSAGING_SEND_CONCURRENCY")
        self.counts: dict[str, int] = defaultdict(int)
        self.done: list[Item] = []
        self.waiting: dict[str, deque[Item]] = defaultdict(deque)   # openid → items not yet started
        self.futures: dict[Future, Item] = {}
        self.unsent: dict[int, Item] = {}                            # claimed, send not started
        self.stop_reason: str | None = None
        self.error: BaseException | None = None
        self.last_flush = time.monotonic()

    def run(self) -> dict[str, int]:
        session = self.client.new_session(pool_size=self.concurrency)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="wx-send")
        try:
            while True:
                if not self.stop_reason and self.todo and len(self.unsent) + len(self.futures) < \
                        self.concurrency * CLAIM_CHUNK_FACTOR:
                    for item in self._claim_chunk():
                        self._queue(item, pool, session)
                    continue
                if not self.futures:
                    if self.todo and not self.stop_reason:
                        continue
                    break
                finished, _ = wait(list(self.futures), timeout=FLUSH_EVERY_SECONDS, return_when=FIRST_COMPLETED)
                for future in finished:
                    item = self.futures.pop(future)
                    self._record(item, future)
                    nxt = self.waiting[item.openid]
                    if nxt:
                        self._submit(nxt.popleft(), pool, session)
                    else:
                        del self.waiting[item.openid]
                self._maybe_flush()
            if self.stop_reason:
                self._release_unsent()
                self._defer_unclaimed()
            self._flush(force=True)
        except BaseException:
            # Job timeout, database error…: rows whose send never started go back to pending;
            # rows in flight stay `sending` and the sweeper marks them `unknown`.
            for future in list(self.futures):
                if future.cancel():
                    item = self.futures.pop(future)
                    self.unsent[item.id] = item
            self._abort_cleanup()
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            session.close()
        if self.error is not None:
            raise self.error
        return dict(self.counts)

    # -- claiming and planning --

    def _claim_chunk(self) -> list[Item]:
        size = self.concurrency * CLAIM_CHUNK_FACTOR
        chunk = [self.todo.popleft() for _ in range(min(size, len(self.todo)))]
        token, now = uuid.uuid4().hex, clock.now()
        paused = select(Campaign.id).where(Campaign.status == "paused")
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(chunk), Notification.status == "pending",
                   or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
                   or_(Notification.campaign_id.is_(None), Notification.campaign_id.not_in(paused)))
            .values(status="sending", claim_token=token, claimed_at=now)
            .execution_options(synchronize_session=False))
        rows = db.session.execute(
            select(Notification.id, Notification.account_id, Notification.retiree_id, Notification.campaign_id,
                   Notification.template_key, Notification.data, Notification.link, Notification.attempts,
                   Account.openid)
            .join(Account, Account.id == Notification.account_id).where(Notification.claim_token == token)).all()
        self.counts["claimed"] += len(rows)
        ready = self._plan(rows, now)
        db.session.commit()  # claim and credit reservations are durable before anything is sent
        return ready

    def _plan(self, rows, now: datetime) -> list[Item]:
        """Settle what needs no WeChat call (cancelled, invalid data, no consent) and reserve
        credits, set-based: a handful of statements per chunk whatever its size."""
        retiree_ids = {r.retiree_id for r in rows if r.retiree_id}
        retirees, bound = {}, defaultdict(set)
        if retiree_ids:
            retirees = {r.id: r for r in db.session.execute(
                select(Retiree.id, Retiree.life_status).where(Retiree.id.in_(retiree_ids)))}
            for account_id, retiree_id in db.session.execute(select(Binding.account_id, Binding.retiree_id).where(
                    Binding.retiree_id.in_(retiree_ids), Binding.status == "active")):
                bound[retiree_id].add(account_id)
        campaign_ids = {r.campaign_id for r in rows if r.campaign_id}
        cancelled_campaigns = set(db.session.scalars(select(Campaign.id).where(
            Campaign.id.in_(campaign_ids), Campaign.status == "cancelled"))) if campaign_ids else set()
        finals: dict[tuple[str, str], list[int]] = defaultdict(list)
        candidates: list[tuple[Item, bool]] = []
        # A campaign's rows carry identical data: render each distinct (template, data) once.
        rendered: dict[tuple[str, str], tuple] = {}
        for r in rows:
            if r.campaign_id in cancelled_campaigns or not messaging.may_still_receive(
                    r, retirees.get(r.retiree_id), bound.get(r.retiree_id, set())):
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

    def _queue(self, item: Item, pool, session) -> None:
        if item.openid in self.waiting:
            self.waiting[item.openid].append(item)   # one send at a time per openid
        else:
            self.waiting[item.openid] = deque()
            self._submit(item, pool, session)

    def _submit(self, item: Item, pool, session) -> None:
        if self.stop_reason:
            return  # stays in self.unsent; released at the end
        self.unsent.pop(item.id, None)
        self.futures[pool.submit(_send_one, self.client, session, item)] = item

    def _record(self, item: Item, future: Future) -> None:
        exc = future.exception()
        if exc is None:
            response = future.result() or {}
            msgid = response.get("msgid") if isinstance(response, dict) else getattr(response, "msgid", None)
            item.outcome, item.values = "sent", {"status": "sent", "sent_at": clock.now(), "errcode": 0,
                                                   "error": None, "msgid": str(msgid) if msgid else None}
        else:
            _outcome(item, exc)
            if item.outcome == "quota":
                self.stop_reason = "quota"
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
        releases: dict[tuple[int, str], int] = defaultdict(int)
        quota_campaigns: set[int] = set()
        updates: list[dict] = []
        retry_groups: dict[int, list[int]] = defaultdict(list)
        for item in done:
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


def sweep() -> dict[str, int]:
    """The periodic safety net (see app/domain/sweeper.py)."""
    from app.domain.sweeper import sweep as _sweep

    return _sweep()


def _update_ids(ids: list[int], **values) -> None:
    if ids:
        db.session.execute(update(Notification).where(Notification.id.in_(ids)).values(**values)
                           .execution_options(synchronize_session=False))


def _bulk_update(updates: list[dict]) -> None:
    """UPDATE notification rows by id, one executemany per set of columns (the ORM groups only
    consecutive rows with the same keys, so sort first)."""
    if updates:
        updates.sort(key=lambda values: tuple(sorted(values)))
        db.session.execute(update(Notification), updates)


def _send_one(client, session, item: Item):
    # No app context or database here: the client is thread-safe and takes plain values.
    return client.send_subscribe_message(item.openid, item.template_id, item.data, page=item.page,
                                         session=session)


def _outcome(item: Item, exc: BaseException) -> None:
    """Map a send error to the row's next state (the retry policy)."""
    from app.wechat import errors as wx

    errcode = getattr(exc, "errcode", None)
    errmsg = str(getattr(exc, "errmsg", None) or exc)[:300]
    values: dict = {"errcode": errcode, "error": errmsg}
    if isinstance(exc, wx.WeChatUnavailable):
        attempts = item.attempts + 1
        values["attempts"] = attempts
        if attempts >= messaging.setting("MESSAGING_MAX_ATTEMPTS"):
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
