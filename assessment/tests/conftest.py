"""Fixtures of the assessment tests: the orders' cast and fixed clock (re-used from
``orders/tests/conftest.py``), plus a few people of our own.

``NOW`` is Friday 26 September 2025, 09:00 Asia/Shanghai (see the orders' conftest).
"""

from __future__ import annotations

import pytest
from django.test import Client

from core.tests.identity_helpers import login_verified
from orders.tests.conftest import _fresh_calendar, cast, now  # noqa: F401 -- fixtures re-used
from orders.tests.factories import person
from orgs.choices import Role
from whistles.tests.conftest import _replication_role_reset, pg_transactional_db  # noqa: F401 -- fixtures re-used


@pytest.fixture
def street_secretary(tree):
    return person("street_secretary", tree.street, Role.SECRETARY)


@pytest.fixture
def city_leader(tree):
    return person("city_leader", tree.city, Role.LEADER)


@pytest.fixture
def city_business_admin(tree):
    return person("city_business_admin", tree.city, Role.ADMINISTRATOR)


@pytest.fixture
def login(now):  # noqa: F811 -- the frozen clock first, so the session starts at "now"
    """A signed-in (second factor verified) test client for ``user``."""

    def make(user):
        client = Client()
        login_verified(client, user)
        return client

    return make
