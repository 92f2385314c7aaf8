"""`flask --app app wechat-sandbox --port P`: the WeChat sandbox in the foreground."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("wechat-sandbox")
@click.option("--port", type=int, default=8801, show_default=True, help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--delay-ms", type=int, default=0, show_default=True, help="Answer every WeChat call after this delay.")
@click.option("--log-limit", type=int, default=20_000, show_default=True,
              help="Requests kept per endpoint for /__sandbox__/log (counters cover all).")
@with_appcontext
def wechat_sandbox(port: int, host: str, delay_ms: int, log_limit: int) -> None:
    """Serve the WeChat sandbox (same endpoints and errcodes as WeChat) until interrupted."""
    from app.wechat.sandbox import SandboxServer

    server = SandboxServer(host, port, appid=current_app.config["WECHAT_APPID"],
                           secret=current_app.config["WECHAT_SECRET"], delay_ms=delay_ms, log_limit=log_limit)
    click.echo(f"WeChat sandbox listening on {server.base_url} (delay {delay_ms} ms)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


commands = [wechat_sandbox]
