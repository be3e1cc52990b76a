"""Two workers suggesting for the same order at once (PostgreSQL, real threads): the unique
``OrderSuggestion`` row lets exactly one claim it and dispatch it."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection
from django.test import override_settings

from insight.autodispatch import order_suggest, system_dispatcher
from insight.models import OrderSuggestion
from orders import services
from orders.choices import EventType
from orders.models import Order, OrderEvent
from orders.tests.factories import make_order

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("transactional_db")]


def test_two_workers_claiming_one_order_dispatch_it_once(loop):
    order = make_order(
        actor=loop.agent,
        now=loop.now,
        grid=loop.tree.grid,
        title="路灯晚上不亮",
        content="楼下的路灯坏了，一片漆黑",
    )
    services.order_submit(order=order, actor=loop.agent, now=loop.now)
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def work(i: int) -> None:
        try:
            mine = Order.objects.get(pk=order.pk)
            actor = system_dispatcher()
            barrier.wait(timeout=30)
            results[i] = order_suggest(order=mine, now=loop.now, actor=actor)
        except Exception as exc:  # reported below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=0.0):  # settings are process-wide
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    close_old_connections()
    made = [r for r in results if isinstance(r, OrderSuggestion)]
    assert len(made) == 1, results
    assert results.count(None) == 1, results
    assert OrderSuggestion.objects.filter(order=order).count() == 1
    assert OrderEvent.objects.filter(order=order, type=EventType.DISPATCHED).count() == 1
