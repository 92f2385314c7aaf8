"""The OpenAPI document: what flask-smorest generates, plus the schema extras some bodies need,
and the committed copy in docs/openapi.json that client authors review."""
from __future__ import annotations

import json
from pathlib import Path

from apispec import BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_cls

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REGENERATE = "flask --app app openapi-write   (or: make openapi)"


class SchemaExtras(BasePlugin):
    """apispec plugin: a marshmallow schema's `Meta.openapi` dict is added to its component, for
    what fields cannot say (e.g. the value type of a body whose keys are not known in advance)."""

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        if schema is None:
            return None
        meta = getattr(resolve_schema_cls(schema), "Meta", None)
        return dict(getattr(meta, "openapi", {})) or None


def install(spec) -> None:
    plugin = SchemaExtras()
    plugin.init_spec(spec)
    spec.plugins.append(plugin)


def render(document: dict) -> str:
    """The committed form: stable key order as generated, two-space indent, Chinese as is."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
