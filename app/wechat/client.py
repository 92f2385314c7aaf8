"""The one place that talks to WeChat: wechatpy 1.8.18 with its traps closed.

`get_client()` gives the app's client; its public methods are `code_to_session`,
`send_subscribe_message`, `get_phone_number` and `access_token`. Failures are the typed errors of
`app/wechat/errors.py`. Other wechatpy APIs are reachable through `client.wechatpy` (same fixes).

wechatpy traps and what this module does about them:

1. `BaseWeChatClient._request` adds `access_token` to every call, so `wxa.code_to_session` fetched
   a token it does not need → `_request` here adds a token only to endpoints that take one
   (not `sns/*`, not the token endpoints themselves).
2. URLs are hard-coded (`cgi-bin/token` in `fetch_access_token`, `WeChatWxa.API_BASE_URL`) →
   every URL, relative or absolute on `*.weixin.qq.com`, is rebuilt on `WECHAT_API_BASE`.
3. `auto_retry` recurses without limit on a persistent 40001 → `auto_retry=False`; on
   40001/40014/42001 `_request` refreshes the token once (relative to the refused token) and retries
   once; a second refusal raises `WeChatTokenInvalid`.
4. `expires_at` in process memory and no lock → every process refreshes at once → the token lives
   in Redis (`token.TokenCache`), refreshed by one process under a lock, read by all.
5. No `stable_token` → tokens come from `POST cgi-bin/stable_token` (force_refresh only when WeChat
   hands back the very token it refused, or when asked explicitly).
6. No phone-number API → `get_phone_number` (`wxa/business/getuserphonenumber`).
7. `timeout=None` by default and no timeout at all on the token fetch → every request carries
   `WECHAT_TIMEOUT`.
8. Transport failures escape as bare `requests` exceptions and HTTP errors lose their status →
   timeouts, connection errors and 5xx become `WeChatUnavailable` (with a `retry_after` hint).
9. One `requests.Session` shared by all threads and inherited across fork → one session per thread
   and process, or the caller's own session (a batch reusing one keep-alive pool).
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from typing import Any

import requests
from flask import Flask, current_app
from requests.adapters import HTTPAdapter
from wechatpy.client import WeChatClient as WechatpyClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.utils import json

from app.wechat.errors import TOKEN_ERRCODES, WeChatError, WeChatTokenInvalid, WeChatUnavailable, error_for
from app.wechat.token import TokenCache

_OFFICIAL = re.compile(r"^https?://[a-z0-9.]*weixin\.qq\.com/")
_TOKENLESS = re.compile(r"^(sns/|cgi-bin/token$|cgi-bin/stable_token$)")


class _Wechatpy(WechatpyClient):
    """wechatpy's client whose requests, tokens and errors are routed through `WeChatClient`."""

    def __init__(self, owner: WeChatClient, appid: str, secret: str) -> None:
        super().__init__(appid, secret, timeout=owner.timeout, auto_retry=False)
        self._owner = owner
        self.API_BASE_URL = owner.api_base + "cgi-bin/"

    @property
    def access_token(self) -> str:  # type: ignore[override]
        return self._owner.access_token()

    def fetch_access_token(self) -> dict:
        return {"access_token": self._owner.access_token(force_refresh=True)}

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        base = kwargs.pop("api_base_url", None) or self.API_BASE_URL
        url = url_or_endpoint if url_or_endpoint.startswith(("http://", "https://")) else base + url_or_endpoint
        url = _OFFICIAL.sub(self._owner.api_base, url)
        path = url[len(self._owner.api_base):] if url.startswith(self._owner.api_base) else url
        http: requests.Session = kwargs.pop("http", None) or self._owner.http()
        result_processor = kwargs.pop("result_processor", None)
        params = dict(kwargs.pop("params", None) or {})
        if isinstance(kwargs.get("data"), dict):
            kwargs["data"] = json.dumps(kwargs["data"], ensure_ascii=False).encode("utf-8")
            kwargs.setdefault("headers", {"Content-Type": "application/json"})
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        needs_token = "access_token" not in params and not _TOKENLESS.match(path)

        token = self._owner.access_token() if needs_token else None
        for attempt in (1, 2):
            if needs_token:
                params["access_token"] = token
            response = self._send(http, method, url, params, kwargs)
            try:
                return self._handle_result(response, method, url, result_processor)
            except WeChatClientException as exc:
                errcode = exc.errcode
                if needs_token and errcode in TOKEN_ERRCODES and attempt == 1:
                    token = self._owner.refresh_token(stale=token)
                    continue
                if needs_token and errcode in TOKEN_ERRCODES:
                    raise WeChatTokenInvalid(errcode, exc.errmsg, request=response.request,
                                             response=response) from exc
                raise error_for(errcode, exc.errmsg, request=response.request, response=response) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, http: requests.Session, method: str, url: str, params: dict, kwargs: dict):
        try:
            response = http.request(method=method, url=url, params=params, **kwargs)
        except requests.Timeout as exc:
            raise WeChatUnavailable(None, f"WeChat did not answer within {kwargs['timeout']}s ({url})",
                                    retry_after=5.0) from exc
        except requests.RequestException as exc:
            raise WeChatUnavailable(None, f"WeChat unreachable: {exc.__class__.__name__} ({url})",
                                    retry_after=5.0) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise WeChatUnavailable(None, f"WeChat answered HTTP {response.status_code}",
                                    retry_after=_retry_after(response), request=response.request,
                                    response=response)
        if response.status_code >= 400:
            raise WeChatError(None, f"WeChat answered HTTP {response.status_code}", request=response.request,
                              response=response)
        return response


def _retry_after(response: requests.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return 2.0


def _json_result(result: Any, what: str) -> dict:
    if not isinstance(result, dict):
        raise WeChatUnavailable(None, f"{what}: WeChat answered something that is not JSON")
    return result


class WeChatClient:
    """A WeChat mini-program client for one appid, safe to share between threads."""

    def __init__(self, *, appid: str, secret: str, api_base: str, timeout: float, redis_client,
                 miniprogram_state: str | None = None, lang: str = "zh_CN",
                 key_prefix: str = "tuiguan:wechat", ca_bundle: str | None = None) -> None:
        self.appid = appid
        self.ca_bundle = ca_bundle
        self.api_base = api_base if api_base.endswith("/") else api_base + "/"
        self.timeout = float(timeout)
        self.miniprogram_state = miniprogram_state
        self.lang = lang
        self._local = threading.local()
        self._pid = os.getpid()
        self._wx = _Wechatpy(self, appid, secret)
        base_hash = hashlib.sha256(self.api_base.encode()).hexdigest()[:8]
        self._tokens = TokenCache(
            redis_client, f"{key_prefix}:{appid}:{base_hash}:access_token", self._fetch_token,
            wait=2 * self.timeout + 2, lock_ttl=2 * self.timeout + 5,
        )

    @classmethod
    def from_app(cls, app: Flask) -> WeChatClient:
        from app.extensions import redis_store

        with app.app_context():
            redis_client = redis_store.client
        return cls(appid=app.config["WECHAT_APPID"], secret=app.config["WECHAT_SECRET"],
                   api_base=app.config["WECHAT_API_BASE"], timeout=app.config["WECHAT_TIMEOUT"],
                   redis_client=redis_client, miniprogram_state=app.config["WECHAT_MINIPROGRAM_STATE"],
                   ca_bundle=app.config["WECHAT_CA_BUNDLE"])

    @property
    def wechatpy(self) -> WechatpyClient:
        """The underlying wechatpy client, for APIs not wrapped here (same URL, token and error rules)."""
        return self._wx

    def http(self) -> requests.Session:
        """This thread's keep-alive session (a new one after fork: sockets must not be shared)."""
        if self._pid != os.getpid():
            self._local, self._pid = threading.local(), os.getpid()
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self.new_session(pool_size=4)
        return session

    def new_session(self, pool_size: int = 10) -> requests.Session:
        """A keep-alive session for WeChat calls, e.g. one per send batch shared by its threads.

        Proxies come from the environment once, here, through requests' own rules (HTTPS_PROXY,
        NO_PROXY): requests otherwise scans the process environment twice per request, about a
        third of its CPU time per call. The CA bundle is the WECHAT_CA_BUNDLE setting (unset:
        certifi's bundle).
        """
        session = requests.Session()
        session.trust_env = False
        session.proxies.update(requests.utils.get_environ_proxies(self.api_base))
        if self.ca_bundle:
            session.verify = self.ca_bundle
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    # ---- access token ---------------------------------------------------------------------

    def access_token(self, force_refresh: bool = False) -> str:
        """The shared access token; `force_refresh` asks WeChat for a new one (use sparingly)."""
        if force_refresh:
            return self._tokens.refresh(force=True)
        return self._tokens.get()

    def refresh_token(self, stale: str | None) -> str:
        """A token other than `stale` (the one WeChat just refused); one process fetches it."""
        return self._tokens.refresh(stale=stale)

    def _fetch_token(self, force: bool) -> tuple[str, int]:
        result = _json_result(self._wx.post("cgi-bin/stable_token", data={
            "grant_type": "client_credential", "appid": self.appid, "secret": self._wx.secret,
            "force_refresh": force,
        }, api_base_url=self.api_base), "stable_token")
        if not result.get("access_token"):
            raise WeChatUnavailable(None, "stable_token answered without access_token")
        return result["access_token"], int(result.get("expires_in") or 7200)

    # ---- the calls the project makes -------------------------------------------------------

    def code_to_session(self, code: str) -> dict:
        """Exchange a `wx.login` code: {"openid", "session_key", "unionid" (or None)}. No access token used."""
        result = _json_result(self._wx.wxa.code_to_session(code), "jscode2session")
        if not result.get("openid"):
            raise WeChatError(None, "jscode2session answered without openid")
        return {"openid": result["openid"], "session_key": result.get("session_key"),
                "unionid": result.get("unionid")}

    def send_subscribe_message(self, openid: str, template_id: str, data: dict, page: str | None = None, *,
                               session: requests.Session | None = None, timeout: float | None = None) -> dict:
        """Send one subscribe message; `data` in WeChat's shape {"thing1": {"value": "…"}}.

        Returns WeChat's answer ({"errcode": 0, "errmsg": "ok", "msgid": …}); raises the typed errors.
        `session` lets a batch reuse one keep-alive connection pool across its threads.
        """
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data, "lang": self.lang}
        if page:
            body["page"] = page
        if self.miniprogram_state:
            body["miniprogram_state"] = self.miniprogram_state
        return _json_result(self._wx.post("cgi-bin/message/subscribe/send", data=body, http=session,
                                          timeout=timeout, api_base_url=self.api_base), "subscribe send")

    def get_phone_number(self, code: str) -> dict:
        """Exchange a `getPhoneNumber` code for WeChat's `phone_info`.

        {"phoneNumber", "purePhoneNumber", "countryCode", "watermark": {"timestamp", "appid"}}
        """
        result = _json_result(self._wx.post("wxa/business/getuserphonenumber", data={"code": code},
                                            api_base_url=self.api_base), "getuserphonenumber")
        if not isinstance(result.get("phone_info"), dict):
            raise WeChatError(None, "getuserphonenumber answered without phone_info")
        return result["phone_info"]


_clients_lock = threading.Lock()


def get_client() -> WeChatClient:
    """The current app's WeChat client (one per app and WeChat configuration; thread-safe)."""
    app = current_app._get_current_object()
    config = app.config
    signature = (config["WECHAT_API_BASE"], config["WECHAT_APPID"], config["WECHAT_SECRET"],
                 float(config["WECHAT_TIMEOUT"]), config["WECHAT_MINIPROGRAM_STATE"], config["WECHAT_CA_BUNDLE"])
    cached = app.extensions.get("tuiguan_wechat_client")
    if cached is None or cached[0] != signature:
        with _clients_lock:
            cached = app.extensions.get("tuiguan_wechat_client")
            if cached is None or cached[0] != signature:
                cached = (signature, WeChatClient.from_app(app))
                app.extensions["tuiguan_wechat_client"] = cached
    return cached[1]
