"""`flask --app app wechat-sandbox` serves the sandbox in its own process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests

from app.wechat.client import WeChatClient
from app.wechat.sandbox import RemoteSandbox

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_listening(port: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the sandbox did not start listening")


def test_cli_sandbox_starts_serves_and_stops(tmp_path, redis_url):
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
               REDIS_URL="memory://cli", TUIGUAN_ENV="testing")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "wechat-sandbox", "--port", str(port),
                             "--delay-ms", "60"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _wait_until_listening(port, proc)
        base = f"http://127.0.0.1:{port}/"
        remote = RemoteSandbox(base)
        assert remote.control()["delay_ms"] == 60

        store = redis.Redis.from_url(redis_url) if not redis_url.startswith("memory://") else None
        if store is None:
            import fakeredis

            store = fakeredis.FakeRedis()
        client = WeChatClient(appid="wx-sandbox-appid", secret="sandbox-secret", api_base=base, timeout=5,
                              redis_client=store)
        started = time.monotonic()
        assert client.code_to_session("cli.1")["openid"] == "openid-cli"
        assert time.monotonic() - started >= 0.06
        assert client.send_subscribe_message("openid-cli", "TPL", {"thing1": {"value": "你好"}})["errcode"] == 0
        store.delete(client._tokens.key)

        stats = remote.stats()
        assert stats["accepted"] == 1 and stats["token_fetches"] == 1
        assert remote.sent_count("openid-cli", "TPL") == 1
        assert requests.get(base + "__sandbox__/log", params={"endpoint": "jscode2session"}, timeout=5).json()[
            "items"][0]["js_code"] == "cli.1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode is not None
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # gone
