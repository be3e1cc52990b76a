"""Every page renders for the person it is for (a first net under the detailed tests)."""

from __future__ import annotations

import pytest

from orders import services
from orders.tests.factories import make_order

pytestmark = pytest.mark.django_db


def test_each_desk_renders(cast, now, signed_in, street_item):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=street_item)
    services.order_submit(order=order, actor=cast.agent, now=now)
    pages = [
        (cast.agent, "/calls/new/"),
        (cast.city_dispatcher, "/dispatch/"),
        (cast.city_dispatcher, "/dispatch/?tab=returns"),
        (cast.city_dispatcher, "/dispatch/?tab=review"),
        (cast.city_dispatcher, "/dispatch/?tab=requests"),
        (cast.city_dispatcher, f"/orders/{order.pk}/"),
        (cast.street_handler, "/inbox/"),
        (cast.callback_agent, "/callbacks/"),
        (cast.supervisor, "/supervision/"),
        (cast.city_dispatcher, "/orders/"),
        (cast.street_handler, "/notifications/"),
    ]
    for user, path in pages:
        response = signed_in(user).get(path)
        assert response.status_code == 200, (path, response.status_code)


def test_public_pages_render(client, db):
    assert client.get("/report/").status_code == 200
    assert client.get("/follow/").status_code == 200
