"""Smoke run of the workbench page benchmark on a tiny seeded database (no timing asserted)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from bench import bench_pages
from bench.seed_orders import seed_orders
from core.workcalendar import SHANGHAI
from demo.services import demo_city_seed

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI)


def test_every_page_is_fetched_and_counted_beside_the_shell():
    cache.clear()
    demo_city_seed(scale=0.02)
    seed_orders(orders=200, open_orders=80, now=NOW, chunk=100)
    lines: list[str] = []
    results = bench_pages.run(repeat=2, details=3, out=lines.append)
    assert len(results) == 16  # the shell and fifteen pages
    for result in results.values():
        assert len(result.times_ms) == 2 and result.queries >= 1
    assert lines[0].startswith("database:") and lines[-1].startswith("worst p95:")
