"""Insight in the loop: suggestions recorded per order, automatic dispatch above the threshold,
suggestions for the dispatcher below it, overrides recorded and used in retraining, unknown
addresses flagged. Orders are built and moved only through the orders services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from insight.autodispatch import (
    AUTO_MARK,
    classifier_retrain_from_orders,
    order_suggestions_pass,
)
from insight.choices import ClassifierTarget, DispatchDecision
from insight.models import ClassifierModel, OrderSuggestion
from insight.selectors import (
    suggestions_for_order,
    suggestions_for_orders,
    suggestions_for_text,
    training_examples_from_orders,
)
from insight.tasks import order_suggestions_task
from orders import services
from orders.choices import EventType, OrderStatus, ReplyOutcome, Satisfaction
from orders.models import OrderEvent
from orders.tests.factories import make_order, person
from orgs.addresses import address_create
from orgs.choices import Role

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
# A lights report in words the training texts do not use verbatim.
LIGHTS_TITLE, LIGHTS_BODY = "路灯晚上不亮", "我家楼下那条路的路灯坏了好几天，晚上一片漆黑"
# A vague report: the model cannot be sure (the tiny training set saturates the softmax on
# clear reports, so only a report naming no problem stays below 1).
MIXED_TITLE, MIXED_BODY = "你好", "请帮忙看看"


def _submitted(loop, *, title=LIGHTS_TITLE, content=LIGHTS_BODY, grid="grid", **extra):
    order = make_order(
        actor=loop.agent,
        now=loop.now,
        grid=getattr(loop.tree, grid) if grid else None,
        title=title,
        content=content,
        **extra,
    )
    services.order_submit(order=order, actor=loop.agent, now=loop.now)
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_DISPATCH
    return order


def _row(order):
    row = suggestions_for_order(order)
    assert row is not None
    return row


def _confidence(loop, order):
    found = suggestions_for_text(title=order.title, body=order.content, area_unit=order.grid)
    best_item, best_unit = found.best_item, found.best_unit
    assert best_item is not None and best_unit is not None
    assert best_item.item == loop.items["lights"]
    return min(best_item.confidence, best_unit.confidence)


def test_above_the_threshold_the_order_is_dispatched_automatically_and_marked_on_the_timeline(loop):
    order = _submitted(loop)
    confidence = _confidence(loop, order)
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=confidence - 0.01):
        result = order_suggestions_pass(now=loop.now + HOUR)
    assert (result.suggested, result.auto_dispatched) == (1, 1)
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_ACCEPTANCE
    assert order.item == loop.items["lights"]
    assert order.lead_unit == loop.tree.street  # the lights rule: the street of the grid leads
    event = OrderEvent.objects.get(order=order, type=EventType.DISPATCHED)
    assert event.actor == loop.bot
    assert AUTO_MARK in event.reason
    assert f"v{loop.model.version}" in event.reason
    row = _row(order)
    assert row.decision == DispatchDecision.AUTO
    assert row.dispatch_event == event
    assert row.item_model_version == loop.model.version
    assert [s["id"] for s in row.items][0] == loop.items["lights"].pk
    assert len(row.items) == 3 and row.units[0]["id"] == loop.tree.street.pk


def test_below_the_threshold_the_dispatcher_sees_the_suggestions_and_nothing_is_dispatched(loop):
    order = _submitted(loop, title=MIXED_TITLE, content=MIXED_BODY)
    found = suggestions_for_text(title=order.title, body=order.content, area_unit=order.grid)
    best_item, best_unit = found.best_item, found.best_unit
    assert best_item is not None and best_unit is not None
    confidence = min(best_item.confidence, best_unit.confidence)
    assert confidence < 1.0
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=confidence + (1 - confidence) / 2):
        result = order_suggestions_pass(now=loop.now + HOUR)
    assert (result.suggested, result.auto_dispatched) == (1, 0)
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_DISPATCH
    row = _row(order)
    assert row.decision == DispatchDecision.PENDING
    assert row.auto_error
    confidences = [s["confidence"] for s in row.items]
    assert confidences == sorted(confidences, reverse=True)
    assert {s["code"] for s in row.items} == {i.code for i in loop.items.values()}
    assert row.items[0]["code"] == best_item.item.code
    assert row.confidence == pytest.approx(confidence, abs=1e-4)


def test_none_switches_automatic_dispatch_off(loop):
    order = _submitted(loop)
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=None):
        order_suggestions_pass(now=loop.now + HOUR)
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_DISPATCH
    assert _row(order).threshold is None


def test_without_a_system_dispatcher_account_nothing_is_dispatched(loop):
    order = _submitted(loop)
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=0.0, INSIGHT_DISPATCHER_USERNAME=""):
        order_suggestions_pass(now=loop.now + HOUR)
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_DISPATCH
    assert _row(order).decision == DispatchDecision.PENDING


def test_an_account_outside_the_dispatch_level_is_refused_and_the_order_waits(loop):
    person("far_bot", loop.tree.other_district, Role.DISPATCHER)
    order = _submitted(loop)
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=0.0, INSIGHT_DISPATCHER_USERNAME="far_bot"):
        order_suggestions_pass(now=loop.now + HOUR)
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_DISPATCH
    row = _row(order)
    assert row.decision == DispatchDecision.PENDING and row.auto_error


def test_the_pass_is_safe_to_run_twice(loop):
    order = _submitted(loop)
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=0.0):
        first = order_suggestions_pass(now=loop.now + HOUR)
        order_suggestions_task()  # the periodic task runs the same pass
        second = order_suggestions_pass(now=loop.now + 2 * HOUR)
    assert first.auto_dispatched == 1
    assert (second.suggested, second.auto_dispatched, second.reconciled) == (0, 0, 0)
    assert OrderSuggestion.objects.filter(order=order).count() == 1
    assert OrderEvent.objects.filter(order=order, type=EventType.DISPATCHED).count() == 1


def test_an_order_the_agent_classified_differently_is_left_to_the_dispatcher(loop):
    order = _submitted(loop, item=loop.items["noise"])
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=0.0):
        order_suggestions_pass(now=loop.now + HOUR)
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_DISPATCH
    assert order.item == loop.items["noise"]


def _close(order, loop, t):
    """Accept, reply, approve and call back: the order closes under its dispatched item/unit."""
    handler = person(f"h{order.pk}", order.lead_unit, Role.HANDLER)
    callback = person(f"cb{order.pk}", loop.tree.city, Role.CALLBACK_AGENT)
    services.order_accept(order=order, actor=handler, now=t)
    services.order_reply(
        order=order, actor=handler, now=t + HOUR, outcome=ReplyOutcome.RESOLVED, explanation="已处理"
    )
    services.order_review_approve(order=order, actor=loop.dispatcher, now=t + 2 * HOUR)
    services.order_callback(
        order=order, actor=callback, now=t + 3 * HOUR, reached=True, satisfaction=Satisfaction.SATISFIED
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED


def test_an_override_is_recorded_and_is_in_the_next_training_set(loop):
    order = _submitted(loop)
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=None):
        order_suggestions_pass(now=loop.now + HOUR)
    # the dispatcher decides it is noise from a construction site, for the district
    t = loop.now + 2 * HOUR
    services.order_dispatch(
        order=order, actor=loop.dispatcher, now=t, item=loop.items["noise"], lead_unit=loop.tree.district
    )
    result = order_suggestions_pass(now=t + HOUR)
    assert (result.reconciled, result.overridden) == (1, 1)
    row = _row(order)
    assert row.decision == DispatchDecision.MANUAL
    assert row.item_overridden is True and row.unit_overridden is True
    assert row.dispatched_item == loop.items["noise"] and row.dispatched_unit == loop.tree.district
    assert order_suggestions_pass(now=t + 2 * HOUR).reconciled == 0  # recorded once

    order.refresh_from_db()
    _close(order, loop, t + HOUR)
    later = t + 10 * HOUR
    items = training_examples_from_orders(ClassifierTarget.ITEM, now=later)
    units = training_examples_from_orders(ClassifierTarget.UNIT, now=later)
    assert [(e.document.title, e.label) for e in items] == [(LIGHTS_TITLE, loop.items["noise"].code)]
    assert [(e.document.title, e.label) for e in units] == [(LIGHTS_TITLE, loop.tree.district.code)]
    # outside the window (days) or over the cap it is not
    assert training_examples_from_orders(ClassifierTarget.ITEM, now=later + dt.timedelta(days=400)) == []
    assert training_examples_from_orders(ClassifierTarget.ITEM, now=later, cap=0) == []


def test_retraining_trains_on_closed_orders_including_overrides(loop):
    t = loop.now + HOUR
    orders = []
    for title, content, item, unit in (
        (LIGHTS_TITLE, LIGHTS_BODY, "noise", "district"),  # the override
        ("垃圾站满了没人管", "垃圾站的垃圾好几天没有清运", "garbage", "street"),
    ):
        order = _submitted(loop, title=title, content=content)
        services.order_dispatch(
            order=order,
            actor=loop.dispatcher,
            now=t,
            item=loop.items[item],
            lead_unit=getattr(loop.tree, unit),
        )
        order.refresh_from_db()
        _close(order, loop, t + HOUR)
        orders.append(order)
    before = ClassifierModel.objects.filter(target=ClassifierTarget.ITEM).count()
    trained = classifier_retrain_from_orders(now=t + 10 * HOUR)
    assert {m.target for m in trained} == {ClassifierTarget.ITEM, ClassifierTarget.UNIT}
    item_model = next(m for m in trained if m.target == ClassifierTarget.ITEM)
    assert item_model.version == before + 1 and item_model.is_active
    assert item_model.metrics["order_examples"] == 2
    unit_model = next(m for m in trained if m.target == ClassifierTarget.UNIT)
    assert unit_model.metrics["order_examples"] == 2 and unit_model.n_labels == 2


def test_retraining_with_fewer_than_two_labels_trains_nothing(loop):
    assert classifier_retrain_from_orders(now=loop.now) == []


def test_an_order_withdrawn_before_dispatch_is_recorded_as_never_dispatched(loop):
    order = _submitted(loop)
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=None):
        order_suggestions_pass(now=loop.now + HOUR)
    services.order_withdraw(order=order, actor=loop.dispatcher, now=loop.now + 2 * HOUR, reason="群众撤回")
    assert order_suggestions_pass(now=loop.now + 3 * HOUR).reconciled == 1
    row = _row(order)
    assert row.decision == DispatchDecision.NONE and row.decided_at is not None


def test_an_address_that_matches_nothing_is_flagged_for_the_dispatcher_and_not_dispatched(loop):
    address_create(actor=None, text="东城区东华街道幸福路8号院3号楼", grid=loop.tree.grid)
    order = _submitted(loop, grid=None, address_text="南郊区无名镇不存在路999号")
    assert order.grid_id is None
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=0.0):
        order_suggestions_pass(now=loop.now + HOUR)
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_DISPATCH
    row = _row(order)
    assert row.address_flagged is True
    assert row.address_reason == "no_match"
    assert row.located_grid is None
    assert row.auto_error


def test_an_address_found_with_a_typo_is_located_not_flagged(loop):
    address_create(actor=None, text="东城区东华街道幸福路8号院3号楼", grid=loop.tree.grid)
    order = _submitted(loop, grid=None, address_text="东城区东华街道幸福路8号院3栋")
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=None):
        order_suggestions_pass(now=loop.now + HOUR)
    assert order.grid_id is None  # registration's exact lookup did not place it
    row = _row(order)
    assert row.address_flagged is False
    assert row.address_reason == "fuzzy"
    assert row.located_grid == loop.tree.grid
    assert row.units[0]["id"] == loop.tree.street.pk  # the rule applied where the address is


def test_suggestions_for_order_is_none_before_the_pass(loop):
    order = _submitted(loop)
    assert suggestions_for_order(order) is None


def test_a_queue_page_reads_its_suggestions_in_one_query(loop, django_assert_num_queries):
    orders = [_submitted(loop), _submitted(loop, title="垃圾没人收", content="楼下垃圾好几天没人清运")]
    with override_settings(INSIGHT_AUTO_DISPATCH_CONFIDENCE=None):
        order_suggestions_pass(now=loop.now + HOUR)
    later = _submitted(loop)
    with django_assert_num_queries(1):
        rows = suggestions_for_orders([*orders, later])
    assert sorted(rows) == sorted(o.pk for o in orders)
    assert rows[orders[1].pk].items[0]["code"] == loop.items["garbage"].code
    assert suggestions_for_orders([]) == {}
