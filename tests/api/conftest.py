"""Fixtures for the mini-program API tests: a region tree with one retiree archive."""
from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from tests.support.contract import Contract
from tests.support.factories import make_id_number, make_retiree


@pytest.fixture
def archive(tree):
    """A living retiree in community_a, with the ID number used to bind to them."""
    number = make_id_number(date(1948, 5, 6), "female")
    retiree = make_retiree(tree["community_a"], name="张桂芳", birth=date(1948, 5, 6), gender="female",
                           id_number=number, phone="13812345678")
    db.session.commit()
    retiree.test_id_number = number
    return retiree


# ---- every answer in the API tests is checked against the contract --------------------------------

@pytest.fixture(scope="session")
def _contract(_app_session):
    from app.api import api

    return Contract(api.spec.to_dict())


@pytest.fixture(autouse=True)
def _answers_match_the_contract(app, _contract, monkeypatch):
    """Wrap the test client: each answer of an API operation must be one the document describes
    — a status it lists, a body of its schema, an error code it names for that status."""
    original = FlaskClient.open

    def open_and_check(self, *args, **kwargs):
        response = original(self, *args, **kwargs)
        request = response.request
        if request is not None and _contract.find(request.method, request.path) is not None:
            _contract.check(response)
        return response

    monkeypatch.setattr(FlaskClient, "open", open_and_check)
