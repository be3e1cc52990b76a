"""Smoke run of the registration benchmark at a tiny size: every way in registers orders, and the
raw SQL baseline writes the very rows the services wrote."""

from __future__ import annotations

import pytest

from bench import bench_orders
from orders.models import Notification, Order, OrderEvent

pytestmark = pytest.mark.django_db


def test_the_run_reports_every_way_in_and_the_floor_line():
    lines: list[str] = []
    figures = bench_orders.run(6, preload=40, scale=0.02, clients=1, batch=3, warmup=1, out=lines.append)
    assert set(figures) == {
        "service_inline",
        "service",
        "service_one_call",
        "api",
        "service_batch",
        "api_batch",
        "worker",
        "raw",
        "raw_bulk",
    }
    # (the worker line stays empty here: the test's transaction never commits, so nothing is queued)
    assert all(f.count > 0 and f.seconds > 0 for k, f in figures.items() if k != "worker")
    assert figures["service"].queries and figures["api"].queries
    assert any("raw/this" in line for line in lines)
    assert figures["service_batch"].count == 6 and figures["service_batch"].per == "/call"
    # 40 seeded + (1 warm-up + 1 counted + 6) per service and API line, (2 + 2) calls of 3 for
    # the two batch lines, + 6 + 6 raw copies
    assert Order.objects.count() == 40 + 4 * 8 + 2 * 4 * 3 + 12


def test_the_raw_baseline_copies_the_rows_the_services_wrote(django_capture_on_commit_callbacks):
    ctx = bench_orders.prepare(scale=0.02, preload=0, out=lambda _line: None)
    queued: list[int] = []
    with bench_orders.delivery_queued(queued), django_capture_on_commit_callbacks(execute=True):
        ids = [bench_orders.register_service(ctx, two_step=True) for _ in range(3)]
    assert len(queued) == 3  # one submit event per order has outbox rows to deliver
    assert bench_orders.deliver_queued(queued) > 0
    rows = bench_orders.read_rows(ids, prefix="R")
    before = (Order.objects.count(), OrderEvent.objects.count(), Notification.objects.count())
    bench_orders.insert_raw(rows, per_order=True)
    after = (Order.objects.count(), OrderEvent.objects.count(), Notification.objects.count())
    events = OrderEvent.objects.filter(order_id__in=ids).count()
    notes = Notification.objects.filter(event__order_id__in=ids).count()
    assert after == (before[0] + 3, before[1] + events, before[2] + notes)
    for pk in ids:
        original = Order.objects.get(pk=pk)
        copy = Order.objects.get(number="R" + original.number)
        assert (copy.title, copy.requester_phone, copy.status) == (
            original.title,
            original.requester_phone,
            original.status,
        )
