"""The frozen service clock of the certification and case-work tests: a Monday, 09:00 local."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.domain import clock

TODAY = date(2025, 3, 10)
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=clock.SERVICE_ZONE)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def frozen_clock():
    """Tests of certification and case work use it through `pytestmark` (usefixtures)."""
    with clock.frozen(NOW):
        yield NOW
