"""Fixtures of the order tests: the cast on the root ``tree`` and a fixed clock.

``NOW`` is Friday 26 September 2025, 09:00 Asia/Shanghai — the last week before the National Day
holidays (1–8 October; Sunday 28 September and Saturday 11 October are working days), so
deadlines computed from it cross a holiday.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from core.workcalendar import SHANGHAI, clear_calendar_cache
from orders.tests.factories import Cast, make_item, person
from orgs.choices import Role

NOW = dt.datetime(2025, 9, 26, 9, 0, tzinfo=SHANGHAI)


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
def cast(tree, district_dispatcher, street_handler, dept_handler, outsider) -> Cast:
    return Cast(
        tree=tree,
        agent=person("agent", tree.city, Role.AGENT),
        city_dispatcher=person("city_dispatcher", tree.city, Role.DISPATCHER),
        callback_agent=person("callback_agent", tree.city, Role.CALLBACK_AGENT),
        district_dispatcher=district_dispatcher,
        district_handler=person("district_handler", tree.district, Role.HANDLER),
        street_handler=street_handler,
        community_handler=person("community_handler", tree.community, Role.HANDLER),
        dept_handler=dept_handler,
        supervisor=person("supervisor", tree.district, Role.SUPERVISOR),
        outsider=outsider,
        item=make_item(),
    )


@pytest.fixture
def order(cast, now):
    """A registered hotline order in 东华一网格, classified as the cast's item."""
    from orders.tests.factories import make_order

    return make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
