"""Staff read the resident's own rating (群众自评) through the API: ``GET
/api/v1/orders/{id}/resident-rating`` — token only, scoped like the orders endpoints (404 outside
the scope, never 403, and nothing said about the rating there), 404 ``not_rated`` until the
resident rates, the comment masked as on the order page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from intake import selectors
from intake.models import ResidentRating
from orders.choices import OrderStatus
from orders.models import Order
from orders.selectors import order_get_for_user
from orders.tests.factories import make_order, walk_to

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
COMMENT = "修得很快，有事请回电 13800138000"
NOT_FOUND = {"detail": "未找到，或不在您的权限范围内。", "code": "not_found"}
NOT_RATED = {"detail": "群众尚未评价该工单。", "code": "not_rated"}


def path(order_id: int) -> str:
    return f"/api/v1/orders/{order_id}/resident-rating"


@pytest.fixture
def answered(cast, now):
    """An order answered and approved, waiting for the callback: the resident may rate it."""
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, requester_phone=PHONE)
    return walk_to(order, OrderStatus.AWAITING_CALLBACK, cast, now)


@pytest.fixture
def rated(answered):
    """The same order, rated by the resident through the public door."""
    response = Client().post(
        "/api/v1/public/orders/rate",
        {"number": answered.number, "phone_last4": "8000", "satisfaction": "basically", "comment": COMMENT},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    return answered


def test_staff_in_scope_read_the_rating_with_its_label_and_time(api, cast, now, rated):
    response = api(cast.callback_agent).get(path(rated.pk))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["satisfaction"] == "basically"
    assert body["satisfaction_label"] == "基本满意"
    assert dt.datetime.fromisoformat(body["created_at"]) == now
    assert set(body) == {"satisfaction", "satisfaction_label", "comment", "created_at"}


def test_the_comment_is_masked_like_on_the_order_page(api, cast, rated):
    body = api(cast.district_handler).get(path(rated.pk)).json()
    assert body["comment"] == "修得很快，有事请回电 138****8000"
    assert PHONE not in api(cast.district_handler).get(path(rated.pk)).content.decode()
    assert ResidentRating.objects.get(order=rated).comment == COMMENT  # stored as given


def test_without_a_token_the_read_is_a_401(rated):
    response = Client().get(path(rated.pk))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_an_order_outside_the_scope_is_a_plain_404(api, cast, rated):
    response = api(cast.outsider).get(path(rated.pk))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND  # the same answer whether rated or not: nothing leaks


def test_an_unrated_order_outside_the_scope_is_not_found_rather_than_not_rated(api, cast, answered):
    assert api(cast.outsider).get(path(answered.pk)).json() == NOT_FOUND


def test_an_unknown_order_is_a_plain_404(api, cast, rated):
    response = api(cast.callback_agent).get(path(rated.pk + 1000))
    assert response.status_code == 404 and response.json() == NOT_FOUND


def test_an_order_the_resident_has_not_rated_is_a_404_that_says_so(api, cast, answered):
    response = api(cast.callback_agent).get(path(answered.pk))
    assert response.status_code == 404
    assert response.json() == NOT_RATED


def test_the_not_rated_message_follows_the_language(api, cast, answered):
    client = api(cast.callback_agent).client
    with translation.override("zh-hans"):
        response = client.get(path(answered.pk), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json() == {"detail": "The resident has not rated this order yet.", "code": "not_rated"}


def test_the_selector_reads_the_rating_in_one_query_beyond_the_orders_fetch(
    cast, rated, django_assert_num_queries
):
    # two fresh copies of the user: the scope's memberships are cached on the user object
    first, second = (type(cast.callback_agent).objects.get(pk=cast.callback_agent.pk) for _ in range(2))
    with CaptureQueriesContext(connection) as fetch:
        order_get_for_user(first, rated.pk)
    with django_assert_num_queries(len(fetch) + 1):
        order, rating = selectors.resident_rating_get_for_user(actor=second, order_id=rated.pk)
    assert order.pk == rated.pk and rating is not None and rating.satisfaction == "basically"


def test_the_selector_refuses_an_order_outside_the_scope_before_reading_the_rating(cast, rated):
    with CaptureQueriesContext(connection) as queries, pytest.raises(Order.DoesNotExist):
        selectors.resident_rating_get_for_user(actor=cast.outsider, order_id=rated.pk)
    table = ResidentRating._meta.db_table
    assert not any(table in q["sql"] for q in queries.captured_queries)
