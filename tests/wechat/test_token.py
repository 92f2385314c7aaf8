"""The shared access token: one fetch for many threads and processes, bounded waits, clear failures."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.extensions import redis_store
from app.wechat import errors as wx
from app.wechat.client import WeChatClient, get_client
from app.wechat.token import MEMO_SECONDS

ROOT = Path(__file__).resolve().parents[2]
DATA = {"thing1": {"value": "认证提醒"}}


def _all_at_once(count: int, func):
    """Run func() in `count` threads released together; returns results (exceptions included)."""
    barrier = threading.Barrier(count)

    def run():
        barrier.wait()
        try:
            return func()
        except Exception as exc:  # noqa: BLE001 — the test inspects it
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: run(), range(count)))


def test_cold_cache_many_threads_one_fetch(app, wechat_sandbox):
    wechat_sandbox.set_delay(200, endpoint="stable_token")  # a slow fetch: everyone arrives during it
    client = get_client()
    tokens = _all_at_once(16, client.access_token)
    assert wechat_sandbox.token_fetches() == 1
    assert len(set(tokens)) == 1 and isinstance(tokens[0], str)


def test_token_lives_in_redis_with_a_ttl_shorter_than_wechats(app, wechat_sandbox):
    client = get_client()
    token = client.access_token()
    key = client._tokens.key
    stored = redis_store.client.get(key)
    assert (stored.decode() if isinstance(stored, bytes) else stored) == token
    assert 6000 < redis_store.client.ttl(key) <= 6900


def test_a_process_rereads_the_token_from_redis_only_after_the_memo_period(app, wechat_sandbox):
    client = get_client()
    token = client.access_token()
    redis_store.client.set(client._tokens.key, "rotated-by-another-process")
    assert client.access_token() == token  # no Redis round trip per send
    client._tokens._memo = (token, time.monotonic() - MEMO_SECONDS - 1)
    assert client.access_token() == "rotated-by-another-process"


def test_a_remembered_token_refused_by_wechat_is_replaced_from_redis(app, wechat_sandbox):
    client = get_client()
    remembered = client.access_token()
    wechat_sandbox.invalidate_tokens()
    other_process = WeChatClient.from_app(app)          # e.g. another worker refreshed meanwhile
    fresh = other_process.refresh_token(stale=remembered)
    assert fresh != remembered and wechat_sandbox.token_fetches() == 2
    assert client.send_subscribe_message("openid-memo", "TPL", DATA)["errcode"] == 0
    assert wechat_sandbox.token_fetches() == 2          # picked up from Redis, not fetched again
    assert client.access_token() == fresh


def test_many_threads_refused_at_once_refresh_once(app, wechat_sandbox):
    client = get_client()
    client.access_token()
    wechat_sandbox.invalidate_tokens()
    wechat_sandbox.set_delay(150, endpoint="stable_token")
    results = _all_at_once(12, lambda: client.send_subscribe_message(
        f"openid-{threading.get_ident()}", "TPL", DATA))
    assert all(isinstance(result, dict) and result["errcode"] == 0 for result in results), results
    assert wechat_sandbox.token_fetches() == 2  # the first token and one refresh for all twelve


def test_waiters_share_a_failed_refresh_then_the_next_caller_retries(app, wechat_sandbox):
    wechat_sandbox.set_delay(200, endpoint="stable_token")
    wechat_sandbox.fail("stable_token", -1, times=1)
    client = get_client()
    results = _all_at_once(8, client.access_token)
    assert all(isinstance(result, wx.WeChatUnavailable) for result in results), results
    assert wechat_sandbox.token_fetches() == 1
    assert client.access_token()  # a later call tries again and succeeds
    assert wechat_sandbox.token_fetches() == 2


def test_a_stuck_lock_delays_but_does_not_block(app, wechat_sandbox):
    client = get_client()
    redis_store.client.set(client._tokens.lock_key, "crashed-holder", px=300)
    started = time.monotonic()
    assert client.access_token()
    assert 0.25 < time.monotonic() - started < 3
    assert wechat_sandbox.token_fetches() == 1


def test_force_refresh_gets_a_new_token(app, wechat_sandbox):
    client = get_client()
    first = client.access_token()
    second = client.access_token(force_refresh=True)
    assert second != first
    assert wechat_sandbox.received("stable_token")[-1]["force_refresh"] is True
    assert client.access_token() == second


def test_redis_down_is_unavailable(wechat_sandbox):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2,
                       retry=Retry(NoBackoff(), 0))
    client = WeChatClient(appid="wx-sandbox-appid", secret="sandbox-secret", api_base=wechat_sandbox.base_url,
                          timeout=1, redis_client=dead)
    with pytest.raises(wx.WeChatUnavailable) as exc:
        client.access_token()
    assert "cache" in exc.value.errmsg
    assert client.code_to_session("rhea.1")["openid"] == "openid-rhea"  # login needs no token, so no Redis


CHILD = r"""
import sys, threading, time
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from app.wechat.client import WeChatClient
base, url, start_at, threads = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
client = WeChatClient(appid="wx-sandbox-appid", secret="sandbox-secret", api_base=base, timeout=5,
                      redis_client=redis.Redis.from_url(url))
tokens = []
def run():
    time.sleep(max(0.0, start_at - time.time()))
    tokens.append(client.access_token())
workers = [threading.Thread(target=run) for _ in range(threads)]
[w.start() for w in workers]
[w.join() for w in workers]
print(" ".join(tokens))
"""


@pytest.mark.slow
def test_cold_cache_many_processes_one_fetch(app, wechat_sandbox):
    url = app.config["REDIS_URL"]
    if url.startswith("memory://"):
        pytest.skip("needs a real Redis shared by processes (REDIS_URL=redis://…)")
    wechat_sandbox.set_delay(300, endpoint="stable_token")
    start_at = time.time() + 4  # after every child has imported its modules
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    children = [subprocess.Popen([sys.executable, "-c", CHILD, wechat_sandbox.base_url, url, str(start_at), "4"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
                for _ in range(4)]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        outputs.extend(out.split())
    assert len(outputs) == 16 and len(set(outputs)) == 1
    assert wechat_sandbox.token_fetches() == 1
