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


# --- threaded tests on PostgreSQL -----------------------------------------------------------------
# A transactional test ends with a flush (TRUNCATE of every table), which the append-only
# triggers refuse (the audit log's, the order timeline's and the whistle timeline's). Around that
# flush only, the session runs with ``session_replication_role = replica`` so user triggers do not
# fire; the role is reset right after. Set-up order gives the teardown order:
# ``pg_transactional_db`` (replica) → ``transactional_db`` (flush) → ``_replication_role_reset``.


@pytest.fixture
def _replication_role_reset(django_db_blocker):
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def pg_transactional_db(_replication_role_reset, transactional_db):
    """``transactional_db`` whose final flush passes the append-only triggers (PostgreSQL)."""
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
