"""The consent ledger: how many subscribe messages each account allowed, per WeChat template.

Sources of consent:
- the mini-program reports the result object of `wx.requestSubscribeMessage` (`record_api_result`);
- WeChat pushes `subscribe_msg_popup_event` (the same dialog, seen by WeChat) and
  `subscribe_msg_change_event` (the user changed a setting) to /wechat/callback (`record_push_event`).

One dialog may thus be reported twice. Choice: both sources count, and an `api` accept is PAIRED
with a `popup` accept of the same account and template within CONSENT_PAIR_WINDOW_SECONDS (the
oldest unpaired one), whichever arrives first; a paired accept adds no second credit. So an accept
counts once when both sides report it, and still counts when only one side does (a phone that
lost its network, a push that never came). Push re-deliveries are dropped by their natural key
(openid, template, CreateTime, status). The credit row is locked while pairing, so two reports of
one accept arriving at the same moment cannot both credit.

Arithmetic: one-time template accept → +1 credit; reject / filter → no change; ban (the user
blocked the template) → 0; long-term template accept → standing consent on, reject/ban → off.
A change event `reject` turns the template off (0 credits, no standing consent). Spending is in
`reserve` / `release` (conditional UPDATEs: never negative, never spent twice), and WeChat's
43101 ("user refused") zeroes the ledger through `revoke`.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.domain import clock
from app.domain.messaging import templates
from app.domain.messaging.errors import InvalidSubscriptionResult
from app.extensions import db
from app.models import Account
from app.models.base import in_ids
from app.models.messaging import ConsentEvent, Notification, SubscriptionCredit

log = logging.getLogger(__name__)

ACCEPT_PREFIX = "accept"


def _credit_row(account_id: int, template_id: str, *, lock: bool = True) -> SubscriptionCredit:
    """The ledger row, created on first use (race-safe through the unique constraint)."""
    query = select(SubscriptionCredit).where(SubscriptionCredit.account_id == account_id,
                                             SubscriptionCredit.template_id == template_id)
    row = db.session.scalar(query)
    if row is None:
        try:
            with db.session.begin_nested():
                row = SubscriptionCredit(account_id=account_id, template_id=template_id, credits=0,
                                         long_term_active=False)
                db.session.add(row)
        except IntegrityError:
            row = None
    if lock:
        # Serializes pairing/crediting per account+template (PostgreSQL row lock; SQLite's
        # BEGIN IMMEDIATE already serializes writers).
        row = db.session.scalar(query.with_for_update().execution_options(populate_existing=True))
    elif row is None:
        row = db.session.scalar(query)
    return row


def _apply(account_id: int, template_id: str, status: str, source: str, occurred_at: datetime,
           event_key: str | None) -> ConsentEvent | None:
    """Record one consent report and update the ledger. None if it was a duplicate push."""
    if event_key is not None:
        if db.session.scalar(select(ConsentEvent.id).where(ConsentEvent.event_key == event_key)):
            return None
    credit = _credit_row(account_id, template_id)
    event = ConsentEvent(account_id=account_id, template_id=template_id, source=source, status=status,
                         event_key=event_key, occurred_at=occurred_at)
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        return None  # the same push, delivered twice at once
    long_term = templates.is_long_term(template_id)
    if status.startswith(ACCEPT_PREFIX) and source in ("api", "popup"):
        partner = _unpaired_partner(event)
        if partner is not None:
            partner.paired_with_id, event.paired_with_id = event.id, partner.id
        elif long_term:
            credit.long_term_active = True
            event.credited = True
        else:
            credit.credits += 1
            event.credited = True
    elif status.startswith(ACCEPT_PREFIX) and source == "change":
        if long_term:
            credit.long_term_active = True
    elif status == "ban" or source == "change" or (status == "reject" and long_term):
        credit.credits = 0
        credit.long_term_active = False
    db.session.flush()
    return event


def _unpaired_partner(event: ConsentEvent) -> ConsentEvent | None:
    other = "popup" if event.source == "api" else "api"
    window = timedelta(seconds=current_app.config["CONSENT_PAIR_WINDOW_SECONDS"])
    return db.session.scalar(select(ConsentEvent).where(
        ConsentEvent.account_id == event.account_id, ConsentEvent.template_id == event.template_id,
        ConsentEvent.source == other, ConsentEvent.status.like(ACCEPT_PREFIX + "%"),
        ConsentEvent.paired_with_id.is_(None),
        ConsentEvent.occurred_at >= event.occurred_at - window,
        ConsentEvent.occurred_at <= event.occurred_at + window,
    ).order_by(ConsentEvent.occurred_at, ConsentEvent.id).limit(1))


def ledger_view(account: Account) -> dict[str, Any]:
    """The account's ledger as `record_api_result` answers it (nothing ignored)."""
    return {"templates": ledger(account), "ignored": []}


def record_api_result(account: Account, result: dict[str, Any]) -> dict[str, Any]:
    """Apply a `wx.requestSubscribeMessage` result object reported by the mini-program.

    Keys other than `errMsg` are WeChat template ids; values "accept*", "reject", "ban", "filter"…
    Ids no template is configured with are ignored (and listed). Returns the account's ledger.
    """
    bad = {k: "应为文本" for k, v in result.items() if k != "errMsg" and not isinstance(v, str)}
    if bad:
        raise InvalidSubscriptionResult(fields=bad)
    now = clock.now()
    ignored = []
    for template_id, status in result.items():
        if template_id == "errMsg":
            continue
        if not templates.by_template_id(template_id):
            ignored.append(template_id)
            continue
        _apply(account.id, template_id, status.strip(), "api", now, None)
    return {"templates": ledger(account), "ignored": ignored}


def record_push_event(openid: str, event: str, items: list[dict[str, Any]], create_time: str | int | None) -> int:
    """Apply one WeChat push event (already signature-checked and parsed). Returns items applied.

    `items` are the event's `List` entries. Unknown openids and template ids are logged and
    skipped: WeChat must still get "success", or it re-delivers.
    """
    account = db.session.scalar(select(Account).where(Account.openid == openid))
    applied = 0
    try:
        at = datetime.fromtimestamp(int(create_time), UTC) if create_time else clock.now()
    except (TypeError, ValueError):
        at = clock.now()
    for item in items:
        template_id = str(item.get("TemplateId") or "")
        if event == "subscribe_msg_sent_event":
            applied += _record_delivery(item, account, at)
            continue
        if account is None or not templates.by_template_id(template_id):
            log.info("consent push ignored event=%s openid_known=%s template=%s", event, account is not None,
                     template_id)
            continue
        status = str(item.get("SubscribeStatusString") or "").strip()
        source = "popup" if event == "subscribe_msg_popup_event" else "change"
        key = f"{source}:{openid}:{template_id}:{create_time}:{status}"
        if _apply(account.id, template_id, status, source, at, key) is not None:
            applied += 1
    return applied


def _record_delivery(item: dict[str, Any], account: Account | None, at: datetime) -> int:
    """`subscribe_msg_sent_event`: WeChat's delivery report for a message it accepted.

    A report whose MsgID matches no row settles an `unknown` one (a send whose answer never came
    back: worker killed, timeout): WeChat did accept a message of this template for this user,
    so the oldest such row becomes `sent`. Never a reason to send again.
    """
    msgid = str(item.get("MsgID") or "")
    if not msgid:
        return 0
    status = str(item.get("ErrorStatus") or item.get("ErrorCode") or "")[:40]
    result = db.session.execute(update(Notification).where(Notification.msgid == msgid)
                                .values(delivery_status=status).execution_options(synchronize_session=False))
    if result.rowcount or account is None:
        return result.rowcount
    keys = [t.key for t in templates.by_template_id(str(item.get("TemplateId") or ""))]
    unknown = db.session.scalar(select(Notification.id).where(
        Notification.account_id == account.id, Notification.template_key.in_(keys),
        Notification.status == "unknown", Notification.msgid.is_(None)).order_by(Notification.id).limit(1)) \
        if keys else None
    if unknown is None:
        return 0
    return db.session.execute(update(Notification).where(Notification.id == unknown, Notification.status == "unknown")
                              .values(status="sent", msgid=msgid[:64], delivery_status=status, sent_at=at,
                                      error="微信推送了发送结果：已确认送达", updated_at=clock.now())
                              .execution_options(synchronize_session=False)).rowcount


def ledger(account: Account) -> list[dict[str, Any]]:
    """Every configured template with this account's credits and standing consent."""
    rows = {r.template_id: r for r in db.session.scalars(
        select(SubscriptionCredit).where(SubscriptionCredit.account_id == account.id))}
    out = []
    for template in templates.all_templates():
        row = rows.get(template.template_id)
        out.append({"template_key": template.key, "template_id": template.template_id, "title": template.title,
                    "long_term": template.long_term, "credits": row.credits if row else 0,
                    "long_term_active": bool(row and row.long_term_active)})
    return out


# ---- spending (the sender) ---------------------------------------------------------------------
# Set-based, so a batch of hundreds costs a few statements. Every spend is a conditional UPDATE
# (`credits > 0`): on PostgreSQL a concurrent spender waits for the row lock and re-checks the
# condition, on SQLite writers are serialized, so credits never go negative or get spent twice.

def standing_consents(pairs: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """The (account_id, template_id) pairs among `pairs` with standing (long-term) consent."""
    if not pairs:
        return set()
    rows = db.session.execute(select(SubscriptionCredit.account_id, SubscriptionCredit.template_id).where(
        in_ids(SubscriptionCredit.account_id, {a for a, _ in pairs}),
        SubscriptionCredit.template_id.in_({t for _, t in pairs}), SubscriptionCredit.long_term_active.is_(True)))
    return {(a, t) for a, t in rows} & pairs


def reserve_many(pairs: list[tuple[int, str]]) -> list[bool]:
    """Take one credit per entry of `pairs` (account_id, template_id); True where one was taken.

    An account appearing twice needs two credits: each round takes at most one per account and
    template, and only the pairs that won a round compete in the next.
    """
    result = [False] * len(pairs)
    remaining = list(range(len(pairs)))
    now = clock.now()
    while remaining:
        first: dict[tuple[int, str], int] = {}
        for index in remaining:
            first.setdefault(pairs[index], index)
        by_template: dict[str, list[int]] = defaultdict(list)
        for account_id, template_id in first:
            by_template[template_id].append(account_id)
        won: set[tuple[int, str]] = set()
        for template_id, account_ids in by_template.items():
            taken = db.session.scalars(
                update(SubscriptionCredit)
                .where(SubscriptionCredit.template_id == template_id,
                       in_ids(SubscriptionCredit.account_id, account_ids),
                       SubscriptionCredit.credits > 0)
                .values(credits=SubscriptionCredit.credits - 1, updated_at=now)
                .returning(SubscriptionCredit.account_id).execution_options(synchronize_session=False))
            won |= {(account_id, template_id) for account_id in taken}
        for pair, index in first.items():
            result[index] = pair in won
        chosen = set(first.values())
        remaining = [i for i in remaining if i not in chosen and pairs[i] in won]
    return result


def reserve(account_id: int, template_id: str) -> bool:
    """Take one credit if there is one."""
    return reserve_many([(account_id, template_id)])[0]


def release_many(counts: dict[tuple[int, str], int]) -> None:
    """Give back reserved credits of sends WeChat did not accept: {(account_id, template_id): n}."""
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for (account_id, template_id), count in counts.items():
        if count:
            groups[(template_id, count)].append(account_id)
    now = clock.now()
    for (template_id, count), account_ids in groups.items():
        db.session.execute(
            update(SubscriptionCredit)
            .where(SubscriptionCredit.template_id == template_id,
                   in_ids(SubscriptionCredit.account_id, account_ids))
            .values(credits=SubscriptionCredit.credits + count, updated_at=now)
            .execution_options(synchronize_session=False))


def release(account_id: int, template_id: str, count: int = 1) -> None:
    release_many({(account_id, template_id): count})


def revoke_many(pairs: set[tuple[int, str]]) -> None:
    """WeChat says these users have not consented (43101): ledger to zero, standing consent off."""
    groups: dict[str, list[int]] = defaultdict(list)
    for account_id, template_id in pairs:
        groups[template_id].append(account_id)
    now = clock.now()
    for template_id, account_ids in groups.items():
        db.session.execute(
            update(SubscriptionCredit)
            .where(SubscriptionCredit.template_id == template_id,
                   in_ids(SubscriptionCredit.account_id, account_ids))
            .values(credits=0, long_term_active=False, updated_at=now)
            .execution_options(synchronize_session=False))


def revoke(account_id: int, template_id: str) -> None:
    revoke_many({(account_id, template_id)})
