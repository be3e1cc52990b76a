"""Bearer-token clients for the assessment API (the orders API tests' ``Api`` helper)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from orders.tests.api.conftest import Api


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(now):
    """``api(user)`` → an ``Api`` client for that user."""
    return lambda user: Api(user, now)
