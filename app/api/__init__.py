"""Mini-program JSON API, /api/v1. Thin: parse, authorize, call one domain function, serialize.

Every module in this package that defines `blp` (an `ApiBlueprint`) is registered under /api/v1.
Every operation has an operationId and lists its error codes (app/api/blueprint.py); every
error leaves as the envelope {"error": {"code", "message", "fields"}} (app/errors.py). The
document is committed as docs/openapi.json: `flask openapi-write` (or `make openapi`) rewrites it.
"""
from __future__ import annotations

import importlib
import pkgutil

from flask import Flask
from flask_smorest import Api

from app import errors
from app.api import docs
from app.api.schemas import ErrorSchema


class TuiguanApi(Api):
    """flask-smorest's Api whose HTTP errors are the app's own (documented as ErrorSchema)."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)


api = TuiguanApi()


def register_api(app: Flask) -> None:
    from app.api.security import authenticate_first
    from app.extensions import csrf

    api.init_app(app, spec_kwargs={
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    })
    docs.install(api.spec)
    # Only views marked by require_account are concerned (see authenticate_first).
    app.before_request(authenticate_first)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        blp = getattr(module, "blp", None)
        if blp is not None:
            # A bearer token in a header, never a cookie, authenticates the API: there is no
            # cross-site request to forge, and the app-wide CSRFProtect (for the staff pages'
            # cookie session) would refuse every JSON POST and DELETE without a form token.
            csrf.exempt(blp)
            api.register_blueprint(blp, url_prefix="/api/v1")
