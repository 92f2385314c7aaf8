"""The production WeChat client against the sandbox over real HTTP."""
from __future__ import annotations

import pickle
import socket
import threading
import time

import pytest
import requests

from app.wechat import errors as wx
from app.wechat.client import WeChatClient, get_client

DATA = {"thing1": {"value": "重阳节活动报名成功"}, "date2": {"value": "2025年10月29日"}}


def _closed_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
    return sock


def test_code_to_session_needs_no_access_token(app, wechat_sandbox):
    session = get_client().code_to_session("ann.1")
    assert session["openid"] == "openid-ann"
    assert session["unionid"] == "unionid-ann"
    assert session["session_key"]
    assert wechat_sandbox.token_fetches() == 0
    assert "access_token" not in wechat_sandbox.received("jscode2session")[0]


def test_bad_and_used_codes(app, wechat_sandbox):
    client = get_client()
    with pytest.raises(wx.WeChatCodeInvalid) as bad:
        client.code_to_session("invalid-1")
    assert bad.value.errcode == 40029
    client.code_to_session("bob.1")
    with pytest.raises(wx.WeChatCodeInvalid) as used:
        client.code_to_session("bob.1")
    assert used.value.errcode == 40163


def test_wrong_secret_is_a_plain_wechat_error(restore_config):
    restore_config.config["WECHAT_SECRET"] = "wrong"
    with pytest.raises(wx.WeChatError) as exc:
        get_client().code_to_session("cid.1")
    assert exc.value.errcode == 40125
    assert not isinstance(exc.value, (wx.WeChatCodeInvalid, wx.WeChatUnavailable))


@pytest.fixture
def restore_config(app, wechat_sandbox):
    saved = {key: app.config[key] for key in ("WECHAT_API_BASE", "WECHAT_TIMEOUT", "WECHAT_SECRET")}
    yield app
    app.config.update(saved)


def test_wechat_unreachable_is_unavailable(restore_config):
    with _closed_port() as sock:
        restore_config.config["WECHAT_API_BASE"] = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        with pytest.raises(wx.WeChatUnavailable) as exc:
            get_client().code_to_session("dan.1")
        with pytest.raises(wx.WeChatUnavailable):
            get_client().send_subscribe_message("openid-dan", "TPL", DATA)  # the token fetch fails
    assert exc.value.errcode is None and exc.value.retry_after >= 1


def test_busy_and_http_5xx_are_unavailable(app, wechat_sandbox):
    client = get_client()
    wechat_sandbox.fail("jscode2session", -1)
    with pytest.raises(wx.WeChatUnavailable) as busy:
        client.code_to_session("eve.1")
    assert busy.value.errcode == -1 and busy.value.retry_after > 0
    wechat_sandbox.http_error("jscode2session", 502)
    with pytest.raises(wx.WeChatUnavailable) as bad_gateway:
        client.code_to_session("eve.2")
    assert "502" in bad_gateway.value.errmsg
    assert client.code_to_session("eve.3")["openid"] == "openid-eve"


def test_timeouts_are_honored(restore_config, wechat_sandbox):
    restore_config.config["WECHAT_TIMEOUT"] = 0.2
    wechat_sandbox.set_delay(1500, endpoint="jscode2session")
    started = time.monotonic()
    with pytest.raises(wx.WeChatUnavailable) as exc:
        get_client().code_to_session("fay.1")
    assert time.monotonic() - started < 1.0
    assert "0.2" in exc.value.errmsg


def test_send_and_phone_number(app, wechat_sandbox):
    client = get_client()
    answer = client.send_subscribe_message("openid-gus", "TPL-ACT", DATA, page="pages/activity/detail?id=1")
    assert answer["errcode"] == 0 and answer["msgid"]
    entry = wechat_sandbox.received("subscribe_send")[0]
    assert (entry["touser"], entry["template_id"], entry["page"], entry["data"]) == (
        "openid-gus", "TPL-ACT", "pages/activity/detail?id=1", DATA)
    phone = client.get_phone_number("phone-13912345678.1")
    assert phone["purePhoneNumber"] == "13912345678" and phone["countryCode"] == "86"
    with pytest.raises(wx.WeChatCodeInvalid):
        client.get_phone_number("invalid")
    assert wechat_sandbox.token_fetches() == 1  # both calls shared one token


def test_send_uses_the_callers_session(app, wechat_sandbox):
    class CountingSession(requests.Session):
        calls = 0

        def request(self, *args, **kwargs):
            CountingSession.calls += 1
            return super().request(*args, **kwargs)

    with CountingSession() as session:
        get_client().access_token()
        get_client().send_subscribe_message("openid-hal", "TPL", DATA, session=session)
        get_client().send_subscribe_message("openid-ida", "TPL", DATA, session=session)
    assert CountingSession.calls == 2
    assert wechat_sandbox.sent_count() == 2


@pytest.mark.parametrize("errcode, error", [
    (43101, wx.WeChatNoConsent),
    (45009, wx.WeChatQuotaExceeded),
    (47003, wx.WeChatInvalidData),
    (40003, wx.WeChatInvalidData),
    (40037, wx.WeChatInvalidData),
    (-1, wx.WeChatUnavailable),
    (45011, wx.WeChatUnavailable),
    (48001, wx.WeChatError),
])
def test_send_errcode_mapping(app, wechat_sandbox, errcode, error):
    wechat_sandbox.fail("subscribe_send", errcode, errmsg=f"injected {errcode}")
    with pytest.raises(error) as exc:
        get_client().send_subscribe_message("openid-jan", "TPL", DATA)
    assert exc.value.errcode == errcode and exc.value.errmsg == f"injected {errcode}"
    assert wechat_sandbox.stats()["endpoints"]["subscribe_send"]["requests"] == 1  # no retry in the client


def test_real_sandbox_rules_map_to_typed_errors(app, wechat_sandbox):
    client = get_client()
    with pytest.raises(wx.WeChatInvalidData) as too_long:
        client.send_subscribe_message("openid-kim", "TPL", {"thing1": {"value": "长" * 21}})
    assert "thing1" in too_long.value.errmsg
    wechat_sandbox.set_no_consent(openids=["openid-kim"])
    with pytest.raises(wx.WeChatNoConsent):
        client.send_subscribe_message("openid-kim", "TPL", DATA)
    wechat_sandbox.set_quota_exhausted()
    with pytest.raises(wx.WeChatQuotaExceeded):
        client.send_subscribe_message("openid-lee", "TPL", DATA)
    wechat_sandbox.set_quota_exhausted(False)
    wechat_sandbox.set_delay(800, endpoint="subscribe_send")
    with pytest.raises(wx.WeChatUnavailable):
        client.send_subscribe_message("openid-lee", "TPL", DATA, timeout=0.2)  # a per-call timeout


def test_invalid_token_refreshes_once_and_retries_once(app, wechat_sandbox):
    client = get_client()
    old = client.access_token()
    wechat_sandbox.invalidate_tokens()
    assert client.send_subscribe_message("openid-max", "TPL", DATA)["errcode"] == 0
    stats = wechat_sandbox.stats()
    assert stats["token_fetches"] == 2  # the first token, then exactly one refresh
    assert stats["endpoints"]["subscribe_send"] == {"requests": 2, "ok": 1, "errors": {"40001": 1}}
    assert client.access_token() != old


def test_expired_token_42001_is_refreshed_too(app, wechat_sandbox):
    client = get_client()
    client.access_token()
    wechat_sandbox.expire_tokens()
    assert client.send_subscribe_message("openid-ned", "TPL", DATA)["errcode"] == 0
    assert wechat_sandbox.stats()["endpoints"]["subscribe_send"]["errors"] == {"42001": 1}


def test_refused_token_that_wechat_still_hands_out_is_force_refreshed(app, wechat_sandbox):
    client = get_client()
    client.access_token()
    wechat_sandbox.fail("subscribe_send", 40001, times=1)
    assert client.send_subscribe_message("openid-oli", "TPL", DATA)["errcode"] == 0
    refreshes = wechat_sandbox.received("stable_token")[1:]
    assert [entry["force_refresh"] for entry in refreshes] == [False, True]
    assert wechat_sandbox.stats()["endpoints"]["subscribe_send"]["requests"] == 2


def test_persistent_40001_gives_up_after_one_retry(app, wechat_sandbox):
    wechat_sandbox.fail("subscribe_send", 40001, times=-1)
    with pytest.raises(wx.WeChatTokenInvalid) as exc:
        get_client().send_subscribe_message("openid-pia", "TPL", DATA)
    assert exc.value.errcode == 40001
    stats = wechat_sandbox.stats()
    assert stats["endpoints"]["subscribe_send"]["requests"] == 2
    assert stats["token_fetches"] <= 3  # first token + one refresh (stable, then forced)


def test_every_url_follows_wechat_api_base(app, wechat_sandbox):
    """Even wechatpy's own hard-coded URLs (wxa base, token fetch) land on the configured base."""
    wrapped = get_client().wechatpy
    assert wrapped.wxa.code_to_session("quin.1")["openid"] == "openid-quin"
    assert wrapped.fetch_access_token()["access_token"]
    assert wrapped.access_token == get_client().access_token()
    assert wechat_sandbox.stats()["endpoints"]["stable_token"]["requests"] == 1


def test_get_client_is_cached_per_app_and_config(restore_config):
    app = restore_config
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(_client_in(app))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in seen}) == 1
    app.config["WECHAT_TIMEOUT"] = 1.5
    rebuilt = get_client()
    assert rebuilt is not seen[0] and rebuilt.timeout == 1.5


def _client_in(app) -> WeChatClient:
    with app.app_context():
        return get_client()


def test_errors_pickle_with_their_hints():
    error = wx.error_for(-1, "system error")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 — our own bytes
    assert isinstance(copy, wx.WeChatUnavailable)
    assert (copy.errcode, copy.errmsg, copy.retry_after) == (-1, "system error", 1.0)
    assert isinstance(wx.error_for(None, "down"), wx.WeChatUnavailable)
    assert type(wx.error_for(40226, "risky user")) is wx.WeChatCodeInvalid
