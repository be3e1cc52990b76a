"""order_reveal_phone: the current holder only, a reason, audited, rate limited; confidential
orders only through the hotline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from core.models import AuditEvent
from orders import services
from orders.choices import EventType, OrderStatus, RevealField
from orders.errors import InvalidInput, RateLimited
from orders.models import OrderEvent, PhoneReveal
from orders.tests.factories import make_order, walk_to


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_holder_sees_the_number_and_the_reveal_is_recorded_three_times(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    audits = AuditEvent.objects.count()
    value = services.order_reveal_phone(order=order, actor=cast.district_handler, now=now, reason="联系核实")
    assert value == "13800138000"
    reveal = PhoneReveal.objects.get(order=order)
    assert (reveal.actor, reveal.reason, reveal.field) == (
        cast.district_handler,
        "联系核实",
        RevealField.PHONE,
    )
    audit = AuditEvent.objects.order_by("-seq").first()
    assert audit is not None
    assert AuditEvent.objects.count() == audits + 1
    assert audit.event_type == "orders.phone_reveal" and audit.actor == cast.district_handler
    assert "13800138000" not in str(audit.extra)  # the number itself never goes to the log
    event = OrderEvent.objects.filter(order=order).order_by("-seq").first()
    assert event is not None
    assert event.type == EventType.PHONE_REVEALED and event.reason == "联系核实"


def test_a_reason_is_required(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    with pytest.raises(InvalidInput):
        services.order_reveal_phone(order=order, actor=cast.district_handler, now=now, reason="  ")
    assert not PhoneReveal.objects.exists()


def test_a_unit_that_delegated_the_order_is_no_longer_the_holder(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    services.order_delegate(order=order, actor=cast.district_handler, now=now, unit=cast.tree.street)
    services.order_accept(order=order, actor=cast.street_handler, now=now)
    with pytest.raises(PermissionDenied):
        services.order_reveal_phone(order=order, actor=cast.district_handler, now=now, reason="核实")
    assert (
        services.order_reveal_phone(order=order, actor=cast.street_handler, now=now, reason="核实")
        == "13800138000"
    )


def test_reveals_are_rate_limited_per_user(cast, order, now, settings):
    settings.ORDERS_REVEAL_LIMIT = 2
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    for _ in range(2):
        services.order_reveal_phone(order=order, actor=cast.district_handler, now=now, reason="核实")
    with pytest.raises(RateLimited):
        services.order_reveal_phone(order=order, actor=cast.district_handler, now=now, reason="核实")
    assert PhoneReveal.objects.count() == 2
    # the next window opens again
    later = now + dt.timedelta(hours=2)
    services.order_reveal_phone(order=order, actor=cast.district_handler, now=later, reason="核实")
    assert PhoneReveal.objects.count() == 3


def test_a_confidential_order_is_revealed_only_through_the_hotline(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, confidential=True)
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    with pytest.raises(PermissionDenied, match="热线"):
        services.order_reveal_phone(order=order, actor=cast.district_handler, now=now, reason="核实")
    assert (
        services.order_reveal_phone(order=order, actor=cast.agent, now=now, reason="转接联系")
        == "13800138000"
    )


def test_a_confidential_order_is_contacted_through_the_hotline_only(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, confidential=True)
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    with pytest.raises(InvalidInput):
        services.order_record_contact(order=order, actor=cast.district_handler, now=now, method="phone")
    services.order_record_contact(order=order, actor=cast.district_handler, now=now, method="hotline")


def test_the_callback_agent_may_reveal_while_the_callback_is_due(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_CALLBACK, cast, now)
    assert (
        services.order_reveal_phone(order=order, actor=cast.callback_agent, now=now, reason="回访")
        == "13800138000"
    )
    with pytest.raises(PermissionDenied):
        services.order_reveal_phone(order=order, actor=cast.district_handler, now=now, reason="回访")


def test_the_id_number_is_revealed_the_same_way(cast, now):
    order = make_order(
        actor=cast.agent,
        now=now,
        grid=cast.tree.grid,
        item=cast.item,
        requester_id_number="11010519491231002X",
    )
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    value = services.order_reveal_phone(
        order=order, actor=cast.district_handler, now=now, reason="核实身份", field=RevealField.ID_NUMBER
    )
    assert value == "11010519491231002X"
