"""order_merge: duplicates follow the parent's answer and their residents get a callback."""

from __future__ import annotations

import datetime as dt

import pytest

from orders import services
from orders.choices import EventType, OrderStatus, Satisfaction
from orders.errors import InvalidInput, TransitionNotAllowed
from orders.models import Callback, OrderEvent
from orders.tests.factories import make_order, walk_to

H = dt.timedelta(hours=1)


@pytest.fixture
def parent(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    return order


@pytest.fixture
def duplicate(cast, now):
    return make_order(
        actor=None,
        now=now,
        channel="mobile",
        grid=cast.tree.grid,
        item=cast.item,
        requester_phone="13900139000",
    )


def test_merge_links_the_child_and_records_it_on_both_timelines(cast, now, parent, duplicate):
    services.order_merge(
        order=duplicate, actor=cast.city_dispatcher, now=now + H, parent=parent, reason="同一工地"
    )
    duplicate.refresh_from_db()
    assert duplicate.status == OrderStatus.MERGED and duplicate.parent == parent
    assert duplicate.holder_unit is None
    assert OrderEvent.objects.filter(
        order=parent, type=EventType.CHILD_MERGED, payload__child=duplicate.pk
    ).exists()


def test_the_child_gets_the_answer_when_the_parent_is_approved(cast, now, parent, duplicate):
    services.order_merge(order=duplicate, actor=cast.city_dispatcher, now=now + H, parent=parent)
    with pytest.raises(TransitionNotAllowed):
        services.order_callback_merged(
            order=duplicate,
            actor=cast.callback_agent,
            now=now + 2 * H,
            reached=True,
            satisfaction=Satisfaction.SATISFIED,
        )
    parent.refresh_from_db()
    services.order_reply(
        order=parent, actor=cast.district_handler, now=now + 3 * H, outcome="resolved", explanation="已停工"
    )
    services.order_review_approve(order=parent, actor=cast.city_dispatcher, now=now + 4 * H)
    duplicate.refresh_from_db()
    assert duplicate.public_reply == "已停工" and duplicate.reply_outcome == "resolved"
    services.order_callback_merged(
        order=duplicate,
        actor=cast.callback_agent,
        now=now + 5 * H,
        reached=True,
        satisfaction=Satisfaction.SATISFIED,
    )
    assert Callback.objects.filter(order=duplicate, satisfaction=Satisfaction.SATISFIED).count() == 1
    assert duplicate.status == OrderStatus.MERGED


def test_merging_into_an_answered_parent_shares_the_answer_at_once(cast, now, duplicate):
    parent = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(parent, OrderStatus.AWAITING_CALLBACK, cast, now)
    services.order_merge(order=duplicate, actor=cast.city_dispatcher, now=now + 9 * H, parent=parent)
    duplicate.refresh_from_db()
    assert duplicate.public_reply == "已责令停工"
    assert OrderEvent.objects.filter(order=duplicate, type=EventType.ANSWER_SHARED).count() == 1


def test_an_order_cannot_be_merged_into_itself(cast, now, duplicate):
    with pytest.raises(InvalidInput):
        services.order_merge(order=duplicate, actor=cast.city_dispatcher, now=now, parent=duplicate)


def test_a_merged_or_withdrawn_order_cannot_be_a_parent(cast, now, duplicate):
    gone = make_order(actor=cast.agent, now=now, grid=cast.tree.grid)
    services.order_withdraw(order=gone, actor=cast.agent, now=now, reason="误登记")
    with pytest.raises(TransitionNotAllowed):
        services.order_merge(order=duplicate, actor=cast.city_dispatcher, now=now, parent=gone)
    duplicate.refresh_from_db()
    assert duplicate.status == OrderStatus.AWAITING_DISPATCH
