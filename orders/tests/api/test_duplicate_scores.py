"""``GET /api/v1/orders/{id}/duplicates``: each likely duplicate with its ``score`` (the matcher's
similarity, 0–1, highest first), only among the orders the caller may see; ``score`` is null when
no matcher is installed (the simple rule: same item, same grid, within 30 days)."""

from __future__ import annotations

import datetime as dt

import pytest

from orders.choices import OrderStatus
from orders.selectors import register_duplicate_matcher
from orders.tests.factories import make_item, make_order, walk_to
from orgs.choices import UnitKind

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
NOISE = ("工地夜间施工噪音大", "幸福路88号旁边的工地每天晚上十一点以后还在打桩，吵得睡不着觉")
NOISE_PARAPHRASE = ("晚上工地太吵", "幸福路那个工地半夜还在施工打桩，噪声很大，没法休息")
NOISE_TYPO = ("工地夜间施工噪因大", "幸福路88号旁边工地每天晚上十一点后还在打桩，吵的睡不着")
SEWER = ("下水道堵了", "幸福路88号门口的下水道堵塞，污水漫到路面上")


def _order(cast, at, text, item=None, **extra):
    title, content = text
    return make_order(
        actor=cast.agent,
        now=at,
        grid=cast.tree.grid,
        item=item or cast.item,
        title=title,
        content=content,
        **extra,
    )


def test_duplicates_come_with_scores_highest_first(api, cast, now):
    paraphrase = _order(cast, now - 3 * HOUR, NOISE_PARAPHRASE)
    typo = _order(cast, now - 2 * HOUR, NOISE_TYPO)
    _order(cast, now - HOUR, SEWER)  # same grid and item, another problem
    cited = _order(cast, now - 4 * HOUR, ("施工噪音", "工地晚上施工"))
    order = _order(cast, now, (NOISE[0], f"{NOISE[1]}。此前已反映，工单号 {cited.number}"))

    response = api(cast.city_dispatcher).get(f"/api/v1/orders/{order.pk}/duplicates")
    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == [cited.pk, typo.pk, paraphrase.pk]
    scores = [r["score"] for r in rows]
    assert scores[0] == 1.0  # the report cites that order's number
    assert all(isinstance(s, float) and 0.52 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True) and scores[1] > scores[2]
    # the summary's fields are still there
    assert rows[1]["number"] == typo.number and rows[1]["grid"]["name"] == "东华一网格"
    assert rows[1]["dispatch_unit"]["id"] == cast.tree.city.pk


def test_a_handler_sees_only_the_candidates_in_scope(api, cast, now):
    street_item = make_item(name="路灯不亮", lead_kind=UnitKind.STREET)
    waiting = _order(cast, now - 3 * HOUR, NOISE_PARAPHRASE, street_item, submit=True)  # at the city
    held = _order(cast, now - 2 * HOUR, NOISE_TYPO, street_item)
    walk_to(held, OrderStatus.AWAITING_ACCEPTANCE, cast, now - 2 * HOUR)  # at the street
    order = _order(cast, now, NOISE, street_item)
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)

    everyone = api(cast.city_dispatcher).get(f"/api/v1/orders/{order.pk}/duplicates").json()
    assert {r["id"] for r in everyone} == {waiting.pk, held.pk}
    mine = api(cast.street_handler).get(f"/api/v1/orders/{order.pk}/duplicates").json()
    assert [r["id"] for r in mine] == [held.pk] and mine[0]["score"] > 0.5
    assert api(cast.outsider).get(f"/api/v1/orders/{order.pk}/duplicates").status_code == 404


def test_without_a_matcher_the_simple_rule_answers_with_a_null_score(api, cast, now):
    previous = register_duplicate_matcher(None)
    try:
        sewer = _order(cast, now - HOUR, SEWER)
        order = _order(cast, now, NOISE)
        rows = api(cast.city_dispatcher).get(f"/api/v1/orders/{order.pk}/duplicates").json()
    finally:
        register_duplicate_matcher(previous)
    assert [(r["id"], r["score"]) for r in rows] == [(sewer.pk, None)]


def test_the_openapi_schema_describes_the_score(client):
    schema = client.get("/api/openapi.json").json()
    ok = schema["paths"]["/api/v1/orders/{order_id}/duplicates"]["get"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["items"]["$ref"].rsplit("/", 1)[-1]
    props = schema["components"]["schemas"][ref]["properties"]
    assert "score" in props and "number" in props
    assert "null" in props["score"]["description"]


def test_the_endpoint_costs_the_same_however_many_duplicates(api, cast, now):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(cast.city_dispatcher)
    order = _order(cast, now, NOISE)

    def measure() -> tuple[int, int]:
        client.get(f"/api/v1/orders/{order.pk}/duplicates")  # warm the token check
        with CaptureQueriesContext(connection) as ctx:
            rows = client.get(f"/api/v1/orders/{order.pk}/duplicates").json()
        return len(rows), len(ctx.captured_queries)

    _order(cast, now - HOUR, NOISE_PARAPHRASE)
    one, queries = measure()
    _order(cast, now - 2 * HOUR, NOISE_TYPO)
    _order(cast, now - 3 * HOUR, NOISE)
    three, more_queries = measure()
    assert (one, three) == (1, 3)
    assert more_queries == queries  # units come with the scope check, not one query per row
