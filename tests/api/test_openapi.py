"""The OpenAPI document is generated from the code and covers every /api/v1 route."""
from __future__ import annotations

import re

from app.api.security import BEARER
from tests.support.api import PUBLIC, api_routes

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _rules(app):
    """(method, OpenAPI path, view function) for every /api/v1 rule except the document itself."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule.endswith("/openapi.json"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path, app.view_functions[rule.endpoint]


def _resolve(doc: dict, ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        assert part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_document_is_openapi_3_with_paths_and_components(client):
    doc = _document(client)
    assert re.fullmatch(r"3\.\d+\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    assert isinstance(doc["paths"], dict) and doc["paths"]
    for path, item in doc["paths"].items():
        assert path.startswith("/api/v1/"), path
        operations = {k: v for k, v in item.items() if k in METHODS}
        assert operations, path
        for method, op in operations.items():
            assert op["responses"], f"{method} {path} documents no responses"
            for status in op["responses"]:
                assert status == "default" or re.fullmatch(r"[1-5]\d\d", str(status)), (path, status)
            for param in op.get("parameters", []):
                param = _resolve(doc, param["$ref"]) if "$ref" in param else param
                assert param["in"] in ("path", "query", "header", "cookie") and param["name"]
                if param["in"] == "path":
                    assert param["required"] is True and "{" + param["name"] + "}" in path
    for ref in _refs(doc):
        _resolve(doc, ref)
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_every_route_is_documented_with_its_security(app, client):
    doc = _document(client)
    rules = list(_rules(app))
    assert len(rules) == len(api_routes(app))
    for method, path, _view in rules:
        assert path in doc["paths"], f"{path} missing from openapi.json"
        op = doc["paths"][path].get(method.lower())
        assert op is not None, f"{method} {path} missing from openapi.json"
        if (method, re.sub(r"\{[^}]+\}", "1", path)) in PUBLIC:
            assert "security" not in op, f"{method} {path} is public"
        else:
            assert op.get("security") == BEARER, f"{method} {path} does not declare bearer security"
            assert "401" in {str(s) for s in op["responses"]}, f"{method} {path} does not document 401"


def test_errors_are_documented_as_the_envelope(client):
    doc = _document(client)
    error = doc["components"]["schemas"]["Error"]
    detail = _resolve(doc, error["properties"]["error"]["$ref"])
    assert set(detail["required"]) == {"code", "message", "fields"}
    assert {"code", "message", "fields", "retry_after"} <= set(detail["properties"])
    create = doc["paths"]["/api/v1/bindings"]["post"]
    unauthorized = create["responses"]["401"]
    assert unauthorized["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert unauthorized["x-error-codes"] == ["not_authenticated"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BindingCreate"}
    body = doc["components"]["schemas"]["BindingCreate"]
    assert body["properties"]["name"]["maxLength"] == 50
    assert body["properties"]["id_number"]["maxLength"] == 32
    assert body["properties"]["relation"]["enum"] == ["self", "spouse", "child", "other"]
    assert {"400", "404", "409", "429"} <= {str(s) for s in create["responses"]}
