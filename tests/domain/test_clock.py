"""The service clock: SERVICE_TIMEZONE decides the service's "today"; tests can freeze and move it."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app import create_app
from app.domain import clock
from config import SETTINGS

EVENING_UTC = datetime(2025, 3, 10, 20, 0, tzinfo=UTC)  # already 11 March in Shanghai, still 10 March in Berlin


@pytest.fixture
def restore_zone():
    yield
    clock.configure(SETTINGS["SERVICE_TIMEZONE"].default)


def test_the_default_zone_is_shanghai():
    assert str(clock.SERVICE_ZONE) == "Asia/Shanghai"
    with clock.frozen(EVENING_UTC):
        assert clock.today() == date(2025, 3, 11)
        assert clock.local_now().utcoffset() == timedelta(hours=8)


def test_service_timezone_configures_the_clock_at_start(base_overrides, restore_zone):
    create_app("testing", dict(base_overrides, SERVICE_TIMEZONE="Europe/Berlin"))
    assert str(clock.SERVICE_ZONE) == "Europe/Berlin"
    with clock.frozen(EVENING_UTC):
        assert clock.today() == date(2025, 3, 10)
        assert clock.start_of_local_day(date(2025, 3, 10)) == datetime(2025, 3, 9, 23, 0, tzinfo=UTC)
    with clock.frozen(date(2025, 3, 10)):  # a frozen date is 09:00 in the configured zone
        assert clock.now() == datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def test_frozen_time_moves_only_when_told():
    with clock.frozen(EVENING_UTC):
        clock.advance(timedelta(hours=5))
        assert clock.now() == EVENING_UTC + timedelta(hours=5)
    with pytest.raises(RuntimeError):
        clock.advance(timedelta(seconds=1))
