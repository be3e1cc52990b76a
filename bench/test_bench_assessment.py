"""Smoke run of the assessment benchmark at a tiny size: every figure is reported, and the rollup
widgets agree with the direct aggregates over the raw orders."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from bench.bench_assessment import run
from bench.seed_orders import seed_orders
from core.workcalendar import SHANGHAI, clear_calendar_cache
from demo.services import demo_city_seed
from orgs.grid_services import grid_index_invalidate

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    clear_calendar_cache()
    with django_db_blocker.unblock(), transaction.atomic():
        demo_city_seed(scale=0.02)
        yield seed_orders(orders=400, open_orders=60, now=NOW, days=40, chunk=100)
        transaction.set_rollback(True)
    clear_calendar_cache()
    grid_index_invalidate()


def test_the_benchmark_reports_every_figure_and_both_ways_agree(seeded):
    lines: list[str] = []
    result = run(orders=0, days=40, scale=0.02, repeat=2, seed=False, out=lines.append)
    assert result is not None
    assert result.orders == 400
    assert result.day_orders > 0 and result.rebuild_s > 0
    assert set(result.widgets) == {
        "street ranking (with last month)",
        "department ranking",
        "city rates",
        "volume trend",
        "top problems",
        "channel breakdown",
        "problem of the month (每月一题)",
        "today's counters",
        "today's counters (counted live)",
    }
    assert result.snapshot.p50_ms > 0
    assert set(result.pages) == {
        "dashboard page (city leader)",
        "dashboard map (GeoJSON)",
        "street ranking (API)",
        "department ranking (API)",
    }
    assert all(t.p95_ms > 0 for t in result.pages.values())
    assert result.streets_equal, "\n".join(lines)
    assert result.departments_equal, "\n".join(lines)
    assert result.city_equal, "\n".join(lines)
    assert result.volume_equal and result.counters_equal, "\n".join(lines)
    assert any("direct/rollup" in line for line in lines)
    assert any("60,000 orders ≈" in line for line in lines)
