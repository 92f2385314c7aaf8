"""Mini-program JSON API, /api/v1. Thin: parse, authorize, call one domain function, serialize.

Every module in this package that defines `blp` (a flask_smorest.Blueprint) is registered
under /api/v1. Every error leaves as the envelope {"error": {"code", "message", "fields"}}.
"""
from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

from app.api.errors import TuiguanApi

api = TuiguanApi()


def register_api(app: Flask) -> None:
    from app.api.security import authenticate_first
    from app.extensions import csrf

    api.init_app(app, spec_kwargs={
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    })
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
