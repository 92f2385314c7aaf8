"""The API contract as a test helper: every answer checked against the OpenAPI document.

`Contract(document).check(response)` validates one test-client response with openapi-core (the
status is documented for its operation, the body matches that status's schema) and, for an
error, that its code is one the operation lists for that status (`x-error-codes`).
"""
from __future__ import annotations

import re

from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

_METHODS = ("get", "post", "put", "patch", "delete")


class Contract:
    def __init__(self, document: dict) -> None:
        self.document = document
        self.openapi = OpenAPI.from_dict(document)
        self._routes = []
        for path, item in document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
            for method, op in item.items():
                if method in _METHODS:
                    self._routes.append((method, pattern, path, op))
        self.seen: set[str] = set()

    def find(self, method: str, path: str) -> tuple[str, dict] | None:
        """(path template, operation) of the request, or None when the document has none."""
        for route_method, pattern, template, op in self._routes:
            if route_method == method.lower() and pattern.match(path):
                return template, op
        return None

    def operation(self, method: str, path: str) -> tuple[str, dict]:
        found = self.find(method, path)
        assert found is not None, f"{method} {path}: no operation in the document"
        return found

    def check(self, response) -> dict:
        """Validate `response` (a Flask test-client response); returns its operation."""
        request = response.request
        template, op = self.operation(request.method, request.path)
        context = f"{op['operationId']} ({request.method} {template}) → {response.status_code}"
        status = str(response.status_code)
        assert status in op["responses"], f"{context}: status not documented"
        # The operation is found from method and path; the original body stream is spent.
        bare = Request(EnvironBuilder(method=request.method, path=request.path,
                                      query_string=request.query_string.decode("latin-1")).get_environ())
        self.openapi.validate_response(WerkzeugOpenAPIRequest(bare), WerkzeugOpenAPIResponse(response))
        if response.status_code >= 400:
            code = response.get_json()["error"]["code"]
            documented = op["responses"][status].get("x-error-codes", [])
            assert code in documented, f"{context}: error code {code!r} not documented (has {documented})"
        self.seen.add(op["operationId"])
        return op

    def operation_ids(self) -> set[str]:
        return {op["operationId"] for *_, op in self._routes}
