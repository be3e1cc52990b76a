"""The command-centre dashboard and the briefing download: scope, content, a pinned query
budget that does not grow with the orders, the background refresh, the audited download."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from assessment.rollups import rollup_catch_up
from assessment.services import early_warning_record
from assessment.tests.factories import handled_order
from core.models import AuditEvent
from orders.choices import Satisfaction


@pytest.fixture
def history(cast, now):
    handled_order(cast, now)
    handled_order(
        cast,
        now,
        grid=cast.tree.other_grid,
        satisfaction=Satisfaction.DISSATISFIED,
        resolved=False,
        close=True,
    )
    early_warning_record(
        area=cast.tree.street,
        item=cast.item,
        day=now.date(),
        level="red",
        observed=12,
        expected=3,
        rule="spike",
        episode_key="dash-1",
        now=now,
    )
    rollup_catch_up(now=now)


def test_a_city_leader_sees_the_citys_dashboard(login, cast, now, history, city_leader):
    response = login(city_leader).get("/assessment/", {"month": "2025-09"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "指挥中心 · 测试市" in html
    # 2 valid callbacks: both contacted, one resolved and satisfied → 0.1·1 + 0.5·0.5 + 0.4·0.5
    assert 'data-rate="score">55.00<' in html
    assert 'data-rate="resolution">50.0%<' in html
    assert "东华街道" in html and "西长街道" in html and "市城管局" in html
    assert 'data-counter="new">2<' in html
    assert "东华街道 · 施工噪音" in html  # the early warning
    block = re.search(r'<script id="dash-data" type="application/json">(.*?)</script>', html, re.S)
    assert block is not None
    data = json.loads(block.group(1))
    assert sum(data["trend"]["received"]) == 2 and data["channels"][0]["value"] == 2
    assert 'hx-headers=\'{"X-Minhu-Background": "1"}\'' in html
    assert "echarts.common.min.js" in html and "<script>" not in html  # no inline script (CSP)


def test_a_street_secretary_gets_the_streets_dashboard_by_default(
    login, cast, now, history, street_secretary
):
    html = login(street_secretary).get("/assessment/", {"month": "2025-09"}).content.decode()
    assert "指挥中心 · 东华街道" in html
    assert 'data-rate="score">100.00<' in html
    assert "西长街道" not in html


def test_a_scope_outside_the_users_reach_is_403(login, cast, now, history, street_secretary):
    response = login(street_secretary).get("/assessment/", {"scope": cast.tree.other_street.pk})
    assert response.status_code == 403


def test_someone_without_a_territory_or_unit_gets_403(login, now, tree):
    from orgs.tests.factories import UserFactory

    assert login(UserFactory.create(username="nobody")).get("/assessment/").status_code == 403


def _queries(client, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/assessment/", params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_dashboard_query_count_does_not_grow_with_the_orders(login, cast, now, history, city_leader):
    client = login(city_leader)
    _queries(client, month="2025-09")  # warm the session and caches
    before = _queries(client, month="2025-09")
    for _ in range(3):
        handled_order(cast, now, grid=cast.tree.other_grid)
    rollup_catch_up(now=now)
    assert _queries(client, month="2025-09") == before
    assert before <= 40  # pinned ceiling: session, auth and one query per widget


def test_the_briefing_downloads_from_the_dashboard_and_is_audited(login, cast, now, history, city_leader):
    response = login(city_leader).get(
        "/assessment/briefing/", {"scope": cast.tree.city.pk, "month": "2025-09"}
    )
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert "街道排名" in book.sheetnames
    assert AuditEvent.objects.filter(event_type="assessment.briefing_export", actor=city_leader).count() == 1
