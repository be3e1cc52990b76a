"""The timeline is append-only: the model layer and the database triggers both refuse changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from orders.choices import Channel, EventType, OrderKind, OrderStatus
from orders.models import Order, OrderEvent

NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def event(tree):
    order = Order.objects.create(
        number="20250303000001",
        channel=Channel.HOTLINE,
        kind=OrderKind.COMPLAINT,
        status=OrderStatus.REGISTERED,
        title="噪音",
        content="夜间施工噪音",
        dispatch_unit=tree.district,
        created_at=NOW,
        updated_at=NOW,
    )
    return OrderEvent.objects.create(order=order, seq=1, type=EventType.CREATED, occurred_at=NOW)


def test_saving_an_existing_event_is_refused(event):
    event.reason = "changed"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    assert OrderEvent.objects.get(pk=event.pk).reason == ""


def test_deleting_an_event_is_refused(event):
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    assert OrderEvent.objects.filter(pk=event.pk).exists()


def test_queryset_update_and_delete_are_refused(event):
    with pytest.raises(TypeError):
        OrderEvent.objects.filter(pk=event.pk).update(reason="x")
    with pytest.raises(TypeError):
        OrderEvent.objects.filter(pk=event.pk).delete()
    assert OrderEvent.objects.get(pk=event.pk).reason == ""


def test_raw_sql_update_is_refused_by_the_trigger(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE orders_orderevent SET reason = 'forged' WHERE id = %s", [event.pk])
    assert OrderEvent.objects.get(pk=event.pk).reason == ""


def test_raw_sql_delete_is_refused_by_the_trigger(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM orders_orderevent WHERE id = %s", [event.pk])
    assert OrderEvent.objects.filter(pk=event.pk).exists()


def test_two_events_with_one_seq_are_refused(event):
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderEvent.objects.create(order=event.order, seq=1, type=EventType.SUBMITTED, occurred_at=NOW)
