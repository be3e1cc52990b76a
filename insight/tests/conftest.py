"""Fixtures for insight in the work-order loop: a catalog of three items on the root ``tree``, an
item model trained on the small synthetic texts, the people who register and dispatch, and the
system dispatcher account automatic dispatch acts as."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from django.test import override_settings

from core.workcalendar import SHANGHAI, clear_calendar_cache
from insight.choices import ClassifierTarget
from insight.classifier import Document, Example
from insight.selectors import classifier_cache_clear
from insight.services import classifier_train
from insight.tests.texts import GARBAGE, LIGHTS, NOISE
from orders.tests.factories import make_item, person
from orgs.choices import Role, UnitKind

LOOP_NOW = dt.datetime(2025, 9, 26, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def loop(tree):
    """Three street-led items, an active item model trained on GARBAGE/LIGHTS/NOISE, an agent,
    a city dispatcher and the system dispatcher ``insight_bot`` (a city dispatcher too)."""
    clear_calendar_cache()
    classifier_cache_clear()
    items = {
        "garbage": make_item(name="生活垃圾清运不及时", lead_kind=UnitKind.STREET),
        "lights": make_item(name="路灯不亮", lead_kind=UnitKind.STREET),
        "noise": make_item(name="夜间施工噪音", lead_kind=UnitKind.STREET),
    }
    examples = [
        Example(Document(title, body), items[label].code)
        for label, rows in (("garbage", GARBAGE), ("lights", LIGHTS), ("noise", NOISE))
        for title, body in rows
    ]
    with time_machine.travel(LOOP_NOW, tick=False):
        model = classifier_train(
            actor=None, target=ClassifierTarget.ITEM, examples=examples, now=LOOP_NOW - dt.timedelta(days=1)
        )
        with override_settings(INSIGHT_DISPATCHER_USERNAME="insight_bot"):
            yield SimpleNamespace(
                tree=tree,
                now=LOOP_NOW,
                items=items,
                model=model,
                agent=person("agent", tree.city, Role.AGENT),
                dispatcher=person("city_dispatcher", tree.city, Role.DISPATCHER),
                bot=person("insight_bot", tree.city, Role.DISPATCHER),
            )
    classifier_cache_clear()
    clear_calendar_cache()
