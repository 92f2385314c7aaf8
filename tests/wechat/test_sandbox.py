"""The sandbox answers like WeChat over real HTTP, and its switches work by HTTP and by method."""
from __future__ import annotations

import threading
import time
from http.client import HTTPConnection

import pytest
import requests

from app.wechat.sandbox import DEFAULT_APPID, DEFAULT_SECRET, RemoteSandbox, SandboxServer

SEND = "cgi-bin/message/subscribe/send"


@pytest.fixture
def sandbox(wechat_sandbox):
    wechat_sandbox.reset()
    yield wechat_sandbox
    wechat_sandbox.reset()


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def _login(http, base, code, **overrides):
    params = {"appid": DEFAULT_APPID, "secret": DEFAULT_SECRET, "js_code": code,
              "grant_type": "authorization_code", **overrides}
    return http.get(base + "sns/jscode2session", params=params, timeout=5).json()


def _stable(http, base, force=False, **overrides):
    body = {"grant_type": "client_credential", "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET,
            "force_refresh": force, **overrides}
    return http.post(base + "cgi-bin/stable_token", json=body, timeout=5).json()


def _send(http, base, token, touser="openid-ann", template_id="TPL", data=None, **extra):
    body = {"touser": touser, "template_id": template_id,
            "data": data if data is not None else {"thing1": {"value": "春节快乐"}}, **extra}
    return http.post(base + SEND, params={"access_token": token}, json=body, timeout=5).json()


def test_jscode2session_maps_codes_and_refuses_reuse(sandbox, http):
    base = sandbox.base_url
    assert _login(http, base, "ann.1") == {"openid": "openid-ann", "session_key": _login(http, base, "ann.2")[
        "session_key"], "unionid": "unionid-ann"}
    assert _login(http, base, "ann.1")["errcode"] == 40163
    assert _login(http, base, "invalid-code")["errcode"] == 40029
    assert _login(http, base, "ann.3", appid="wx-other")["errcode"] == 40013
    assert _login(http, base, "ann.4", secret="wrong")["errcode"] == 40125
    assert _login(http, base, "ann.5", grant_type="client_credential")["errcode"] == 40002
    assert _login(http, base, "")["errcode"] == 41008
    assert [e["js_code"] for e in sandbox.received("jscode2session")][:3] == ["ann.1", "ann.2", "ann.1"]


def test_tokens_stable_token_and_counting(sandbox, http):
    base = sandbox.base_url
    first = _stable(http, base)
    assert first["expires_in"] == 7200 and first["access_token"]
    assert _stable(http, base)["access_token"] == first["access_token"]  # stable mode: same token
    forced = _stable(http, base, force=True)["access_token"]
    assert forced != first["access_token"]
    assert _send(http, base, first["access_token"])["errcode"] == 40001  # force mode invalidates the old one
    assert _send(http, base, forced)["errcode"] == 0
    plain = http.get(base + "cgi-bin/token", params={"grant_type": "client_credential", "appid": DEFAULT_APPID,
                                                      "secret": DEFAULT_SECRET}, timeout=5).json()
    assert plain["expires_in"] == 7200
    assert _stable(http, base, secret="nope")["errcode"] == 40125
    assert sandbox.token_fetches() == 5


def test_subscribe_send_errcodes(sandbox, http):
    base = sandbox.base_url
    token = _stable(http, base)["access_token"]
    ok = _send(http, base, token)
    assert ok["errcode"] == 0 and ok["errmsg"] == "ok" and isinstance(ok["msgid"], int)
    assert _send(http, base, "")["errcode"] == 41001
    assert _send(http, base, "not-a-token")["errcode"] == 40001
    assert _send(http, base, token, touser="")["errcode"] == 40003
    assert _send(http, base, token, template_id="invalid-tpl")["errcode"] == 40037
    assert _send(http, base, token, page="invalid/page")["errcode"] == 41030
    assert _send(http, base, token, miniprogram_state="beta")["errcode"] == 47003
    too_long = _send(http, base, token, data={"thing1": {"value": "长" * 21}})
    assert too_long["errcode"] == 47003 and "data.thing1" in too_long["errmsg"]
    assert _send(http, base, token, data={"thing1": {"value": "长" * 20}})["errcode"] == 0
    assert _send(http, base, token, data={"mystery1": {"value": "x"}})["errcode"] == 47003
    assert _send(http, base, token, data={"phrase2": {"value": "配送中了吗啊"}})["errcode"] == 47003
    assert _send(http, base, token, data={"date3": {"value": "2025年1月29日"}})["errcode"] == 0

    sandbox.set_no_consent(openids=["openid-bob"], templates=["TPL-NO"])
    assert _send(http, base, token, touser="openid-bob")["errcode"] == 43101
    assert _send(http, base, token, template_id="TPL-NO")["errcode"] == 43101
    sandbox.set_templates({"TPL": ["thing1", "date2"]})
    assert _send(http, base, token, data={"thing3": {"value": "x"}})["errcode"] == 47003
    assert _send(http, base, token, template_id="OTHER")["errcode"] == 40037
    sandbox.set_quota_exhausted()
    assert _send(http, base, token)["errcode"] == 45009
    sandbox.set_quota_exhausted(False)
    sandbox.set_busy()
    assert _send(http, base, token)["errcode"] == -1
    sandbox.set_busy(False)
    assert _send(http, base, token)["errcode"] == 0

    stats = sandbox.stats()
    assert stats["accepted"] == 4
    assert stats["endpoints"]["subscribe_send"]["errors"]["47003"] == 5
    assert stats["endpoints"]["subscribe_send"]["errors"]["43101"] == 2


def test_expired_tokens_answer_42001(sandbox, http):
    base = sandbox.base_url
    token = _stable(http, base)["access_token"]
    sandbox.expire_tokens()
    assert _send(http, base, token)["errcode"] == 42001
    sandbox.control(token_expires_in=0)
    short = _stable(http, base)["access_token"]
    time.sleep(0.01)
    assert _send(http, base, short)["errcode"] == 42001


def test_phone_number(sandbox, http):
    base = sandbox.base_url
    token = _stable(http, base)["access_token"]
    url = base + "wxa/business/getuserphonenumber"
    answer = http.post(url, params={"access_token": token}, json={"code": "phone-13800138000.1"}, timeout=5).json()
    assert answer["errcode"] == 0
    assert answer["phone_info"]["purePhoneNumber"] == "13800138000"
    assert answer["phone_info"]["watermark"]["appid"] == DEFAULT_APPID
    again = http.post(url, params={"access_token": token}, json={"code": "phone-13800138000.1"}, timeout=5).json()
    assert again["errcode"] == 40163
    bad = http.post(url, params={"access_token": token}, json={"code": "invalid"}, timeout=5).json()
    assert bad["errcode"] == 40029


def test_control_endpoint_over_http(sandbox, http):
    remote = RemoteSandbox(sandbox.base_url)
    token = _stable(http, sandbox.base_url)["access_token"]
    switches = remote.control({"fail": {"endpoint": "subscribe_send", "errcode": -1, "times": 2},
                               "http_status": {"endpoint": "/sns/jscode2session", "status": 502}})
    assert switches["failures"][0]["errcode"] == -1
    assert [_send(http, sandbox.base_url, token)["errcode"] for _ in range(3)] == [-1, -1, 0]
    response = http.get(sandbox.base_url + "sns/jscode2session", params={"js_code": "x.1"}, timeout=5)
    assert response.status_code == 502
    assert _login(http, sandbox.base_url, "carl.1")["openid"] == "openid-carl"  # once only

    remote.control(delay_ms={"subscribe_send": 150})
    started = time.monotonic()
    assert _send(http, sandbox.base_url, token, touser="openid-dan")["errcode"] == 0
    assert time.monotonic() - started >= 0.15

    assert remote.sent_count() == 2
    assert remote.sent_count(touser="openid-dan", template_id="TPL") == 1
    log = remote.received("subscribe_send", touser="openid-dan")
    assert log[0]["data"] == {"thing1": {"value": "春节快乐"}} and log[0]["msgid"]
    assert remote.stats()["endpoints"]["jscode2session"]["errors"] == {"http_502": 1}

    bad = http.post(sandbox.base_url + "__sandbox__/control", json={"explode": True}, timeout=5)
    assert bad.status_code == 400 and "explode" in bad.json()["errmsg"]
    bad_endpoint = http.post(sandbox.base_url + "__sandbox__/control",
                             json={"fail": {"endpoint": "nope", "errcode": -1}}, timeout=5)
    assert bad_endpoint.status_code == 400

    remote.reset()
    assert remote.stats()["accepted"] == 0
    assert remote.control()["delay_ms"] == 0 and remote.control()["failures"] == []


def test_failure_until_reset_and_per_openid(sandbox, http):
    token = _stable(http, sandbox.base_url)["access_token"]
    sandbox.fail("subscribe_send", 43101, times=-1, touser="openid-eve")
    for _ in range(3):
        assert _send(http, sandbox.base_url, token, touser="openid-eve")["errcode"] == 43101
    assert _send(http, sandbox.base_url, token, touser="openid-fay")["errcode"] == 0
    sandbox.reset()
    token = _stable(http, sandbox.base_url)["access_token"]
    assert _send(http, sandbox.base_url, token, touser="openid-eve")["errcode"] == 0


def test_duplicates_and_same_openid_overlaps_are_counted(sandbox, http):
    token = _stable(http, sandbox.base_url)["access_token"]
    for _ in range(3):
        _send(http, sandbox.base_url, token, touser="openid-gus")
    _send(http, sandbox.base_url, token, touser="openid-gus", data={"thing1": {"value": "另一条"}})
    sandbox.set_delay(200, endpoint="subscribe_send")
    threads = [threading.Thread(target=_send, args=(requests.Session(), sandbox.base_url, token),
                                kwargs={"touser": "openid-hal", "data": {"thing1": {"value": str(i)}}})
               for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = sandbox.stats()
    assert stats["accepted"] == 6
    assert stats["duplicates"] == 1 and stats["duplicate_sends"] == 2
    assert stats["recipients"] == 2
    assert stats["same_openid_overlaps"] == 1
    assert sandbox.sent_count("openid-gus", "TPL") == 4


def test_keep_alive_serves_many_requests_on_one_connection(sandbox):
    host, port = sandbox.base_url.split("//")[1].rstrip("/").split(":")
    conn = HTTPConnection(host, int(port), timeout=5)
    for i in range(5):
        conn.request("GET", f"/sns/jscode2session?appid={DEFAULT_APPID}&secret={DEFAULT_SECRET}"
                            f"&grant_type=authorization_code&js_code=ka.{i}")
        response = conn.getresponse()
        assert response.getheader("Connection") is None  # not closing
        assert b"openid-ka" in response.read()
    assert conn.sock is not None  # still the same open socket
    conn.close()


def test_stop_cuts_keep_alive_connections_and_unknown_paths_are_404():
    server = SandboxServer().start()
    session = requests.Session()
    assert session.get(server.base_url + "nope", timeout=5).status_code == 404
    server.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(server.base_url + "sns/jscode2session", timeout=2)


def test_malformed_content_length_gets_an_answer_not_a_dropped_connection(sandbox):
    connection = HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    try:
        connection.putrequest("POST", "/cgi-bin/stable_token")
        connection.putheader("Content-Length", "lots")
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 400
        assert b"Content-Length" in response.read()
    finally:
        connection.close()
