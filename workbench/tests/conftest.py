"""Fixtures of the workbench tests: the order tests' cast and frozen clock, a clean shared cache
(rate limits), a private MEDIA_ROOT, signed-in clients, and a catalog item whose rule sends
orders to the street (so the loop runs city → street → community)."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from PIL import Image

from core.tests.identity_helpers import login_verified
from orders.tests.api.conftest import _clean_cache, _media  # noqa: F401 -- autouse fixtures
from orders.tests.conftest import _fresh_calendar, cast, now, order  # noqa: F401 -- fixtures
from orders.tests.factories import make_item, person
from orgs.choices import Role, UnitKind


@pytest.fixture
def signed_in():
    """``signed_in(user)`` → a test client with the user fully signed in (password + TOTP)."""

    def make(user):
        client = Client()
        login_verified(client, user)
        return client

    return make


@pytest.fixture
def street_item(cast):  # noqa: F811 -- the imported fixture, requested by name
    """路灯不亮: the street leads (by kind), 1 / 2 / 5 working days."""
    return make_item(name="路灯不亮", lead_kind=UnitKind.STREET)


@pytest.fixture
def hotline_agent(cast):  # noqa: F811 -- the imported fixture, requested by name
    return cast.agent


@pytest.fixture
def supervisor_city(cast):  # noqa: F811 -- the imported fixture, requested by name
    return person("city_supervisor", cast.tree.city, Role.SUPERVISOR)


def jpeg(color=(200, 30, 30), size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg"):
    handle = io.BytesIO(data)
    handle.name = name
    return handle
