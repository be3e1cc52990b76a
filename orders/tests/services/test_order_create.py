"""order_create: numbers, idempotency, the grid from a point or an address, personal data at rest."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from shapely.geometry import box, mapping

from core.crypto import search_hash
from core.workcalendar import SHANGHAI
from orders.choices import Channel, EventType, NotificationChannel, OrderKind, OrderStatus
from orders.errors import InvalidInput
from orders.models import Notification, Order, OrderEvent
from orders.selectors import orders_of_requester
from orders.tests.factories import make_order
from orgs.addresses import address_create
from orgs.geo import CoordSystem, from_wgs84
from orgs.grid_services import grid_boundaries_import, grid_index_invalidate
from orgs.tests.factories import UserFactory


def test_numbers_are_the_date_and_a_daily_sequence(cast, now):
    first = make_order(actor=cast.agent, now=now)
    second = make_order(actor=cast.agent, now=now + dt.timedelta(hours=1))
    # 23:30 UTC on the 26th is already the 27th in Shanghai: a new day, a new sequence
    next_day = make_order(actor=cast.agent, now=dt.datetime(2025, 9, 26, 16, 30, tzinfo=dt.UTC))
    assert (first.number, second.number) == ("20250926000001", "20250926000002")
    assert next_day.number == "20250927000001"


def test_many_orders_on_one_day_get_distinct_increasing_numbers(cast, now):
    numbers = [make_order(actor=cast.agent, now=now).number for _ in range(25)]
    assert len(set(numbers)) == 25
    assert numbers == sorted(numbers)


def test_the_same_client_request_id_twice_gives_one_order(cast, now):
    first = make_order(actor=cast.agent, now=now, client_request_id="app-7f3a")
    again = make_order(
        actor=cast.agent, now=now + dt.timedelta(seconds=5), client_request_id="app-7f3a", title="重试"
    )
    assert again.pk == first.pk and again.title == first.title
    assert Order.objects.filter(client_request_id="app-7f3a").count() == 1
    assert OrderEvent.objects.filter(order=first).count() == 1


def test_a_different_client_request_id_gives_a_new_order(cast, now):
    a = make_order(actor=cast.agent, now=now, client_request_id="app-1")
    b = make_order(actor=cast.agent, now=now, client_request_id="app-2")
    assert a.pk != b.pk


def test_creation_appends_the_first_timeline_row(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid)
    event = OrderEvent.objects.get(order=order)
    assert (event.seq, event.type, event.actor, event.to_status) == (
        1,
        EventType.CREATED,
        cast.agent,
        OrderStatus.REGISTERED,
    )
    assert order.intake_unit == cast.tree.city and order.dispatch_unit == cast.tree.city
    assert order.last_seq == 1


def test_a_resident_submission_waits_for_dispatch_and_tells_the_dispatchers(cast, now):
    order = make_order(actor=None, now=now, channel=Channel.MOBILE, grid=cast.tree.grid)
    assert order.status == OrderStatus.AWAITING_DISPATCH and order.created_by is None
    told = Notification.objects.filter(event__order=order, channel=NotificationChannel.IN_APP)
    assert set(told.values_list("recipient", flat=True)) == {cast.city_dispatcher.pk}


def test_phone_and_id_number_are_encrypted_at_rest_and_found_by_hash(cast, now):
    order = make_order(
        actor=cast.agent,
        now=now,
        requester_phone="+86 138-0013-8000",
        requester_id_number="11010519491231002X",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT requester_phone, requester_id_number, requester_name FROM orders_order WHERE id = %s",
            [order.pk],
        )
        phone, id_number, name = cursor.fetchone()
    assert "13800138000" not in phone and "11010519491231002X" not in id_number and "张三" not in name
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.requester_phone == "13800138000"
    assert fresh.requester_phone_hash == search_hash("13800138000", kind="phone")
    assert list(orders_of_requester(cast.agent, "138 0013 8000")) == [fresh]
    assert list(orders_of_requester(cast.outsider, "13800138000")) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("requester_phone", "12"),
        ("requester_id_number", "110105194912310021"),
        ("title", " "),
        ("content", ""),
    ],
)
def test_invalid_input_is_refused_and_nothing_is_created(cast, now, field, value):
    with pytest.raises(InvalidInput):
        make_order(actor=cast.agent, now=now, **{field: value})
    assert not Order.objects.exists()


def test_someone_without_a_role_cannot_register(cast, now):
    nobody = UserFactory.create(username="nobody")
    with pytest.raises(PermissionDenied):
        make_order(actor=nobody, now=now)
    assert not Order.objects.exists()


def test_unknown_kind_or_channel_is_refused(cast, now):
    with pytest.raises(InvalidInput):
        make_order(actor=cast.agent, now=now, kind="gossip")
    with pytest.raises(InvalidInput):
        make_order(actor=cast.agent, now=now, channel="pigeon", kind=OrderKind.HELP)


@pytest.fixture
def grid_with_boundary(cast):
    grid_index_invalidate()
    square = box(116.30, 39.90, 116.31, 39.91)
    feature = {"type": "Feature", "properties": {"code": cast.tree.grid.code}, "geometry": mapping(square)}
    grid_boundaries_import(actor=None, features={"type": "FeatureCollection", "features": [feature]})
    yield cast.tree.grid
    grid_index_invalidate()


def test_the_grid_comes_from_the_point_in_any_declared_system(cast, now, grid_with_boundary):
    lon, lat = from_wgs84(116.305, 39.905, CoordSystem.GCJ02)
    order = make_order(actor=cast.agent, now=now, lon=lon, lat=lat, coord_system=CoordSystem.GCJ02)
    assert order.grid == grid_with_boundary
    assert order.lon is not None and order.lat is not None
    assert abs(order.lon - 116.305) < 1e-5 and abs(order.lat - 39.905) < 1e-5  # stored in WGS-84


def test_a_point_outside_every_grid_leaves_the_grid_empty(cast, now, grid_with_boundary):
    order = make_order(actor=cast.agent, now=now, lon=117.0, lat=40.5)
    assert order.grid is None


def test_the_grid_comes_from_the_address_list(cast, now):
    address_create(actor=None, text="东华路3号院2号楼", grid=cast.tree.grid)
    order = make_order(actor=cast.agent, now=now, address_text="东华路３号院２号楼")
    assert order.grid == cast.tree.grid and order.address is not None


def test_half_a_point_is_refused(cast, now):
    with pytest.raises(InvalidInput):
        make_order(actor=cast.agent, now=now, lon=116.3)


def test_times_are_stored_as_given(cast):
    when = dt.datetime(2025, 3, 3, 8, 15, tzinfo=SHANGHAI)
    order = make_order(actor=cast.agent, now=when)
    assert Order.objects.get(pk=order.pk).created_at == when
