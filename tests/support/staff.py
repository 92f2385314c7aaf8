"""Helpers for staff-page tests: log in through the real login form, read CSRF tokens."""
from __future__ import annotations

import re

from flask.testing import FlaskClient

from app.extensions import db

PASSWORD = "correct-horse-1"  # tests.support.factories.make_staff's default


def login(client, staff, password: str = PASSWORD, **kwargs):
    return client.post("/staff/login", data={"username": staff.username, "password": password}, **kwargs)


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


class FreshContextClient(FlaskClient):
    """Each request runs in its own app context: its own `g` and database session, as in production.

    The shared client would reuse the test's app context, so Flask-Login's cached user (in `g`)
    and the CSRF token cache would survive from one request to the next and hide bugs such as
    a stale session version. What the test wrote so far is committed first, as a server would
    only ever see committed rows (and on SQLite an open test transaction would block it).
    """

    def open(self, *args, **kwargs):
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def fresh_client(app) -> FreshContextClient:
    # Built directly: setting app.test_client_class would leak into every later test's client.
    return FreshContextClient(app, app.response_class, use_cookies=True)
