"""A WeChat look-alike HTTP server for tests and `make run` (initial version; jscode2session only).

Codes: any code is valid once; `<user>.<anything>` maps to openid `openid-<user>`, so a test can
log the same person in twice with two codes. Codes starting with `invalid` → 40029.
"""
from __future__ import annotations

import json
import threading

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class SandboxState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.used_codes: set[str] = set()
            self.received: list[dict] = []


def _json(data: dict, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json")


def create_sandbox_wsgi(state: SandboxState):
    @Request.application
    def application(request: Request) -> Response:
        if request.path == "/sns/jscode2session":
            code = request.args.get("js_code", "")
            with state.lock:
                state.received.append({"path": request.path, "args": dict(request.args)})
                if not code or code.startswith("invalid"):
                    return _json({"errcode": 40029, "errmsg": "invalid code"})
                if code in state.used_codes:
                    return _json({"errcode": 40163, "errmsg": "code been used"})
                state.used_codes.add(code)
            user = code.split(".", 1)[0]
            return _json({"openid": f"openid-{user}", "session_key": "c2Vzc2lvbi1rZXktc2FuZGJveA==",
                          "unionid": f"unionid-{user}"})
        return _json({"errcode": 404, "errmsg": "unknown path"}, 404)

    return application


class SandboxServer:
    """Serve the sandbox on a loopback port in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = SandboxState()
        self._server = make_server(host, port, create_sandbox_wsgi(self.state), threaded=True)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self._server.host}:{self._server.server_port}/"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        if self._thread:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        self.state.reset()
