"""Concurrency with real threads on PostgreSQL (STYLE.md rule 23, SECURITY.md DI-2, SLA-4).

Each thread has its own connection and transaction; a barrier makes them act together after
both have read the same order.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from orders import services
from orders.choices import EventType, OrderStatus, WarningLevel
from orders.errors import OrderError, StaleTransition
from orders.models import DeadlineWarning, Notification, Order, OrderEvent
from orders.notifications import LoggingSmsGateway, deliver_pending
from orders.tests.factories import make_order, person, walk_to
from orgs.choices import Role

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("transactional_db")]


def run_together(*jobs: Callable[[threading.Barrier], Any]) -> list[Any]:
    """Run each job in its own thread; returns each one's result or exception."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def wrap(i: int, job: Callable[[threading.Barrier], Any]) -> None:
        try:
            results[i] = job(barrier)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    close_old_connections()
    return results


def test_two_handlers_accepting_at_once_exactly_one_wins(cast, now):
    colleague = person("district_handler_2", cast.tree.district, Role.HANDLER)
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)

    def accept_as(user):
        def job(barrier: threading.Barrier) -> Any:
            mine = Order.objects.get(pk=order.pk)  # both read the same version
            barrier.wait()
            return services.order_accept(order=mine, actor=user, now=now + dt.timedelta(hours=3))

        return job

    results = run_together(accept_as(cast.district_handler), accept_as(colleague))
    won = [r for r in results if isinstance(r, OrderEvent)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], StaleTransition)
    assert "刷新" in lost[0].message  # a clear message: someone else acted first, refresh
    assert OrderEvent.objects.filter(order=order, type=EventType.ACCEPTED).count() == 1
    fresh = Order.objects.get(pk=order.pk)
    assert (
        fresh.status == OrderStatus.IN_PROGRESS
        and fresh.last_seq == OrderEvent.objects.filter(order=order).count()
    )


def test_two_dispatchers_racing_on_different_actions_never_both_apply(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(order, OrderStatus.AWAITING_DISPATCH, cast, now)

    def dispatch(barrier: threading.Barrier) -> Any:
        mine = Order.objects.get(pk=order.pk)
        barrier.wait()
        return services.order_dispatch(
            order=mine, actor=cast.city_dispatcher, now=now + dt.timedelta(hours=1)
        )

    def withdraw(barrier: threading.Barrier) -> Any:
        mine = Order.objects.get(pk=order.pk)
        barrier.wait()
        return services.order_withdraw(
            order=mine, actor=cast.city_dispatcher, now=now + dt.timedelta(hours=1), reason="重复登记"
        )

    results = run_together(dispatch, withdraw)
    assert sum(isinstance(r, OrderEvent) for r in results) == 1
    assert sum(isinstance(r, OrderError) for r in results) == 1
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.status in (OrderStatus.AWAITING_ACCEPTANCE, OrderStatus.WITHDRAWN)
    assert fresh.last_seq == OrderEvent.objects.filter(order=order).count()


def test_two_sweeps_at_once_record_each_warning_once(cast, now):
    orders = []
    for _ in range(4):
        order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
        walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
        orders.append(order)
    late = now + dt.timedelta(days=4)  # every accept-by (29 September 00:00) has passed

    def sweep(barrier: threading.Barrier) -> Any:
        barrier.wait()
        return services.deadline_sweep(now=late)

    results = run_together(sweep, sweep, sweep)
    assert not any(isinstance(r, Exception) for r in results), results
    # yellow and red on the accept-by (the contact and reply deadlines are not due yet)
    assert DeadlineWarning.objects.count() == 2 * len(orders)
    assert sum(r.warnings for r in results) == 2 * len(orders)
    for order in orders:
        assert OrderEvent.objects.filter(order=order, type=EventType.DEADLINE_WARNING).count() == 2
        assert OrderEvent.objects.filter(order=order, type=EventType.URGED).count() == 1
        assert set(DeadlineWarning.objects.filter(order=order).values_list("level", flat=True)) == {
            WarningLevel.YELLOW,
            WarningLevel.RED,
        }
    assert services.deadline_sweep(now=late).warnings == 0


def test_two_delivery_workers_deliver_every_row_exactly_once(cast, now, settings, monkeypatch):
    settings.ORDERS_SMS_EVENT_TYPES = [EventType.DISPATCHED]
    LoggingSmsGateway.sent.clear()
    # the broker is down: the prompt after-commit delivery never runs, the rows wait (DI-6)
    monkeypatch.setattr("orders.tasks.deliver_notifications", lambda event_id: None)
    for _ in range(5):
        order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
        walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    total = Notification.objects.count()
    sms = Notification.objects.filter(channel="sms").count()
    assert sms >= 5

    def worker(barrier: threading.Barrier) -> Any:
        barrier.wait()
        return deliver_pending(now=now + dt.timedelta(hours=5))

    results = run_together(worker, worker)
    assert sum(results) == total
    assert Notification.objects.filter(delivered_at__isnull=True).count() == 0
    keys = [key for _user, key, _text in LoggingSmsGateway.sent]
    assert len(keys) == sms and len(set(keys)) == sms


def test_concurrent_creations_get_distinct_numbers_and_one_order_per_request_id(cast, now):
    def create(request_id):
        def job(barrier: threading.Barrier) -> Any:
            barrier.wait()
            return make_order(actor=cast.agent, now=now, client_request_id=request_id).pk

        return job

    results = run_together(create("retry-1"), create("retry-1"), create(None), create(None))
    assert not any(isinstance(r, Exception) for r in results), results
    assert results[0] == results[1]  # the retry got the first call's order
    assert Order.objects.filter(client_request_id="retry-1").count() == 1
    numbers = list(Order.objects.values_list("number", flat=True))
    assert len(numbers) == 3 and len(set(numbers)) == 3
    assert sorted(numbers) == ["20250926000001", "20250926000002", "20250926000003"]


def test_concurrent_batches_share_no_number_and_keep_one_order_per_request_id(cast, now):
    def batch(*request_ids):
        def job(barrier: threading.Barrier) -> Any:
            entries = [
                {
                    "channel": "hotline",
                    "kind": "complaint",
                    "title": "噪音",
                    "content": "夜间施工。",
                    "client_request_id": r,
                }
                for r in request_ids
            ]
            barrier.wait()
            return [
                (b.order.pk, b.created)
                for b in services.order_create_batch(actor=cast.agent, now=now, entries=entries)
            ]

        return job

    results = run_together(batch("a-1", "both", None), batch("b-1", "both", None))
    assert not any(isinstance(r, Exception) for r in results), results
    first, second = results
    assert first[1][0] == second[1][0]  # the shared request id is one order
    assert [c for _pk, c in first].count(False) + [c for _pk, c in second].count(False) == 1
    assert Order.objects.filter(client_request_id="both").count() == 1
    numbers = list(Order.objects.values_list("number", flat=True))
    assert len(numbers) == 5 and len(set(numbers)) == 5
    assert OrderEvent.objects.count() == 5
