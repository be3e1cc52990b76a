"""Smoke run of the bulk order seeder at a tiny size: the rows it writes are rows the services
could have written (deadlines replay, states agree with assignments, numbers follow the counter),
and the services carry on from them."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from bench.seed_orders import seed_info, seed_orders
from core.workcalendar import SHANGHAI, clear_calendar_cache
from demo.services import demo_city_seed
from orders import services
from orders.choices import ASSIGNMENT_ACTIVE, OPEN, WITH_LEAD, AssignmentRole, OrderStatus
from orders.models import Assignment, DeadlineWarning, Order, OrderEvent, OrderNumberCounter
from orders.services.supervision import clocks_differ, replay_order, stored_clocks
from orgs.grid_services import grid_index_invalidate

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once; every test runs in a savepoint inside this transaction, rolled back at the end."""
    clear_calendar_cache()
    with django_db_blocker.unblock(), transaction.atomic():
        demo_city_seed(scale=0.02)
        yield seed_orders(orders=300, open_orders=120, now=NOW, chunk=100)
        transaction.set_rollback(True)
    clear_calendar_cache()
    grid_index_invalidate()


def test_the_seeder_writes_the_requested_orders_with_their_rows(seeded):
    assert Order.objects.count() == 300
    statuses = Counter(Order.objects.values_list("status", flat=True))
    assert sum(n for s, n in statuses.items() if s in OPEN) == 120
    assert statuses[OrderStatus.CLOSED] > 100
    assert seeded.rows["orders_orderevent"] == OrderEvent.objects.count() > 300
    assert seeded.rows["orders_assignment"] == Assignment.objects.count() > 0
    info = seed_info()
    assert info is not None and info["now"] == NOW and info["orders"] == 300


def test_seeded_deadlines_replay_from_the_timeline(seeded):
    for order in Order.objects.filter(lead_unit__isnull=False):
        replayed, stored = replay_order(order), stored_clocks(order)
        assert set(stored) <= set(replayed)
        assert not [pk for pk, clock in stored.items() if clocks_differ(replayed[pk], clock)], order.number


def test_seeded_states_agree_with_assignments_and_the_timeline(seeded):
    for order in Order.objects.all():
        events = list(OrderEvent.objects.filter(order=order).order_by("seq"))
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert order.last_seq == len(events) and order.version == len(events) - 1
        assert events[-1].to_status == order.status
        assert all(a.occurred_at <= b.occurred_at for a, b in zip(events, events[1:], strict=False))
        top = Assignment.objects.filter(
            order=order, role=AssignmentRole.LEAD, parent__isnull=True, status__in=list(ASSIGNMENT_ACTIVE)
        ).count()
        assert top == (1 if order.status in WITH_LEAD else 0), order.number
        if order.status in WITH_LEAD:
            assert order.due_at is not None
        assert (order.closed_at is None) == (order.status in OPEN)
    numbers = list(Order.objects.values_list("number", flat=True))
    assert len(set(numbers)) == len(numbers)
    days = Counter(n[:8] for n in numbers)
    assert {c.day.strftime("%Y%m%d"): c.last for c in OrderNumberCounter.objects.all()} == days


def test_every_seeded_warning_has_its_timeline_event(seeded):
    warnings = list(DeadlineWarning.objects.select_related("event"))
    assert warnings
    for w in warnings:
        assert w.event is not None and w.event.type == "deadline_warning"
        assert w.event.payload["level"] == w.level and w.recorded_at <= NOW


def test_the_services_carry_on_from_seeded_orders(seeded):
    users = get_user_model().objects
    dispatcher = users.get(username="bench_dispatcher_1")
    waiting = Order.objects.filter(status=OrderStatus.AWAITING_DISPATCH).first()
    later = NOW + dt.timedelta(minutes=10)
    if waiting is not None:
        services.order_dispatch(order=waiting, actor=dispatcher, now=later)
        assert Order.objects.get(pk=waiting.pk).status == OrderStatus.AWAITING_ACCEPTANCE
    pending = Order.objects.filter(status=OrderStatus.AWAITING_ACCEPTANCE).exclude(
        pk=getattr(waiting, "pk", 0)
    )
    order = pending.first()
    assert order is not None
    lead = Assignment.objects.get(order=order, role=AssignmentRole.LEAD, parent__isnull=True)
    handler = users.get(memberships__unit_id=lead.unit_id, username__startswith="bench_h_")
    services.order_accept(order=order, actor=handler, now=later, assignment=lead)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.IN_PROGRESS


def test_a_sweep_after_seeding_records_no_warning_twice(seeded):
    before = DeadlineWarning.objects.count()
    services.deadline_sweep(now=NOW + dt.timedelta(minutes=5), limit=10_000)
    keys = list(DeadlineWarning.objects.values_list("assignment_id", "kind", "level", "due_at"))
    assert len(keys) == len(set(keys)) >= before


def test_the_seeder_refuses_a_database_that_has_orders(seeded):
    with pytest.raises(SystemExit, match="already has orders"):
        seed_orders(orders=10, now=NOW)
