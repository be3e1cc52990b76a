"""Smoke run of the sweep benchmark on a tiny seeded database: the per-order loop (the baseline)
and the sweep make the same decisions."""

from __future__ import annotations

import datetime as dt

import pytest

from bench import bench_sweep
from bench.seed_orders import seed_orders
from core.workcalendar import SHANGHAI, clear_calendar_cache
from demo.services import demo_city_seed
from orders.models import DeadlineWarning

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def seeded():
    clear_calendar_cache()
    demo_city_seed(scale=0.02)
    seed_orders(orders=250, open_orders=120, now=NOW, chunk=100)
    yield
    clear_calendar_cache()


def test_the_loop_and_the_sweep_record_the_same_warnings(seeded):
    later = NOW + dt.timedelta(days=2)  # far enough for new thresholds to be due
    ids = bench_sweep.open_order_ids()
    loop = bench_sweep.rolled_back(lambda: bench_sweep.per_order_loop(ids, now=later))
    whole = bench_sweep.rolled_back(
        lambda: bench_sweep.sweep("sweep", now=later, limit=10_000, orders=len(ids))
    )
    assert loop.warnings == whole.warnings > 0
    assert (loop.urged, loop.escalated) == (whole.urged, whole.escalated)


def test_the_run_reports_the_three_ways_and_commits_only_the_sweep(seeded):
    before = DeadlineWarning.objects.count()
    lines: list[str] = []
    figures = bench_sweep.run(baseline_orders=30, after=dt.timedelta(hours=12), out=lines.append)
    assert set(figures) == {"baseline", "task", "full"}
    assert DeadlineWarning.objects.count() == before + figures["full"].warnings
    assert any("floor" in line for line in lines)
