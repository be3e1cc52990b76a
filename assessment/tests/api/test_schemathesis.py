"""schemathesis against the assessment operations of the OpenAPI description: generated requests,
with a district handler's token, find no 5xx and no response that breaks the described schema.
A fixed seed and few examples per operation keep it steady and short."""

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

from assessment.rollups import rollup_catch_up
from assessment.tests.factories import handled_order
from core import identity
from orders.choices import Satisfaction

pytestmark = [pytest.mark.once, pytest.mark.django_db]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application()).include(
    path_regex=r"^/api/v1/assessment"
)


@pytest.fixture
def handler_token(cast, now):
    """A district handler whose unit handled a closed order with a dissatisfied callback."""
    handled_order(cast, now, satisfaction=Satisfaction.DISSATISFIED, resolved=False, close=True)
    rollup_catch_up(now=now)
    _token, raw = identity.api_token_create(
        actor=cast.district_handler, user=cast.district_handler, name="schemathesis", now=now
    )
    return raw


@pytest.fixture
def keep_connection():
    """The WSGI handler must not close the test's database connection (PostgreSQL)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@seed(20250926)
@settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_the_assessment_api_honours_its_description(case, handler_token, keep_connection, _clean_cache):
    case.call_and_validate(headers={"Authorization": f"Bearer {handler_token}"}, checks=CHECKS)
