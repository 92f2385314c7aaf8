"""The access token, shared by every process through Redis and refreshed by one process at a time.

wechatpy keeps `expires_at` in each process's memory and refreshes without a lock, so N processes
refresh at once and each new token can invalidate the others'. Here the token lives in Redis with a
TTL a little shorter than WeChat's `expires_in`; whoever finds it missing (or refused) takes a Redis
lock (SET NX PX) and fetches; everyone else polls Redis until the new token appears. A refresh is
always relative to the token that was refused (`stale`), so when ten workers see the same 40001,
one fetches and nine pick up its result.
"""
from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable

import redis

from app.wechat.errors import WeChatError, WeChatUnavailable, error_for

# fetch(force_refresh) -> (access_token, expires_in)
Fetcher = Callable[[bool], tuple[str, int]]
_CACHED = object()  # refresh(): "replace whatever token is cached now"
MEMO_SECONDS = 10.0  # how long a process trusts the token it last read from Redis


class TokenCache:
    """One app's access token in Redis.

    `wait` bounds how long a caller waits for another process's refresh; `lock_ttl` outlives the
    slowest refresh (two calls of the client timeout), so a crashed holder cannot block for long.
    """

    def __init__(self, client: redis.Redis, key: str, fetch: Fetcher, *, wait: float, lock_ttl: float,
                 memo_seconds: float = MEMO_SECONDS) -> None:
        self.redis = client
        self.key = key
        self.lock_key = f"{key}:lock"
        self.failed_key = f"{key}:failed"
        self.fetch = fetch
        self.wait = wait
        self.lock_ttl_ms = int(lock_ttl * 1000)
        self.memo_seconds = memo_seconds
        self._memo: tuple[str, float] | None = None   # (token, when read): one tuple, swapped atomically

    def get(self) -> str:
        """The current token, fetched (by one process) when there is none.

        Read from Redis at most every `memo_seconds` per process: a batch sends hundreds of
        messages a second, and a Redis round trip per send was a tenth of its CPU. A token
        rotated meanwhile by another process is still accepted by WeChat for minutes (stable
        token); if it is refused, `refresh(stale=…)` picks up the new one at once.
        """
        memo = self._memo
        if memo is not None and time.monotonic() - memo[1] < self.memo_seconds:
            return memo[0]
        return self._remember(self._read() or self._refresh(None, False))

    def refresh(self, stale: str | None | object = _CACHED, force: bool = False) -> str:
        """A token other than `stale` (default: the cached one; None: any), fetching only if nobody else has.

        `force` asks WeChat for a brand-new token (stable_token force_refresh) instead of the
        current stable one.
        """
        return self._remember(self._refresh(stale, force))

    def _remember(self, token: str) -> str:
        self._memo = (token, time.monotonic())
        return token

    def _refresh(self, stale: str | None | object, force: bool) -> str:
        started = time.time()
        if stale is _CACHED:
            stale = self._read()
        deadline = time.monotonic() + self.wait
        pause = 0.01
        while True:
            current = self._read()
            if current and current != stale:
                return current
            self._raise_shared_failure(started)
            lock_id = self._lock()
            if lock_id:
                try:
                    current = self._read()
                    if current and current != stale:
                        return current
                    return self._fetch_and_store(stale, force)
                finally:
                    self._unlock(lock_id)
            if time.monotonic() > deadline:
                raise WeChatUnavailable(None, "timed out waiting for another process to refresh the access token",
                                        retry_after=2.0)
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def clear(self) -> None:
        self._memo = None
        self._redis_call(self.redis.delete, self.key)

    # ---- internals -----------------------------------------------------------------------

    def _fetch_and_store(self, stale: str | None, force: bool) -> str:
        try:
            token, expires_in = self.fetch(force)
            if token == stale and not force:
                # WeChat's stable token is still the one it just refused: ask for a new one.
                token, expires_in = self.fetch(True)
        except WeChatError as exc:
            # Callers waiting on this refresh share its failure instead of each retrying in turn.
            failure = json.dumps({"at": time.time(), "errcode": exc.errcode, "errmsg": exc.errmsg})
            self._redis_call(self.redis.set, self.failed_key, failure, px=30_000)
            raise
        # Expire our copy before WeChat does, so nobody sends a token in its last minutes.
        ttl = max(1, int(expires_in) - min(300, int(expires_in) // 10))
        self._redis_call(self.redis.set, self.key, token, ex=ttl)
        return token

    def _raise_shared_failure(self, started: float) -> None:
        raw = self._redis_call(self.redis.get, self.failed_key)
        if not raw:
            return
        failure = json.loads(raw)
        if failure["at"] >= started:
            raise error_for(failure["errcode"], failure["errmsg"])

    def _read(self) -> str | None:
        value = self._redis_call(self.redis.get, self.key)
        return value.decode() if isinstance(value, bytes) else value

    def _lock(self) -> str | None:
        lock_id = secrets.token_hex(8)
        acquired = self._redis_call(self.redis.set, self.lock_key, lock_id, nx=True, px=self.lock_ttl_ms)
        return lock_id if acquired else None

    def _unlock(self, lock_id: str) -> None:
        # Delete only our own lock (it may have expired and been taken by another process).
        try:
            with self.redis.pipeline() as pipe:
                pipe.watch(self.lock_key)
                value = pipe.get(self.lock_key)
                if (value.decode() if isinstance(value, bytes) else value) == lock_id:
                    pipe.multi()
                    pipe.delete(self.lock_key)
                    pipe.execute()
                else:
                    pipe.unwatch()
        except (redis.WatchError, redis.RedisError):
            pass  # the lock's TTL cleans up

    @staticmethod
    def _redis_call(func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except redis.RedisError as exc:
            raise WeChatUnavailable(None, f"access-token cache unavailable: {exc}", retry_after=5.0) from exc
