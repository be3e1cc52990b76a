"""order_create_batch: the same orders, events and outbox rows as order_create one by one; all or
none; idempotent on client_request_id; a fixed number of statements whatever the batch size."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import services
from orders.choices import Channel, EventType, OrderStatus
from orders.errors import InvalidBatch, InvalidInput
from orders.models import Notification, Order, OrderEvent
from orders.tests.factories import make_order
from orders.tests.factories import order_fields as entry
from orgs.addresses import address_create
from orgs.tests.factories import UserFactory

ORDER_FIELDS = (
    "channel",
    "kind",
    "urgency",
    "status",
    "version",
    "last_seq",
    "item_id",
    "title",
    "content",
    "address_text",
    "address_id",
    "lon",
    "lat",
    "grid_id",
    "requester_name",
    "requester_phone",
    "requester_phone_hash",
    "requester_id_hash",
    "confidential",
    "call_id",
    "created_by_id",
    "intake_unit_id",
    "dispatch_unit_id",
    "holder_unit_id",
    "created_at",
)


def snapshot(order: Order) -> dict[str, Any]:
    """What a registration wrote for ``order``, without ids, numbers and request ids."""
    stored = Order.objects.get(pk=order.pk)
    event = OrderEvent.objects.get(order=stored)
    told = sorted(
        Notification.objects.filter(event=event).values_list("recipient_id", "channel", "title", "body")
    )
    told = [(r, c, t.replace(stored.number, "N"), b) for r, c, t, b in told]
    return {
        "order": {f: getattr(stored, f) for f in ORDER_FIELDS},
        "event": (event.seq, event.type, event.actor_id, event.actor_unit_id, event.to_status, event.payload),
        "told": told,
    }


def test_a_batch_writes_what_order_create_writes_one_by_one(cast, now):
    address_create(actor=None, text="东华路3号院2号楼", grid=cast.tree.grid)
    variants = [
        entry(),
        entry(submit=True, item=cast.item, address_text="东华路３号院２号楼"),
        entry(channel=Channel.WEB, grid=cast.tree.grid, requester_id_number="11010519491231002X"),
        entry(address_text="东华路3号院2号楼", confidential=True, call_id="call-9"),
        entry(address_text="没有这个地址", urgency="urgent", submit=True),
    ]
    single = [services.order_create(actor=cast.agent, now=now, **v) for v in variants]
    batch = services.order_create_batch(actor=cast.agent, now=now, entries=variants)
    assert [b.created for b in batch] == [True] * len(variants)
    assert [snapshot(b.order) for b in batch] == [snapshot(o) for o in single]
    assert snapshot(batch[1].order)["told"], "a submitted order tells the dispatchers"
    assert batch[1].order.grid == cast.tree.grid and batch[4].order.address is None


def test_a_batch_numbers_follow_on_the_days_sequence(cast, now):
    first = make_order(actor=cast.agent, now=now)
    batch = services.order_create_batch(actor=cast.agent, now=now, entries=[entry() for _ in range(3)])
    after = make_order(actor=cast.agent, now=now)
    numbers = [first.number, *(b.order.number for b in batch), after.number]
    assert numbers == [f"20250926{n:06d}" for n in range(1, 6)]


def test_a_batch_takes_a_fixed_number_of_statements(cast, now):
    def statements(n: int) -> int:
        entries = [entry(submit=True, address_text=f"东华路{k}号") for k in range(n)]
        with CaptureQueriesContext(connection) as captured:
            services.order_create_batch(actor=cast.agent, now=now, entries=entries)
        return len(captured)

    few, many = statements(2), statements(40)
    # SQLite caps a statement's parameters, so Django may split a large insert in two
    assert many == few or (connection.vendor == "sqlite" and many <= few + 2), (few, many)
    assert Order.objects.count() == 42


def test_known_request_ids_answer_with_their_orders(cast, now):
    earlier = make_order(actor=cast.agent, now=now, client_request_id="up-1")
    batch = services.order_create_batch(
        actor=cast.agent,
        now=now,
        entries=[
            entry(client_request_id="up-1", title="重发"),
            entry(client_request_id="up-2"),
            entry(client_request_id=" up-2 ", title="同批重复"),
        ],
    )
    assert [(b.order.pk, b.created) for b in batch][0] == (earlier.pk, False)
    assert batch[1].created and not batch[2].created and batch[2].order.pk == batch[1].order.pk
    assert Order.objects.count() == 2 and OrderEvent.objects.count() == 2
    again = services.order_create_batch(actor=cast.agent, now=now, entries=[entry(client_request_id="up-2")])
    assert (again[0].order.pk, again[0].created) == (batch[1].order.pk, False)


def test_bad_entries_are_reported_together_and_nothing_is_written(cast, now):
    with pytest.raises(InvalidBatch) as caught:
        services.order_create_batch(
            actor=cast.agent,
            now=now,
            entries=[
                entry(),
                entry(title=" "),
                entry(requester_phone="12"),
                entry(kind="gossip"),
                entry(client_request_id="x" * 65),
                entry(colour="red"),
            ],
        )
    assert [i for i, _m in caught.value.problems] == [1, 2, 3, 4, 5]
    assert "第2条：请填写标题。" in caught.value.message
    assert "第3条：联系电话格式不正确。" in caught.value.message
    assert not Order.objects.exists() and not OrderEvent.objects.exists()
    assert not Notification.objects.exists()


def test_an_empty_or_oversized_batch_is_refused(cast, now):
    with pytest.raises(InvalidInput, match="至少"):
        services.order_create_batch(actor=cast.agent, now=now, entries=[])
    with pytest.raises(InvalidInput, match="最多登记500条"):
        services.order_create_batch(actor=cast.agent, now=now, entries=[entry()] * 501)
    assert not Order.objects.exists()


def test_someone_without_a_role_cannot_register_a_batch(cast, now):
    nobody = UserFactory.create(username="nobody")
    with pytest.raises(PermissionDenied):
        services.order_create_batch(actor=nobody, now=now, entries=[entry()])
    assert not Order.objects.exists()


def test_a_failed_batch_gives_its_numbers_back(cast, now, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(OrderEvent.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        services.order_create_batch(actor=cast.agent, now=now, entries=[entry(), entry()])
    monkeypatch.undo()
    assert not Order.objects.exists()
    assert make_order(actor=cast.agent, now=now).number == "20250926000001"


def test_the_timeline_of_a_batch_order_is_its_created_event(cast, now):
    batch = services.order_create_batch(
        actor=cast.agent, now=now + dt.timedelta(minutes=5), entries=[entry(submit=True, item=cast.item)]
    )
    order = batch[0].order
    event = OrderEvent.objects.get(order=order)
    assert (event.seq, event.type, event.to_status) == (1, EventType.CREATED, OrderStatus.AWAITING_DISPATCH)
    assert order.status == OrderStatus.AWAITING_DISPATCH and order.last_seq == 1
