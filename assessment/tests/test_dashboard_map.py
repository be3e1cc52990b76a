"""The dashboard's grid map (open orders per grid of the territory, hot spots) and 每月一题 (each
street's most reported item of the month), on hand-built orders.

``now`` is Friday 26 September 2025, 09:00 Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from scipy.stats import poisson

from assessment import selectors
from assessment.metrics import Period
from assessment.rollups import rollup_catch_up
from assessment.services import early_warning_record
from assessment.tests.factories import HOUR, handled_order
from orders.tests.factories import make_item, make_order, person
from orgs.choices import Role, UnitKind
from orgs.grid_services import grid_boundaries_import
from orgs.services import unit_create

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[116.40, 39.90], [116.41, 39.90], [116.41, 39.91], [116.40, 39.91], [116.40, 39.90]]],
}


@pytest.fixture
def second_grid(cast):
    return unit_create(
        actor=None, code="T1112", name="东华二网格", kind=UnitKind.GRID, parent=cast.tree.community
    )


@pytest.fixture
def orders(cast, now, second_grid):
    """东华一网格: two open orders and one closed; 西长一网格: one open; 东华二网格: none."""
    tree = cast.tree
    grid_boundaries_import(
        actor=None,
        features={
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {"code": "T1111"}, "geometry": SQUARE}],
        },
    )
    handled_order(cast, now - dt.timedelta(days=3))  # closed: not counted as open
    make_order(actor=cast.agent, now=now - 2 * HOUR, grid=tree.grid, item=cast.item)
    make_order(actor=cast.agent, now=now - HOUR, grid=tree.grid, item=cast.item)
    make_order(actor=cast.agent, now=now - HOUR, grid=tree.other_grid, item=cast.item)


def _map(client, **params):
    response = client.get("/assessment/map.json", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def _by_code(data):
    return {f["properties"]["code"]: f for f in data["features"]}


def test_the_street_map_has_only_the_streets_grids_with_their_open_orders(
    login, cast, now, orders, street_secretary
):
    data = _map(login(street_secretary))
    assert data["type"] == "FeatureCollection"
    grids = _by_code(data)
    assert sorted(grids) == ["T1111", "T1112"]  # 西长一网格 is outside 东华街道
    assert grids["T1111"]["properties"]["open"] == 2  # the closed order is not open
    assert grids["T1112"]["properties"]["open"] == 0
    assert grids["T1111"]["geometry"] == SQUARE
    assert grids["T1112"]["geometry"] is None  # no boundary imported: listed, not drawn
    # the choropleth: 0 has its own class and colour, the busiest grid the darkest class
    classes = data["legend"]["classes"]
    assert classes[0] == {"min": 0, "max": 0, "colour": classes[0]["colour"], "label": "0"}
    assert classes[-1]["max"] >= 2
    assert grids["T1112"]["properties"]["fill"] == classes[0]["colour"]
    assert grids["T1111"]["properties"]["fill"] != classes[0]["colour"]
    assert data["legend"]["title"] == "在办工单（件）"
    assert not grids["T1111"]["properties"]["hot"]


def test_the_refresh_sends_the_counts_without_the_polygons(login, cast, now, orders, street_secretary):
    full = _by_code(_map(login(street_secretary)))
    counts = _by_code(_map(login(street_secretary), geometry="0"))
    assert counts["T1111"]["geometry"] is None and full["T1111"]["geometry"] == SQUARE
    assert {c: f["properties"] for c, f in counts.items()} == {c: f["properties"] for c, f in full.items()}
    assert {c: f["id"] for c, f in counts.items()} == {c: f["id"] for c, f in full.items()}


def test_the_city_leader_sees_every_grid_of_the_city(login, cast, now, orders, city_leader):
    grids = _by_code(_map(login(city_leader)))
    assert {code: f["properties"]["open"] for code, f in grids.items()} == {
        "T1111": 2,
        "T1112": 0,
        "T2111": 1,
    }
    # scoped down to a district the leader oversees: only its grids
    grids = _by_code(_map(login(city_leader), scope=cast.tree.other_district.pk))
    assert sorted(grids) == ["T2111"]


def test_a_territory_outside_the_users_reach_is_refused(login, cast, now, orders, street_secretary):
    client = login(street_secretary)
    assert client.get("/assessment/map.json", {"scope": cast.tree.other_street.pk}).status_code == 403
    assert client.get("/assessment/map.json", {"scope": cast.tree.city.pk}).status_code == 403
    outsider = person("someone_else", cast.tree.other_street, Role.SECRETARY)
    grids = _by_code(_map(login(outsider)))
    assert sorted(grids) == ["T2111"]
    nobody = login(person("no_scope", cast.tree.department, Role.VOLUNTEER))
    assert nobody.get("/assessment/map.json", {"scope": cast.tree.street.pk}).status_code == 403
    anonymous = Client().get("/assessment/map.json")
    assert anonymous.status_code == 302


def test_a_grid_with_orders_of_a_warned_item_is_a_hot_spot(
    login, cast, now, orders, second_grid, city_leader
):
    early_warning_record(
        area=cast.tree.street,
        item=cast.item,
        day=now.date(),
        level="red",
        observed=12,
        expected=3,
        rule="spike",
        episode_key="map-1",
        now=now,
    )
    # an old warning (outside the last 7 days) on the other street marks nothing
    early_warning_record(
        area=cast.tree.other_street,
        item=cast.item,
        day=now.date() - dt.timedelta(days=10),
        level="yellow",
        observed=5,
        expected=1,
        rule="spike",
        episode_key="map-old",
        now=now,
    )
    grids = _by_code(_map(login(city_leader)))
    hot = grids["T1111"]["properties"]
    assert hot["hot"] is True and hot["level"] == "red"
    assert len(hot["reasons"]) == 1
    assert "红色预警" in hot["reasons"][0] and "施工噪音" in hot["reasons"][0] and "2件" in hot["reasons"][0]
    # same street, no order of the warned item in it; and the other street's warning is old
    assert grids["T1112"]["properties"]["hot"] is False
    assert grids["T2111"]["properties"]["hot"] is False


def test_a_grid_far_above_its_usual_level_today_is_a_hot_spot(login, cast, now, orders, city_leader):
    other = make_item(name="占道经营")
    for minutes in range(4):  # no history: 4 today is far above the floor of 0.2 a day
        make_order(
            actor=cast.agent,
            now=now - dt.timedelta(minutes=10 + minutes),
            grid=cast.tree.other_grid,
            item=other,
        )
    props = _by_code(_map(login(city_leader)))["T2111"]["properties"]
    assert props["today"] == 5 and props["open"] == 5
    assert props["hot"] is True and props["level"] == "spike"
    assert "今日新增5件" in props["reasons"][0]


def test_a_grid_used_to_that_many_orders_is_not_a_hot_spot(login, cast, now, orders, city_leader):
    for days in range(1, 29):  # one order a day for four weeks: 4 today is within its usual level
        make_order(
            actor=cast.agent, now=now - dt.timedelta(days=days), grid=cast.tree.other_grid, item=cast.item
        )
    for minutes in range(3):
        make_order(
            actor=cast.agent,
            now=now - dt.timedelta(minutes=10 + minutes),
            grid=cast.tree.other_grid,
            item=cast.item,
        )
    rollup_catch_up(now=now)
    props = _by_code(_map(login(city_leader)))["T2111"]["properties"]
    assert props["today"] == 4 and props["usual"] == 1.0
    assert props["hot"] is False and props["reasons"] == []


def test_a_usual_day_is_not_a_hot_spot():
    assert not selectors.is_unusually_high(2, 0.0)  # fewer than 3 is never a spike
    assert not selectors.is_unusually_high(3, 0.0)  # P(X ≥ 3 | 0.2) ≈ 0.0011
    assert selectors.is_unusually_high(4, 0.0)
    assert not selectors.is_unusually_high(8, 3.0)  # P(X ≥ 8 | 3) ≈ 0.012
    assert selectors.is_unusually_high(12, 3.0)


@pytest.mark.parametrize(("k", "mu"), [(1, 0.2), (3, 0.2), (4, 0.2), (8, 3.0), (12, 3.0), (40, 20.0)])
def test_the_poisson_tail_matches_scipy(k, mu):
    assert math.isclose(
        selectors.poisson_tail(k, mu), float(poisson.sf(k - 1, mu)), rel_tol=1e-6, abs_tol=1e-12
    )


def test_the_map_legend_classes_cover_every_count():
    from assessment.views import map_classes

    assert map_classes(0) == [(0, 0)]
    assert map_classes(3) == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert map_classes(12) == [(0, 0), (1, 3), (4, 6), (7, 9), (10, 12)]
    for largest in (1, 5, 7, 99, 1000):
        classes = map_classes(largest)
        assert len(classes) <= 6 and classes[-1][0] <= largest <= classes[-1][1]


@pytest.fixture
def month_of_orders(cast, now, second_grid):
    """September: 东华 has 2 × 施工噪音 (cast.item) and 3 × 占道经营 (one in its second grid);
    西长 has 1 × 施工噪音. August: 5 × 施工噪音 in 东华 (another month)."""
    tree = cast.tree
    stalls = make_item(name="占道经营")
    september = dt.datetime(2025, 9, 2, 10, 0, tzinfo=now.tzinfo)
    august = dt.datetime(2025, 8, 20, 10, 0, tzinfo=now.tzinfo)
    for i in range(2):
        make_order(actor=cast.agent, now=september + i * HOUR, grid=tree.grid, item=cast.item)
    for i, grid in enumerate([tree.grid, tree.grid, second_grid]):
        make_order(actor=cast.agent, now=september + (3 + i) * HOUR, grid=grid, item=stalls)
    make_order(actor=cast.agent, now=september, grid=tree.other_grid, item=cast.item)
    for i in range(5):
        make_order(actor=cast.agent, now=august + i * HOUR, grid=tree.grid, item=cast.item)
    rollup_catch_up(now=now)
    return stalls


def test_each_street_gets_its_problem_of_the_month(cast, now, month_of_orders):
    stalls = month_of_orders
    rows = selectors.monthly_problem_by_street(scope=cast.tree.city, period=Period.parse_month("2025-09"))
    by_street = {r.name: r for r in rows}
    assert list(by_street) == ["东华街道", "西长街道"]
    east = by_street["东华街道"]
    assert (east.item_id, east.item_name, east.count, east.total) == (stalls.pk, "占道经营", 3, 5)
    assert east.share == pytest.approx(0.6)  # August's five noise reports are not September's
    west = by_street["西长街道"]
    assert (west.item_id, west.count, west.total, west.share) == (cast.item.pk, 1, 1, 1.0)
    august = selectors.monthly_problem_by_street(scope=cast.tree.street, period=Period.parse_month("2025-08"))
    assert [(r.name, r.item_id, r.count, r.total) for r in august] == [("东华街道", cast.item.pk, 5, 5)]
    quiet = selectors.monthly_problem_by_street(scope=cast.tree.street, period=Period.parse_month("2025-07"))
    assert [(r.item_id, r.count, r.share) for r in quiet] == [(None, 0, None)]


def test_a_tie_goes_to_the_lower_item_code(cast, now, second_grid):
    later = make_item(name="乱扔垃圾")
    for item in (later, cast.item):
        make_order(actor=cast.agent, now=now - HOUR, grid=cast.tree.grid, item=item)
    rollup_catch_up(now=now)
    [row] = selectors.monthly_problem_by_street(scope=cast.tree.street, period=Period.containing(now.date()))
    assert row.item_id == cast.item.pk and row.count == 1 and row.total == 2


def test_the_dashboard_shows_the_problem_of_the_month_and_the_map(
    login, cast, now, month_of_orders, city_leader
):
    html = login(city_leader).get("/assessment/", {"month": "2025-09"}).content.decode()
    assert "每月一题（" in html
    assert (
        f'<tr data-street="{cast.tree.street.pk}"><td>东华街道</td><td data-item="{month_of_orders.pk}">占道经营</td><td>3</td><td>60%</td>'
        in html
    )
    assert f'data-map-source="/assessment/map.json?scope={cast.tree.city.pk}"' in html
    assert 'id="dash-map"' in html and "data-minhu-map" in html and "hx-preserve" in html
    assert "dashboard_map.js" in html and "vendor/leaflet/leaflet.js" in html
    assert "<script>" not in html  # no inline script (CSP)


def _map_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/assessment/map.json")
    assert response.status_code == 200
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def test_the_map_query_count_does_not_grow_with_the_orders(login, cast, now, orders, city_leader):
    client = login(city_leader)
    _map_queries(client)  # warm the session
    quiet, _sql = _map_queries(client)
    early_warning_record(
        area=cast.tree.street,
        item=cast.item,
        day=now.date(),
        level="orange",
        observed=6,
        expected=1,
        rule="spike",
        episode_key="map-q",
        now=now,
    )
    warned, _sql = _map_queries(client)
    assert warned == quiet + 2  # the warned item's orders, the closure of the warned areas
    for minutes in range(5):
        make_order(
            actor=cast.agent,
            now=now - dt.timedelta(minutes=minutes),
            grid=cast.tree.other_grid,
            item=cast.item,
        )
    handled_order(cast, now - dt.timedelta(days=2), grid=cast.tree.other_grid)
    rollup_catch_up(now=now)
    count, sql = _map_queries(client)
    assert count == warned
    assert warned <= 12  # pinned: session, user, device, scopes, grids, 3 counts, warnings (+2)
    # exactly one GROUP BY over the open orders by grid
    assert sum(1 for q in sql if "GROUP BY" in q and "awaiting_dispatch" in q) == 1
