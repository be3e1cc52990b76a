"""schemathesis against the OpenAPI description (STYLE.md 23a, SECURITY.md DI-1, AC-1): generated
requests to every operation, with a low-privilege handler's token, find no 5xx and no response
that breaks the described schema (status codes, content types, bodies — the 422 validation
answers are declared). A fixed seed and few examples per operation keep it steady and short."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from core import identity
from orders.choices import OrderStatus
from orders.tests.factories import make_order, walk_to

pytestmark = [pytest.mark.once, pytest.mark.django_db]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# The orders, call-centre and resident doors (other apps' routers have their own runs).
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application()).include(
    path_regex=r"^/api/v1/(orders|calls|public|health)"
)


@pytest.fixture
def handler_token(cast, now):
    """A district handler holding one order in progress; other orders exist outside their scope."""
    mine = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(mine, OrderStatus.IN_PROGRESS, cast, now)
    make_order(actor=cast.agent, now=now, grid=cast.tree.other_grid, item=cast.item)
    _token, raw = identity.api_token_create(
        actor=cast.district_handler, user=cast.district_handler, name="schemathesis", now=now
    )
    return raw


@pytest.fixture
def keep_connection():
    """Like Django's test client: the WSGI handler must not close the test's database connection
    (on PostgreSQL that would end the test transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@seed(20250926)
@settings(
    max_examples=4,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_honours_its_description(case, handler_token, keep_connection, _clean_cache, _media):
    case.call_and_validate(headers={"Authorization": f"Bearer {handler_token}"}, checks=CHECKS)
