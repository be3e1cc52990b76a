"""order_dispatch, return and escalation: who gets the order, and the dispatch level."""

from __future__ import annotations

import datetime as dt

import pytest

from orders import services
from orders.choices import AssignmentRole, AssignmentStatus, EventType, NotificationChannel, OrderStatus
from orders.errors import InvalidInput, StaleTransition
from orders.models import Assignment, Notification, Order
from orders.tests.factories import make_item, make_order, walk_to
from orgs.choices import UnitKind

H = dt.timedelta(hours=1)


def test_the_responsibility_list_suggests_the_lead_and_the_assists(cast, now):
    item = make_item(name="占道经营", lead_kind=UnitKind.STREET, assist_units=(cast.tree.department,))
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=item, submit=True)
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=now)
    rows = {(a.unit_id, a.role) for a in Assignment.objects.filter(order=order)}
    assert rows == {
        (cast.tree.street.pk, AssignmentRole.LEAD),
        (cast.tree.department.pk, AssignmentRole.ASSIST),
    }
    assert order.lead_unit == cast.tree.street and order.holder_unit == cast.tree.street
    told = set(
        Notification.objects.filter(
            event__type=EventType.DISPATCHED, channel=NotificationChannel.IN_APP
        ).values_list("recipient", flat=True)
    )
    assert told == {cast.street_handler.pk, cast.dept_handler.pk}


def test_without_a_rule_the_dispatcher_must_name_the_lead(cast, now):
    item = make_item(with_rule=False)
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=item, submit=True)
    with pytest.raises(InvalidInput):
        services.order_dispatch(order=order, actor=cast.city_dispatcher, now=now)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING_DISPATCH


def test_a_unit_outside_the_dispatch_level_is_refused(cast, now):
    order = make_order(
        actor=cast.agent,
        now=now,
        grid=cast.tree.grid,
        item=cast.item,
        submit=True,
        dispatch_unit=cast.tree.district,
    )
    with pytest.raises(InvalidInput):
        services.order_dispatch(
            order=order, actor=cast.district_dispatcher, now=now, lead_unit=cast.tree.other_street
        )
    # departments take orders from every level
    services.order_dispatch(order=order, actor=cast.district_dispatcher, now=now, lead_unit=cast.tree.station)
    assert order.lead_unit == cast.tree.station


def test_the_lead_cannot_also_assist(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, submit=True)
    with pytest.raises(InvalidInput):
        services.order_dispatch(
            order=order,
            actor=cast.city_dispatcher,
            now=now,
            lead_unit=cast.tree.street,
            assist_units=[cast.tree.street],
        )


def test_a_stale_copy_of_the_order_is_refused(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, submit=True)
    stale = Order.objects.get(pk=order.pk)
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=now)
    with pytest.raises(StaleTransition):
        services.order_withdraw(order=stale, actor=cast.city_dispatcher, now=now, reason="重复")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING_ACCEPTANCE


def test_an_upheld_return_ends_every_assignment_and_clears_the_lead(cast, now):
    item = make_item(name="违规停车", assist_units=(cast.tree.department,))
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=item)
    walk_to(order, OrderStatus.RETURN_REQUESTED, cast, now)
    assert order.holder_unit == cast.tree.city  # the dispatcher rules on it
    services.order_return_uphold(order=order, actor=cast.city_dispatcher, now=now + 5 * H)
    statuses = dict(Assignment.objects.filter(order=order).values_list("role", "status"))
    assert statuses == {
        AssignmentRole.LEAD: AssignmentStatus.RETURNED,
        AssignmentRole.ASSIST: AssignmentStatus.CANCELLED,
    }
    assert order.lead_unit is None and order.first_receiver_unit is None and order.due_at is None


def test_a_rejected_return_goes_back_to_the_same_unit(cast, order, now):
    walk_to(order, OrderStatus.RETURN_REQUESTED, cast, now)
    services.order_return_reject(
        order=order, actor=cast.city_dispatcher, now=now + 5 * H, reason="属于区级职责"
    )
    lead = Assignment.objects.get(order=order)
    assert lead.status == AssignmentStatus.PENDING and order.holder_unit == cast.tree.district
    assert Notification.objects.filter(
        event__type=EventType.RETURN_REJECTED, recipient=cast.district_handler
    ).exists()


def test_only_the_lead_may_return(cast, now):
    item = make_item(name="绿化", assist_units=(cast.tree.department,))
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=item)
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    with pytest.raises(InvalidInput):
        services.order_return(order=order, actor=cast.dept_handler, now=now + 5 * H, reason="不是我们的")


def test_escalation_sends_the_order_one_level_up(cast, now):
    order = make_order(
        actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, dispatch_unit=cast.tree.district
    )
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    services.order_escalate(order=order, actor=cast.supervisor, now=now + 5 * H, reason="区里协调不了")
    assert order.status == OrderStatus.AWAITING_DISPATCH
    assert order.dispatch_unit == cast.tree.city and order.holder_unit == cast.tree.city
    assert not Assignment.objects.filter(order=order, status=AssignmentStatus.ACCEPTED).exists()
    assert Notification.objects.filter(
        event__type=EventType.ESCALATED, recipient=cast.city_dispatcher
    ).exists()
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=now + 6 * H)
    services.order_accept(order=order, actor=cast.district_handler, now=now + 7 * H)
    with pytest.raises(InvalidInput):  # nothing above the city
        services.order_escalate(order=order, actor=cast.city_dispatcher, now=now + 8 * H, reason="再上报")
    assert order.status == OrderStatus.IN_PROGRESS
