"""The intake tests use the order tests' cast and clock, the API clients, a clean shared cache
(rate limits and follow locks live there) and a private MEDIA_ROOT."""

from __future__ import annotations

import pytest

from orders.tests.api.conftest import Api, _clean_cache, _media  # noqa: F401 -- autouse fixtures
from orders.tests.conftest import _fresh_calendar, cast, now, order  # noqa: F401 -- fixtures


@pytest.fixture
def api(now):  # noqa: F811 -- the imported fixture, requested by name
    return lambda user: Api(user, now)
