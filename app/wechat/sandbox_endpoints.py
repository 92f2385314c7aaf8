"""How the WeChat sandbox answers each WeChat endpoint (mixed into `SandboxState`).

Endpoint names used by the switches, the log and the stats:
`jscode2session`, `token`, `stable_token`, `subscribe_send`, `getuserphonenumber`
(the WeChat paths are accepted too).
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from typing import Any, NamedTuple

from app.wechat.fields import check_data

ENDPOINTS = {
    "/sns/jscode2session": "jscode2session",
    "/cgi-bin/token": "token",
    "/cgi-bin/stable_token": "stable_token",
    "/cgi-bin/message/subscribe/send": "subscribe_send",
    "/wxa/business/getuserphonenumber": "getuserphonenumber",
}
NAMES = tuple(ENDPOINTS.values())
POST_BODY = {"stable_token", "subscribe_send", "getuserphonenumber"}

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41008: "missing code",
    41030: "invalid page",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    47001: "data format error",
    47003: "argument invalid!",
}
_MINIPROGRAM_STATES = (None, "developer", "trial", "formal")
_LANGS = (None, "zh_CN", "en_US", "zh_HK", "zh_TW")


class Reply(NamedTuple):
    status: int
    body: dict | str  # a dict is sent as JSON, a str as an HTML error page


def error(errcode: int, errmsg: str | None = None) -> Reply:
    return Reply(200, {"errcode": errcode, "errmsg": errmsg or ERRMSG.get(errcode, "error")})


def endpoint_name(name: str | None) -> str | None:
    """Normalise an endpoint given by name or WeChat path; None or "*" means every endpoint."""
    if name in (None, "", "*"):
        return None
    if name in NAMES:
        return name
    path = name if name.startswith("/") else "/" + name
    if path in ENDPOINTS:
        return ENDPOINTS[path]
    raise ValueError(f"unknown endpoint {name!r}; one of {', '.join(NAMES)}")


def session_key_for(user: str) -> str:
    """A stable fake session_key per user (base64 of 16 bytes, like WeChat's)."""
    return base64.b64encode(hashlib.sha256(f"session:{user}".encode()).digest()[:16]).decode()


class WeChatEndpoints:
    """The endpoint behaviours; the state they use (tokens, codes, switches) lives in `SandboxState`."""

    appid: str
    secret: str
    lock: threading.Lock
    tokens: dict[str, float]
    expired: set[str]
    stable: str | None
    token_expires_in: int
    used_codes: set[str]
    templates: dict[str, set[str]]
    no_consent: set[str]
    no_consent_templates: set[str]
    quota_exhausted: bool

    def _count_accepted(self, touser: str, template_id: str, digest: bytes) -> int:
        raise NotImplementedError  # SandboxState

    def _check_token(self, query: dict) -> Reply | None:
        token = query.get("access_token")
        if not token:
            return error(41001)
        with self.lock:
            if token in self.expired:
                return error(42001)
            expires_at = self.tokens.get(token)
        if expires_at is None:
            return error(40001)
        if time.monotonic() > expires_at:
            return error(42001)
        return None

    def _check_app(self, appid: Any, secret: Any, grant_type: Any, expected_grant: str) -> Reply | None:
        if appid != self.appid:
            return error(40013)
        if secret != self.secret:
            return error(40125)
        if grant_type != expected_grant:
            return error(40002)
        return None

    def _issue_token(self) -> Reply:
        # Caller holds the lock.
        token = f"sandbox-token-{secrets.token_hex(12)}"
        self.tokens[token] = time.monotonic() + self.token_expires_in
        self.stable = token
        return Reply(200, {"access_token": token, "expires_in": self.token_expires_in})

    def _do_jscode2session(self, query: dict, _payload: Any) -> Reply:
        bad = self._check_app(query.get("appid"), query.get("secret"), query.get("grant_type"),
                              "authorization_code")
        if bad:
            return bad
        code = query.get("js_code") or ""
        if not code:
            return error(41008)
        if code.startswith("invalid"):
            return error(40029)
        with self.lock:
            if code in self.used_codes:
                return error(40163)
            self.used_codes.add(code)
        user = code.split(".", 1)[0]
        return Reply(200, {"openid": f"openid-{user}", "session_key": session_key_for(user),
                           "unionid": f"unionid-{user}"})

    def _do_token(self, query: dict, _payload: Any) -> Reply:
        bad = self._check_app(query.get("appid"), query.get("secret"), query.get("grant_type"),
                              "client_credential")
        if bad:
            return bad
        with self.lock:
            return self._issue_token()

    def _do_stable_token(self, _query: dict, payload: Any) -> Reply:
        if payload is None:
            return error(44002)
        if not isinstance(payload, dict):
            return error(47001)
        bad = self._check_app(payload.get("appid"), payload.get("secret"), payload.get("grant_type"),
                              "client_credential")
        if bad:
            return bad
        with self.lock:
            current = self.stable
            left = self.tokens.get(current, 0) - time.monotonic() if current else 0
            if payload.get("force_refresh") is True:
                # Force mode invalidates the previous stable token at once, as WeChat documents.
                self.tokens.pop(current, None)
            elif left > 0:
                return Reply(200, {"access_token": current, "expires_in": int(left)})
            return self._issue_token()

    def _do_subscribe_send(self, query: dict, payload: Any) -> Reply:
        bad = self._check_token(query)
        if bad:
            return bad
        if payload is None:
            return error(44002)
        if not isinstance(payload, dict):
            return error(47001)
        if self.quota_exhausted:
            return error(45009)
        touser, template_id = payload.get("touser"), payload.get("template_id")
        if not isinstance(touser, str) or not touser or touser.startswith("invalid"):
            return error(40003)
        if (not isinstance(template_id, str) or not template_id or template_id.startswith("invalid")
                or (self.templates and template_id not in self.templates)):
            return error(40037)
        page = payload.get("page")
        if page is not None and (not isinstance(page, str) or page.startswith("invalid")):
            return error(41030)
        if payload.get("miniprogram_state") not in _MINIPROGRAM_STATES:
            return error(47003, "argument invalid! miniprogram_state invalid")
        if payload.get("lang") not in _LANGS:
            return error(47003, "argument invalid! lang invalid")
        problem = check_data(payload.get("data"), self.templates.get(template_id))
        if problem:
            return error(47003, f"argument invalid! data.{problem[0]}.value {problem[1]}")
        canonical = json.dumps([touser, template_id, payload["data"]], ensure_ascii=False, sort_keys=True)
        digest = hashlib.blake2b(canonical.encode(), digest_size=12).digest()
        with self.lock:
            if touser in self.no_consent or template_id in self.no_consent_templates:
                return error(43101)
            msgid = self._count_accepted(touser, template_id, digest)
        return Reply(200, {"errcode": 0, "errmsg": "ok", "msgid": msgid})

    def _do_getuserphonenumber(self, query: dict, payload: Any) -> Reply:
        bad = self._check_token(query)
        if bad:
            return bad
        if payload is None:
            return error(44002)
        code = payload.get("code") if isinstance(payload, dict) else None
        if not isinstance(code, str) or not code or code.startswith("invalid"):
            return error(40029)
        with self.lock:
            if f"phone:{code}" in self.used_codes:
                return error(40163)
            self.used_codes.add(f"phone:{code}")
        if code.startswith("phone-"):
            phone = code[len("phone-"):].split(".", 1)[0]
        else:
            phone = "139" + f"{int(hashlib.sha256(code.encode()).hexdigest(), 16) % 10**8:08d}"
        return Reply(200, {"errcode": 0, "errmsg": "ok", "phone_info": {
            "phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
            "watermark": {"timestamp": int(time.time()), "appid": self.appid}}})
