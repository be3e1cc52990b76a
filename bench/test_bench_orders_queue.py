"""Smoke run of the queue and detail benchmark on a tiny seeded database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from bench import bench_queue
from bench.bench_orders import count_queries
from bench.seed_orders import seed_orders
from core.workcalendar import SHANGHAI
from demo.services import demo_city_seed
from orders.selectors import order_list_for_queue

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def seeded():
    demo_city_seed(scale=0.02)
    seed_orders(orders=250, open_orders=100, now=NOW, chunk=100)


def test_the_run_times_every_case_with_its_baselines(seeded):
    lines: list[str] = []
    results = bench_queue.run(repeat=3, baseline_repeat=2, details=6, out=lines.append)
    assert len(results) == 10
    for current, base, bare in results.values():
        assert len(current.times_ms) == 3 and current.queries >= 1
        assert base is not None and bare is not None and len(base.times_ms) == 2
    assert any("no-idx" in line for line in lines)


def test_the_baseline_drops_the_indexes_only_for_its_block(seeded):
    names = bench_queue.baseline_indexes("queue")
    assert "order_open_dispatch" in names and "assignment_unit_status" in names
    assert bench_queue.baseline_indexes("detail")
    with bench_queue.without_indexes(names):
        assert "order_open_dispatch" not in bench_queue._indexes("orders_order")
    assert "order_open_dispatch" in bench_queue._indexes("orders_order")


def test_the_unscoped_reference_gives_the_dispatcher_the_same_queue(seeded):
    actors = bench_queue.pick_actors()
    scoped = list(order_list_for_queue(actors.dispatcher, queue="dispatch").values_list("pk", flat=True))
    with bench_queue.unscoped():
        bare = list(order_list_for_queue(actors.dispatcher, queue="dispatch").values_list("pk", flat=True))
    assert scoped and scoped == bare
    fresh = type(actors.dispatcher).objects.get(pk=actors.dispatcher.pk)  # memberships not read yet
    with count_queries() as counter:
        list(order_list_for_queue(fresh, queue="dispatch")[:5])
    # the actor's memberships (read first, once per request; units passed as literals), then the page
    assert counter[0] == 2 and connection.vendor in ("sqlite", "postgresql")
