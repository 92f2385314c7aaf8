"""`flask openapi-write`: regenerate the committed OpenAPI document (docs/openapi.json)."""
from __future__ import annotations

import click

from app.api import api, docs


@click.command("openapi-write")
@click.option("--check", is_flag=True, help="只检查：与已提交的文件不一致时退出码为 1")
def openapi_write(check: bool) -> None:
    """Write the API's OpenAPI document to docs/openapi.json (what mini-program clients build on)."""
    rendered = docs.render(api.spec.to_dict())
    current = docs.DOCUMENT_PATH.read_text(encoding="utf-8") if docs.DOCUMENT_PATH.exists() else ""
    if check:
        if rendered != current:
            raise click.ClickException(f"{docs.DOCUMENT_PATH} is out of date; run: {docs.REGENERATE}")
        click.echo("docs/openapi.json is up to date")
        return
    docs.DOCUMENT_PATH.parent.mkdir(parents=True, exist_ok=True)
    docs.DOCUMENT_PATH.write_text(rendered, encoding="utf-8")
    click.echo(f"wrote {docs.DOCUMENT_PATH}")


commands = [openapi_write]
