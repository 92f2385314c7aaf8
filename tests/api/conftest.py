"""Fixtures for the mini-program API tests: a region tree with one retiree archive."""
from __future__ import annotations

from datetime import date

import pytest

from app.extensions import db
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
