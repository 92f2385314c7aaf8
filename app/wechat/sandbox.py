"""A WeChat look-alike HTTP server for tests, benchmarks and `make run`.

It speaks WeChat's paths, JSON shapes and errcodes (behaviour in `sandbox_endpoints.py`, state in `sandbox_state.py`):

- `GET  /sns/jscode2session` — code `<user>.<anything>` → openid `openid-<user>`, unionid
  `unionid-<user>`; each code works once (then 40163); codes starting with `invalid` → 40029;
  wrong appid → 40013, wrong secret → 40125.
- `GET  /cgi-bin/token`, `POST /cgi-bin/stable_token` → `{access_token, expires_in}` (counted).
- `POST /cgi-bin/message/subscribe/send` → `{errcode: 0, msgid}`; 40001/42001 bad token, 40003 bad
  openid, 40037 bad template, 47003 bad data (WeChat's field rules, `fields.py`), 43101 no consent,
  45009 quota, -1 busy.
- `POST /wxa/business/getuserphonenumber` — code `phone-<digits>.<anything>` → that number.

Control (also as methods on `SandboxServer`, and on `RemoteSandbox` for another process):
`POST /__sandbox__/control` with switches such as
`{"fail": {"endpoint": "subscribe_send", "errcode": -1, "times": 3}}`,
`{"http_status": {"endpoint": "token", "status": 502, "times": 1}}` (`times: -1` = until reset),
`{"delay_ms": 50}` or `{"delay_ms": {"subscribe_send": 50}}`, `{"invalidate_tokens": true}` (→ 40001),
`{"expire_tokens": true}` (→ 42001), `{"no_consent": ["openid-x"]}`, `{"no_consent_templates": [...]}`,
`{"quota_exhausted": true}`, `{"busy": true}`, `{"templates": {"TID": ["thing1", "date2"]}}`;
`GET /__sandbox__/control` shows them; `POST /__sandbox__/reset` forgets everything and restores
the start-up options (`--delay-ms`); `GET /__sandbox__/stats` (per-endpoint counts, `token_fetches`,
`accepted`, `duplicates` = distinct (touser, template_id, data) sent more than once,
`same_openid_overlaps` = sends that arrived while another to the same openid was in flight);
`GET /__sandbox__/log?endpoint=subscribe_send[&touser=&template_id=&limit=]`;
`GET /__sandbox__/sent?touser=&template_id=` → `{"count": n}`.

The server is a ThreadingHTTPServer speaking HTTP/1.1 with keep-alive (one thread per connection),
writing each response in one send with Nagle off, so 64 keep-alive clients at 50 ms per reply
are not limited by the server.
"""
from __future__ import annotations

import json
import logging
import socket
import socketserver
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import requests

from app.wechat.sandbox_endpoints import ENDPOINTS, Reply
from app.wechat.sandbox_state import SandboxState
from config.wechat import SANDBOX_APPID, SANDBOX_SECRET

logger = logging.getLogger(__name__)

# The sandbox's own identity when started without credentials: the development defaults of
# WECHAT_APPID / WECHAT_SECRET, so `make run` and tests need no configuration.
DEFAULT_APPID = SANDBOX_APPID
DEFAULT_SECRET = SANDBOX_SECRET


def _control(state: SandboxState, method: str, path: str, query: dict, body: bytes) -> Reply:
    action = path[len("/__sandbox__/"):]
    try:
        if action == "control" and method == "POST":
            settings = json.loads(body or b"{}")
            if not isinstance(settings, dict):
                raise ValueError("control body must be a JSON object")
            return Reply(200, {"ok": True, "switches": state.apply(settings)})
        if action == "control":
            return Reply(200, {"switches": state.switches()})
        if action == "reset" and method == "POST":
            state.reset()
            return Reply(200, {"ok": True})
        if action == "stats":
            return Reply(200, state.stats())
        if action == "log":
            limit = int(query["limit"]) if query.get("limit") else None
            items = state.received(query.get("endpoint", ""), query.get("touser"), query.get("template_id"), limit)
            return Reply(200, {"endpoint": query.get("endpoint"), "count": len(items), "items": items})
        if action == "sent":
            return Reply(200, {"count": state.sent_count(query.get("touser"), query.get("template_id"))})
    except (ValueError, TypeError, KeyError) as exc:
        return Reply(400, {"errcode": 400, "errmsg": str(exc)})
    return Reply(404, {"errcode": 404, "errmsg": f"unknown control {method} {path}"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True
    timeout = 300  # an idle keep-alive connection is closed after this; clients reconnect
    server_version = "WeChatSandbox/1.0"
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 — http.server's naming
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        path, _, qs = self.path.partition("?")
        query = dict(parse_qsl(qs, keep_blank_values=True))
        raw_length = self.headers.get("Content-Length") or "0"
        length = int(raw_length) if raw_length.isascii() and raw_length.isdecimal() else -1
        body = self.rfile.read(length) if length > 0 else b""
        state = self.server.state
        try:
            if length < 0:
                # Like WeChat's front end: a malformed request gets an answer, not a dropped connection.
                self.close_connection = True
                reply = Reply(400, {"errcode": 400, "errmsg": "bad Content-Length"})
            elif path.startswith("/__sandbox__/"):
                reply = _control(state, self.command, path, query, body)
            elif path in ENDPOINTS:
                reply = state.handle(ENDPOINTS[path], query, body)
            else:
                reply = Reply(404, {"errcode": 404, "errmsg": f"unknown path {path}"})
        except Exception:  # noqa: BLE001 — a sandbox bug must answer, not hang the client
            logger.exception("sandbox failed on %s", self.path)
            reply = Reply(500, {"errcode": -1, "errmsg": "sandbox internal error"})
        if isinstance(reply.body, str):
            data, ctype = reply.body.encode(), "text/html; charset=utf-8"
        else:
            data, ctype = json.dumps(reply.body, ensure_ascii=False).encode(), "application/json; charset=utf-8"
        try:
            phrase = HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = "Status"
        close = "Connection: close\r\n" if self.close_connection else ""
        head = (f"HTTP/1.1 {reply.status} {phrase}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(data)}\r\n{close}\r\n")
        # One write per response: headers and body in separate segments cost a round trip each.
        self.wfile.write(head.encode("latin-1") + data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — quiet: 100k lines help nobody
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: SandboxState) -> None:
        self.state = state
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:
        # A client that timed out and hung up is routine here (tests inject slow replies).
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        logger.exception("sandbox connection from %s failed", client_address)

    def get_request(self):
        conn, addr = super().get_request()
        with self._connections_lock:
            self._connections.add(conn)
        return conn, addr

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Cut open keep-alive connections so a stopped sandbox really stops answering."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SandboxServer:
    """The sandbox on `host:port` (0 = a free port); `start()` serves it from a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, appid: str | None = None,
                 secret: str | None = None, delay_ms: int = 0, log_limit: int = 20_000) -> None:
        self.state = SandboxState(
            appid or DEFAULT_APPID,
            secret or DEFAULT_SECRET,
            delay_ms=delay_ms, log_limit=log_limit,
        )
        self._server = _Server((host, port), self.state)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self._server.server_name}:{self._server.server_port}/"

    @property
    def port(self) -> int:
        return self._server.server_port

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="wechat-sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI command)."""
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.server_close()
            self._server.drop_connections()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        self._server.drop_connections()

    # ---- switches (the same as POST /__sandbox__/control) ---------------------------------

    def reset(self) -> None:
        self.state.reset()

    def control(self, settings: dict | None = None, **switches: Any) -> dict:
        return self.state.apply({**(settings or {}), **switches})

    def fail(self, endpoint: str, errcode: int, times: int = 1, errmsg: str | None = None,
             touser: str | None = None) -> None:
        """Answer `errcode` on the next `times` calls of `endpoint` (-1: until reset)."""
        self.control(fail={"endpoint": endpoint, "errcode": errcode, "times": times, "errmsg": errmsg,
                           "touser": touser})

    def http_error(self, endpoint: str, status: int, times: int = 1) -> None:
        self.control(http_status={"endpoint": endpoint, "status": status, "times": times})

    def set_delay(self, ms: int, endpoint: str | None = None) -> None:
        self.control(delay_ms={endpoint: ms} if endpoint else ms)

    def invalidate_tokens(self) -> None:
        self.control(invalidate_tokens=True)

    def expire_tokens(self) -> None:
        self.control(expire_tokens=True)

    def set_no_consent(self, openids=(), templates=()) -> None:
        self.control(no_consent=list(openids), no_consent_templates=list(templates))

    def set_quota_exhausted(self, exhausted: bool = True) -> None:
        self.control(quota_exhausted=exhausted)

    def set_busy(self, busy: bool = True) -> None:
        self.control(busy=busy)

    def set_templates(self, templates: dict[str, list[str]]) -> None:
        self.control(templates=templates)

    # ---- what it saw ---------------------------------------------------------------------

    def received(self, endpoint: str, touser: str | None = None, template_id: str | None = None) -> list[dict]:
        return self.state.received(endpoint, touser, template_id)

    def stats(self) -> dict:
        return self.state.stats()

    def token_fetches(self) -> int:
        return self.state.stats()["token_fetches"]

    def sent_count(self, touser: str | None = None, template_id: str | None = None) -> int:
        return self.state.sent_count(touser, template_id)


class RemoteSandbox:
    """The same switches and counters for a sandbox running in another process (over HTTP)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self._http = requests.Session()

    def _call(self, method: str, action: str, **kwargs: Any) -> dict:
        response = self._http.request(method, f"{self.base_url}__sandbox__/{action}", timeout=self.timeout,
                                      **kwargs)
        response.raise_for_status()
        return response.json()

    def control(self, settings: dict | None = None, **switches: Any) -> dict:
        return self._call("POST", "control", json={**(settings or {}), **switches})["switches"]

    def reset(self) -> None:
        self._call("POST", "reset")

    def stats(self) -> dict:
        return self._call("GET", "stats")

    def token_fetches(self) -> int:
        return self.stats()["token_fetches"]

    def received(self, endpoint: str, **filters: Any) -> list[dict]:
        return self._call("GET", "log", params={"endpoint": endpoint, **filters})["items"]

    def sent_count(self, touser: str | None = None, template_id: str | None = None) -> int:
        params = {key: value for key, value in (("touser", touser), ("template_id", template_id)) if value}
        return self._call("GET", "sent", params=params)["count"]
