"""Staff-page fixtures: a test client that behaves like separate browser requests."""
from __future__ import annotations

import pytest

from tests.support.staff import fresh_client, login


@pytest.fixture
def client(app):
    return fresh_client(app)


@pytest.fixture
def login_as(client):
    """Log `staff` in on the test client through the login form; returns the client."""

    def _login(staff):
        response = login(client, staff)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return _login
