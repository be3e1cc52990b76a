"""Fixtures of the whistle tests: the cast on the root ``tree`` and a fixed clock.

``NOW`` is Monday 3 March 2025, 09:00 Asia/Shanghai (an ordinary working week). ``HOLIDAY_EVE``
is Monday 29 September 2025, 09:00: the National Day holidays (1–8 October) are two days away,
so working-time limits computed from it cross them.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from core.workcalendar import SHANGHAI, clear_calendar_cache
from whistles.tests.factories import WhistleCast, make_cast

NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)
HOLIDAY_EVE = dt.datetime(2025, 9, 29, 9, 0, tzinfo=SHANGHAI)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def now():
    """The fixed instant, with the process clock frozen there too (services never read it)."""
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture(autouse=True)
def _fresh_calendar():
    clear_calendar_cache()
    yield
    clear_calendar_cache()


@pytest.fixture
def cast(tree, dept_handler, street_handler, outsider) -> WhistleCast:
    return make_cast(tree, dept_handler, street_handler, outsider)
