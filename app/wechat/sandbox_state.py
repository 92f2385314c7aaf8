"""What the WeChat sandbox knows: switches, tokens, codes, counters and a compact log.

`sandbox.py` serves it over HTTP; `sandbox_endpoints.py` holds how each WeChat endpoint answers.
The log keeps at most `log_limit` compact records per endpoint (older ones drop off), while the
counters (`stats()`, `sent_count()`) cover every request, so a 100,000-message run stays small in
memory and still shows duplicates.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from typing import Any

from app.wechat.sandbox_endpoints import NAMES, POST_BODY, Reply, WeChatEndpoints, endpoint_name, error

_BAD_JSON = object()


@dataclass
class Rule:
    """An injected failure: answer `errcode` (or HTTP `status`) for the next `times` calls (-1: until reset)."""

    endpoint: str | None
    times: int
    errcode: int | None = None
    errmsg: str | None = None
    status: int | None = None
    touser: str | None = None

    def reply(self) -> Reply:
        if self.status is not None:
            return Reply(self.status, f"<html><body><h1>{self.status}</h1>sandbox injected</body></html>")
        return error(self.errcode, self.errmsg)


class SandboxState(WeChatEndpoints):
    """All sandbox state behind one lock; `handle` answers one request."""

    def __init__(self, appid: str, secret: str, delay_ms: int = 0, log_limit: int = 20_000) -> None:
        self.appid = appid
        self.secret = secret
        self._initial = {"delay_ms": delay_ms, "log_limit": log_limit}
        self.lock = threading.Lock()
        self.generation = 0
        self.reset()

    def reset(self) -> None:
        """Forget everything; switches go back to the start-up options (delay, log limit)."""
        with self.lock:
            # Requests still in flight from before the reset must not leak into the fresh state.
            self.generation += 1
            self.delay_ms: int = self._initial["delay_ms"]
            self.endpoint_delay_ms: dict[str, int] = {}
            self.log_limit: int = self._initial["log_limit"]
            self.rules: list[Rule] = []
            self.busy = False
            self.quota_exhausted = False
            self.no_consent: set[str] = set()
            self.no_consent_templates: set[str] = set()
            self.templates: dict[str, set[str]] = {}
            self.token_expires_in = 7200
            self.used_codes: set[str] = set()
            self.tokens: dict[str, float] = {}  # valid token -> monotonic expiry
            self.expired: set[str] = set()
            self.stable: str | None = None
            self.msgid = 0
            self.requests: Counter[str] = Counter()
            self.ok: Counter[str] = Counter()
            self.errors: dict[str, Counter[str]] = defaultdict(Counter)
            self.logs: dict[str, deque] = {name: deque(maxlen=self.log_limit) for name in NAMES}
            self.accepted = 0
            self.by_recipient: Counter[str] = Counter()  # "touser\x1ftemplate_id" -> accepted sends
            self.by_digest: dict[bytes, int] = {}  # hash(touser, template_id, data) -> accepted sends
            self.duplicates = 0
            self.duplicate_sends = 0
            self.in_flight: Counter[str] = Counter()
            self.overlaps = 0

    # ---- switches ------------------------------------------------------------------------

    def apply(self, settings: dict[str, Any]) -> dict:
        """Apply control switches (the JSON of POST /__sandbox__/control); raises ValueError on bad input."""
        unknown = set(settings) - {
            "fail", "http_status", "delay_ms", "invalidate_tokens", "expire_tokens", "token_expires_in",
            "no_consent", "no_consent_templates", "quota_exhausted", "busy", "templates", "clear_failures",
            "log_limit",
        }
        if unknown:
            raise ValueError(f"unknown switches: {', '.join(sorted(unknown))}")
        rules = [self._rule(spec, "errcode") for spec in _as_list(settings.get("fail"))]
        rules += [self._rule(spec, "status") for spec in _as_list(settings.get("http_status"))]
        delay = settings.get("delay_ms")
        if isinstance(delay, dict):
            delay = {endpoint_name(name) or "*": int(ms or 0) for name, ms in delay.items()}
        with self.lock:
            if settings.get("clear_failures"):
                self.rules = []
            self.rules.extend(rules)
            if isinstance(delay, dict):
                self.endpoint_delay_ms.update(delay)
            elif delay is not None:
                self.delay_ms = int(delay)
            if settings.get("invalidate_tokens"):
                self.tokens.clear()
                self.stable = None
            if settings.get("expire_tokens"):
                self.expired.update(self.tokens)
                self.tokens.clear()
                self.stable = None
            if "token_expires_in" in settings:
                self.token_expires_in = int(settings["token_expires_in"])
            if "no_consent" in settings:
                self.no_consent = set(settings["no_consent"] or ())
            if "no_consent_templates" in settings:
                self.no_consent_templates = set(settings["no_consent_templates"] or ())
            if "quota_exhausted" in settings:
                self.quota_exhausted = bool(settings["quota_exhausted"])
            if "busy" in settings:
                self.busy = bool(settings["busy"])
            if "templates" in settings:
                self.templates = {tid: set(keys) for tid, keys in (settings["templates"] or {}).items()}
            if "log_limit" in settings:
                self.log_limit = int(settings["log_limit"])
                self.logs = {name: deque(log, maxlen=self.log_limit) for name, log in self.logs.items()}
        return self.switches()

    @staticmethod
    def _rule(spec: Any, kind: str) -> Rule:
        if not isinstance(spec, dict) or kind not in spec:
            raise ValueError(f"each failure needs an object with {kind!r}")
        rule = Rule(endpoint=endpoint_name(spec.get("endpoint")), times=int(spec.get("times", 1)),
                    errmsg=spec.get("errmsg"), touser=spec.get("touser"))
        setattr(rule, kind, int(spec[kind]))
        return rule

    def switches(self) -> dict:
        with self.lock:
            return {
                "delay_ms": self.delay_ms, "endpoint_delay_ms": dict(self.endpoint_delay_ms),
                "failures": [vars(rule).copy() for rule in self.rules], "busy": self.busy,
                "quota_exhausted": self.quota_exhausted, "no_consent": sorted(self.no_consent),
                "no_consent_templates": sorted(self.no_consent_templates),
                "templates": {tid: sorted(keys) for tid, keys in self.templates.items()},
                "token_expires_in": self.token_expires_in, "log_limit": self.log_limit,
            }

    def _take_rule(self, endpoint: str, touser: str | None) -> Reply | None:
        for rule in self.rules:
            if rule.endpoint not in (None, endpoint) or (rule.touser is not None and rule.touser != touser):
                continue
            if rule.times > 0:
                rule.times -= 1
                if rule.times == 0:
                    self.rules.remove(rule)
            return rule.reply()
        return error(-1) if self.busy else None

    # ---- requests ------------------------------------------------------------------------

    def handle(self, endpoint: str, query: dict[str, str], body: bytes) -> Reply:
        """Answer one request to a WeChat endpoint (delay and injected failures included)."""
        payload: Any = None
        if endpoint in POST_BODY and body:
            try:
                payload = json.loads(body)
            except ValueError:
                payload = _BAD_JSON
        touser = payload.get("touser") if endpoint == "subscribe_send" and isinstance(payload, dict) else None
        touser = touser if isinstance(touser, str) else None
        with self.lock:
            generation = self.generation
            self.requests[endpoint] += 1
            delay = self.endpoint_delay_ms.get(endpoint, self.endpoint_delay_ms.get("*", self.delay_ms))
            reply = self._take_rule(endpoint, touser)
            if touser:
                self.in_flight[touser] += 1
                if self.in_flight[touser] > 1:
                    self.overlaps += 1
        try:
            if delay > 0:
                time.sleep(delay / 1000)
            if generation != self.generation:
                return error(-1, "sandbox was reset during this request")
            if reply is None:
                reply = getattr(self, f"_do_{endpoint}")(query, payload)
        finally:
            if touser:
                with self.lock:
                    if generation == self.generation:
                        self.in_flight[touser] -= 1
                        if self.in_flight[touser] <= 0:
                            del self.in_flight[touser]
        self._record(endpoint, query, payload, reply, generation)
        return reply

    def _record(self, endpoint: str, query: dict, payload: Any, reply: Reply, generation: int) -> None:
        body = reply.body if isinstance(reply.body, dict) else {}
        errcode = body.get("errcode", 0) if reply.status == 200 else None
        entry: dict[str, Any] = {"at": round(time.time(), 3), "errcode": errcode}
        if reply.status != 200:
            entry["http_status"] = reply.status
        data = payload if isinstance(payload, dict) else {}
        if endpoint == "jscode2session":
            entry["js_code"] = query.get("js_code")
        elif endpoint in ("token", "stable_token"):
            entry["appid"] = query.get("appid") if endpoint == "token" else data.get("appid")
            entry["force_refresh"] = bool(data.get("force_refresh"))
        elif endpoint == "getuserphonenumber":
            entry["code"] = data.get("code")
        else:
            entry.update({key: data.get(key) for key in ("touser", "template_id", "page")})
            # Kept as one JSON string: a dict per message would cost ten times the memory.
            entry["data"] = json.dumps(data.get("data"), ensure_ascii=False, sort_keys=True)
            entry["msgid"] = body.get("msgid")
        with self.lock:
            if generation != self.generation:
                return
            if reply.status != 200:
                self.errors[endpoint][f"http_{reply.status}"] += 1
            elif errcode:
                self.errors[endpoint][str(errcode)] += 1
            else:
                self.ok[endpoint] += 1
            self.logs[endpoint].append(entry)

    def _count_accepted(self, touser: str, template_id: str, digest: bytes) -> int:
        """Count an accepted send (caller holds the lock); returns its msgid."""
        self.msgid += 1
        self.accepted += 1
        self.by_recipient[f"{touser}\x1f{template_id}"] += 1
        seen = self.by_digest.get(digest, 0)
        self.by_digest[digest] = seen + 1
        if seen:
            self.duplicate_sends += 1
        if seen == 1:
            self.duplicates += 1
        return 3_000_000_000 + self.msgid

    # ---- what it saw ---------------------------------------------------------------------

    def stats(self) -> dict:
        with self.lock:
            return {
                "endpoints": {name: {"requests": self.requests[name], "ok": self.ok[name],
                                     "errors": dict(self.errors[name])} for name in NAMES},
                "token_fetches": self.requests["token"] + self.requests["stable_token"],
                "accepted": self.accepted,
                "recipients": len(self.by_recipient),
                "duplicates": self.duplicates,
                "duplicate_sends": self.duplicate_sends,
                "same_openid_overlaps": self.overlaps,
                "in_flight": sum(self.in_flight.values()),
            }

    def received(self, endpoint: str, touser: str | None = None, template_id: str | None = None,
                 limit: int | None = None) -> list[dict]:
        """The logged requests of one endpoint, oldest first (subscribe `data` decoded again)."""
        name = endpoint_name(endpoint)
        if name is None:
            raise ValueError("endpoint is required")
        with self.lock:
            entries = list(self.logs[name])
        out = []
        for entry in entries:
            if touser is not None and entry.get("touser") != touser:
                continue
            if template_id is not None and entry.get("template_id") != template_id:
                continue
            item = dict(entry)
            if "data" in item:
                item["data"] = json.loads(item["data"])
            out.append(item)
        return out[-limit:] if limit else out

    def sent_count(self, touser: str | None = None, template_id: str | None = None) -> int:
        """Accepted subscribe sends, optionally for one openid and/or template."""
        with self.lock:
            if touser is not None and template_id is not None:
                return self.by_recipient.get(f"{touser}\x1f{template_id}", 0)
            if touser is None and template_id is None:
                return self.accepted
            total = 0
            for key, count in self.by_recipient.items():
                user, tid = key.split("\x1f", 1)
                if (touser is None or user == touser) and (template_id is None or tid == template_id):
                    total += count
            return total


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
