"""Which claimed sends were started: the line between "never sent" and "may have arrived".

A batch job claims rows (`pending` → `sending`) some way ahead of sending them. If the job dies
(SIGKILL, lost machine), its rows stay `sending`. Those a sender had begun may have reached
WeChat, which has no idempotency key: they become `unknown` and are never sent again. Those no
sender had picked up are safe to send: they go back to `pending`, so nobody is forgotten.

To tell them apart, each claim (one `claim_token`) opens a set in Redis, and a sender thread adds
a row's id to it *before* its HTTP request. The sweeper reads the set of a stale claim:
- the set exists: ids not in it were never started → `pending` again (credit given back);
  ids in it → `unknown`;
- no set (Redis down or flushed, expired, never opened): every row → `unknown`, as before.
If the id cannot be recorded, the send does not happen (the row is retried later): a send
without its mark would be taken for never started and sent twice.
"""
from __future__ import annotations

import logging

import redis
from flask import current_app

from app.extensions import redis_store

log = logging.getLogger(__name__)

KEY = "tuiguan:send-starts:{}"
_OPEN = "0"   # the member that makes an empty set exist (ids start at 1)


def key_for(claim_token: str) -> str:
    return KEY.format(claim_token)


def open_claim(claim_token: str) -> str | None:
    """Open the claim's start set; its key, or None if Redis cannot be reached (the claim's rows
    are then sent unrecorded: after a crash they all count as `unknown`)."""
    key = key_for(claim_token)
    # Outlive the sweeper's stale threshold by far: an expired set only makes rows `unknown`.
    ttl = max(3600, 4 * current_app.config["MESSAGING_SENDING_STALE_SECONDS"])
    try:
        with redis_store.client.pipeline(transaction=False) as pipe:
            pipe.sadd(key, _OPEN)
            pipe.expire(key, ttl)
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("send starts not recorded for claim %s: %s", claim_token, exc)
        return None
    return key


def mark_started(client: redis.Redis, key: str, notification_id: int) -> bool:
    """Record that this row's send begins now (called by a sender thread). False: not recorded,
    so the send must not happen."""
    try:
        client.sadd(key, notification_id)
    except redis.RedisError:
        return False
    return True


def started_ids(claim_tokens: set[str]) -> dict[str, set[int] | None]:
    """Per claim token, the ids whose send began; None where that cannot be known."""
    tokens = sorted(claim_tokens)
    if not tokens:
        return {}
    try:
        with redis_store.client.pipeline(transaction=False) as pipe:
            for token in tokens:
                pipe.smembers(key_for(token))
            members = pipe.execute()
    except redis.RedisError as exc:
        log.warning("send starts unreadable (%s): stale claims become unknown", exc)
        return dict.fromkeys(tokens)
    result: dict[str, set[int] | None] = {}
    for token, values in zip(tokens, members, strict=True):
        ids = {int(v) for v in values}
        result[token] = ids - {int(_OPEN)} if int(_OPEN) in ids else None
    return result
