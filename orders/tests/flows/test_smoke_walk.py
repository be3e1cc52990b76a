from __future__ import annotations

import pytest

from orders.choices import OrderStatus
from orders.tests.factories import PATH, make_order, walk_to


@pytest.mark.parametrize(
    "status",
    PATH + [OrderStatus.SUSPENDED, OrderStatus.RETURN_REQUESTED, OrderStatus.MERGED, OrderStatus.WITHDRAWN],
)
def test_walk_to_reaches_every_state(cast, now, status):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(order, status, cast, now)
    order.refresh_from_db()
    assert order.status == status
