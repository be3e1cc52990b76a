"""The one scoping selector (SECURITY.md AC-1): the holding axis, the location axis, and nothing
else; the object fetch answers read and write together."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from orders import services
from orders.choices import OrderStatus
from orders.models import Order
from orders.selectors import (
    order_get_for_user,
    order_list_for_queue,
    order_timeline,
    orders_visible_among,
    orders_visible_to,
)
from orders.tests.factories import make_order, person, walk_to
from orgs.choices import Role

H = dt.timedelta(hours=1)


@pytest.fixture
def delegated(cast, now):
    """An order held by the community (city → district → street → community)."""
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    services.order_delegate(order=order, actor=cast.district_handler, now=now + 5 * H, unit=cast.tree.street)
    services.order_accept(order=order, actor=cast.street_handler, now=now + 6 * H)
    services.order_delegate(order=order, actor=cast.street_handler, now=now + 7 * H, unit=cast.tree.community)
    return order


@pytest.fixture
def held_by_department(cast, now):
    """An order in 东华一网格 that a city department holds."""
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, submit=True)
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=now, lead_unit=cast.tree.department)
    return order


def visible(user):
    """What ``user`` sees, asked both ways: the list form and the per-order probe form must agree."""
    listed = set(orders_visible_to(user).values_list("pk", flat=True))
    every = list(Order.objects.values_list("pk", flat=True))
    assert set(orders_visible_among(user, every).values_list("pk", flat=True)) == listed, user.username
    return listed


def test_handlers_see_what_was_assigned_in_their_subtree(cast, delegated, held_by_department):
    assert visible(cast.community_handler) == {delegated.pk}
    assert visible(cast.street_handler) == {delegated.pk}
    assert visible(cast.district_handler) == {delegated.pk}
    assert visible(cast.dept_handler) == {held_by_department.pk}


def test_the_outsider_sees_nothing(cast, delegated, held_by_department):
    assert visible(cast.outsider) == set()
    with pytest.raises(Order.DoesNotExist):
        order_get_for_user(cast.outsider, delegated.pk)


def test_the_location_axis_sees_problems_in_its_territory_whoever_holds_them(
    cast, delegated, held_by_department
):
    secretary = person("street_secretary", cast.tree.street, Role.SECRETARY)
    other_secretary = person("other_secretary", cast.tree.other_street, Role.SECRETARY)
    assert visible(secretary) == {delegated.pk, held_by_department.pk}
    assert visible(cast.supervisor) == {delegated.pk, held_by_department.pk}
    assert visible(other_secretary) == set()


def test_dispatch_desks_see_their_level(cast, now):
    waiting = make_order(actor=None, now=now, channel="mobile", grid=cast.tree.grid)
    assert waiting.pk in visible(cast.city_dispatcher)
    assert waiting.pk in visible(cast.callback_agent)
    assert waiting.pk not in visible(cast.district_dispatcher)  # dispatched at the city
    assert waiting.pk not in visible(cast.district_handler)


def test_a_past_assignment_keeps_the_order_visible(cast, order, now):
    walk_to(order, OrderStatus.RETURN_REQUESTED, cast, now)
    services.order_return_uphold(order=order, actor=cast.city_dispatcher, now=now + 5 * H)
    assert order.pk in visible(cast.district_handler)
    _order, can_write = order_get_for_user(cast.district_handler, order.pk)
    assert can_write is False


def test_the_object_fetch_answers_read_and_write(cast, delegated):
    _o, community_rw = order_get_for_user(cast.community_handler, delegated.pk)
    _o, secretary_rw = order_get_for_user(person("sec", cast.tree.street, Role.SECRETARY), delegated.pk)
    _o, dispatcher_rw = order_get_for_user(cast.city_dispatcher, delegated.pk)
    assert (community_rw, secretary_rw, dispatcher_rw) == (True, False, True)


def test_queues(cast, delegated, held_by_department, now):
    mine = order_list_for_queue(cast.community_handler, queue="mine")
    assert [o.pk for o in mine] == [delegated.pk]
    assert list(order_list_for_queue(cast.district_handler, queue="mine")) == [
        delegated
    ]  # still accepted there
    fresh = make_order(actor=None, now=now + H, channel="web", grid=cast.tree.grid)
    assert [o.pk for o in order_list_for_queue(cast.city_dispatcher, queue="dispatch")] == [fresh.pk]
    assert list(order_list_for_queue(cast.callback_agent, queue="callback")) == []


def test_filters_and_stable_orderings(cast, delegated, held_by_department, now):
    everything = list(order_list_for_queue(cast.supervisor))
    assert everything == sorted(everything, key=lambda o: (o.created_at, o.pk), reverse=True)
    by_due = list(order_list_for_queue(cast.supervisor, ordering="due"))
    dues = [o.due_at for o in by_due]
    known = [d for d in dues if d is not None]
    assert dues == known + [None] * (len(dues) - len(known))  # soonest first, none last
    assert known == sorted(known)
    assert list(order_list_for_queue(cast.supervisor, unit=cast.tree.department)) == [held_by_department]
    assert set(order_list_for_queue(cast.supervisor, location=cast.tree.community)) == {
        delegated,
        held_by_department,
    }
    assert list(order_list_for_queue(cast.supervisor, status=OrderStatus.AWAITING_ACCEPTANCE)) == [
        held_by_department
    ]
    assert list(order_list_for_queue(cast.supervisor, due_before=now)) == []
    with pytest.raises(ValueError):
        order_list_for_queue(cast.supervisor, ordering="random")


def test_the_timeline_is_in_order_with_who_and_where(cast, delegated, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        rows = [
            (e.seq, e.actor.username if e.actor else None, e.actor_unit.name if e.actor_unit else None)
            for e in order_timeline(delegated)
        ]
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0][1] == "agent"


def test_the_assignment_arm_is_a_correlated_exists_per_order(cast, delegated):
    """Under the OR of the two axes, ``pk IN (SELECT order_id FROM orders_assignment ...)`` is not
    a semi-join on PostgreSQL: it is re-run over every assignment in scope per candidate order
    (bench_findings §2, 27.8 s for a queue at 1M orders). The arm must probe the order's own
    assignments (a correlated EXISTS) — and still admit what it admitted before."""
    sql = str(orders_visible_to(cast.community_handler).query)
    assert re.search(r'EXISTS\s*\(SELECT .*FROM "orders_assignment"', sql)
    assert not re.search(r'"orders_order"\."id" IN \(SELECT \S*"order_id" FROM "orders_assignment"', sql)
    assert re.search(r'"order_id" = \(?"orders_order"\."id"\)?', sql)  # correlated on the order
    assert visible(cast.community_handler) == {delegated.pk}  # seen through the assignment alone


def test_queues_within_scope(cast, delegated, held_by_department, now):
    """The work queues skip ``orders_visible_to`` (their own predicate is narrower and plans far
    better): for every member of the cast, every queue stays inside what they may see."""
    make_order(actor=None, now=now + H, channel="web", grid=cast.tree.grid)
    users = [value for value in vars(cast).values() if hasattr(value, "is_authenticated")]
    assert len(users) >= 5
    non_empty = 0
    for user in users:
        allowed = visible(user)
        for queue in ("mine", "dispatch", "callback"):
            listed = set(order_list_for_queue(user, queue=queue).values_list("pk", flat=True))
            assert listed <= allowed, (user.username, queue)
            non_empty += bool(listed)
    assert non_empty >= 3  # the check ran over real queues, not only empty ones
    cast.city_dispatcher.is_active = False
    assert list(order_list_for_queue(cast.city_dispatcher, queue="dispatch")) == []
