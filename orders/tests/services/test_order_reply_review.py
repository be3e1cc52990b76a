"""order_accept, order_delegate, order_reply and the two reviews along a delegation chain and with
assisting units; callback, reopen and close."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from orders import services
from orders.choices import (
    AssignmentRole,
    AssignmentStatus,
    EventType,
    OrderStatus,
    ReplyOutcome,
    ReplyStatus,
    Satisfaction,
)
from orders.errors import InvalidInput, TransitionNotAllowed
from orders.models import Assignment, Callback, Notification, OrderEvent, Reply
from orders.tests.factories import make_item, make_order, walk_to

H = dt.timedelta(hours=1)


def test_accepting_makes_the_lead_the_first_receiver(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    services.order_accept(order=order, actor=cast.district_handler, now=now + 5 * H)
    lead = Assignment.objects.get(order=order)
    assert lead.status == AssignmentStatus.ACCEPTED and lead.accepted_at == now + 5 * H
    assert order.first_receiver_unit == cast.tree.district and order.status == OrderStatus.IN_PROGRESS


def test_an_assisting_unit_accepts_without_moving_the_order(cast, now):
    item = make_item(name="路灯不亮", assist_units=(cast.tree.department,))
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=item)
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    services.order_accept(order=order, actor=cast.dept_handler, now=now + 5 * H)
    assert order.status == OrderStatus.AWAITING_ACCEPTANCE
    assert order.first_receiver_unit is None
    assist = Assignment.objects.get(order=order, role=AssignmentRole.ASSIST)
    assert assist.status == AssignmentStatus.ACCEPTED


def test_accepting_twice_is_refused(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    lead = Assignment.objects.get(order=order)
    with pytest.raises(TransitionNotAllowed):
        services.order_accept(order=order, actor=cast.district_handler, now=now + 5 * H, assignment=lead)


def test_delegation_goes_only_downwards(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    for unit in (cast.tree.city, cast.tree.district, cast.tree.other_street):
        with pytest.raises(InvalidInput):
            services.order_delegate(order=order, actor=cast.district_handler, now=now + 5 * H, unit=unit)
    services.order_delegate(
        order=order, actor=cast.district_handler, now=now + 5 * H, unit=cast.tree.community
    )
    assert order.holder_unit == cast.tree.community
    with pytest.raises(InvalidInput):  # one active child at a time
        services.order_delegate(
            order=order, actor=cast.district_handler, now=now + 6 * H, unit=cast.tree.street
        )


def test_a_delegated_reply_is_reviewed_by_the_parent_unit(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    services.order_delegate(order=order, actor=cast.district_handler, now=now + 5 * H, unit=cast.tree.street)
    services.order_accept(order=order, actor=cast.street_handler, now=now + 6 * H)
    with pytest.raises(InvalidInput):  # the parent waits for its child
        services.order_reply(
            order=order,
            actor=cast.district_handler,
            now=now + 7 * H,
            outcome=ReplyOutcome.RESOLVED,
            explanation="x",
        )
    reply = services.order_reply(
        order=order,
        actor=cast.street_handler,
        now=now + 7 * H,
        outcome=ReplyOutcome.RESOLVED,
        explanation="已处理",
    )
    assert order.status == OrderStatus.IN_PROGRESS and order.holder_unit == cast.tree.district
    assert Notification.objects.filter(
        event__type=EventType.REPLIED, recipient=cast.district_handler
    ).exists()
    with pytest.raises(PermissionDenied):  # not the dispatcher's to review
        services.order_review_approve(order=order, actor=cast.city_dispatcher, now=now + 8 * H, reply=reply)
    services.order_review_send_back(
        order=order, actor=cast.district_handler, now=now + 8 * H, reply=reply, reason="补充照片"
    )
    assert order.rework_count == 0  # rework counts on the lead's reply only
    assert Assignment.objects.get(pk=reply.assignment_id).status == AssignmentStatus.ACCEPTED
    again = services.order_reply(
        order=order,
        actor=cast.street_handler,
        now=now + 9 * H,
        outcome=ReplyOutcome.RESOLVED,
        explanation="已附照片",
    )
    assert again.is_rework is False
    services.order_review_approve(order=order, actor=cast.district_handler, now=now + 10 * H, reply=again)
    assert Assignment.objects.get(pk=again.assignment_id).status == AssignmentStatus.APPROVED
    assert order.holder_unit == cast.tree.district
    services.order_reply(
        order=order,
        actor=cast.district_handler,
        now=now + 11 * H,
        outcome=ReplyOutcome.RESOLVED,
        explanation="区里核实",
    )
    assert order.status == OrderStatus.AWAITING_REVIEW


def test_the_lead_reviews_an_assisting_units_reply_and_replies_after_it(cast, now):
    item = make_item(name="井盖缺失", assist_units=(cast.tree.department,))
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=item)
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    services.order_accept(order=order, actor=cast.dept_handler, now=now + 5 * H)
    reply = services.order_reply(
        order=order,
        actor=cast.dept_handler,
        now=now + 6 * H,
        outcome=ReplyOutcome.RESOLVED,
        explanation="已补井盖",
    )
    with pytest.raises(InvalidInput):  # the assist's reply is reviewed first
        services.order_reply(
            order=order,
            actor=cast.district_handler,
            now=now + 7 * H,
            outcome=ReplyOutcome.RESOLVED,
            explanation="x",
        )
    services.order_review_approve(order=order, actor=cast.district_handler, now=now + 7 * H, reply=reply)
    services.order_reply(
        order=order,
        actor=cast.district_handler,
        now=now + 8 * H,
        outcome=ReplyOutcome.RESOLVED,
        explanation="已处理",
    )
    services.order_review_approve(order=order, actor=cast.city_dispatcher, now=now + 9 * H)
    assert set(Assignment.objects.filter(order=order).values_list("status", flat=True)) == {
        AssignmentStatus.APPROVED
    }


def test_approving_the_lead_ends_the_round_and_cancels_idle_assists(cast, now):
    item = make_item(name="噪声扰民", assist_units=(cast.tree.department,))
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=item)
    walk_to(order, OrderStatus.AWAITING_CALLBACK, cast, now)
    assist = Assignment.objects.get(order=order, role=AssignmentRole.ASSIST)
    assert assist.status == AssignmentStatus.CANCELLED
    assert order.public_reply == "已责令停工" and order.holder_unit == cast.tree.city


def test_every_outcome_can_be_replied_none_is_hidden(cast, now):
    for outcome in ReplyOutcome:
        order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
        walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
        reply = services.order_reply(
            order=order, actor=cast.district_handler, now=now + 5 * H, outcome=outcome, explanation="说明"
        )
        services.order_review_approve(order=order, actor=cast.city_dispatcher, now=now + 6 * H)
        assert order.reply_outcome == outcome and reply.outcome == outcome


def test_a_lead_reply_sent_back_counts_as_rework(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_REVIEW, cast, now)
    services.order_review_send_back(
        order=order, actor=cast.city_dispatcher, now=now + 9 * H, reason="答复不完整"
    )
    assert order.status == OrderStatus.IN_PROGRESS and order.rework_count == 1
    assert Reply.objects.get(order=order).status == ReplyStatus.SENT_BACK
    again = services.order_reply(
        order=order,
        actor=cast.district_handler,
        now=now + 10 * H,
        outcome=ReplyOutcome.RESOLVED,
        explanation="补充",
    )
    assert again.is_rework is True


def test_an_unreached_callback_keeps_the_order_waiting(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_CALLBACK, cast, now)
    services.order_callback(order=order, actor=cast.callback_agent, now=now + 9 * H, reached=False)
    assert order.status == OrderStatus.AWAITING_CALLBACK
    with pytest.raises(InvalidInput):  # no rating without reaching anyone
        services.order_callback(
            order=order, actor=cast.callback_agent, now=now + 10 * H, reached=False, satisfaction="satisfied"
        )
    with pytest.raises(InvalidInput):  # reached: the rating is required
        services.order_callback(order=order, actor=cast.callback_agent, now=now + 10 * H, reached=True)
    assert Callback.objects.filter(order=order).count() == 1


def test_a_dissatisfied_callback_asks_the_dispatcher_to_decide(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_CALLBACK, cast, now)
    services.order_callback(
        order=order,
        actor=cast.callback_agent,
        now=now + 9 * H,
        reached=True,
        satisfaction=Satisfaction.DISSATISFIED,
    )
    assert order.status == OrderStatus.AWAITING_CALLBACK
    assert Notification.objects.filter(
        event__type=EventType.CALLBACK, recipient=cast.city_dispatcher
    ).exists()
    with pytest.raises(InvalidInput):
        services.order_close(order=order, actor=cast.city_dispatcher, now=now + 10 * H, reason="")
    services.order_close(
        order=order, actor=cast.city_dispatcher, now=now + 10 * H, reason="诉求不合理，已解释"
    )
    assert order.status == OrderStatus.CLOSED
    closing = OrderEvent.objects.filter(order=order).order_by("-seq").first()
    assert closing is not None
    assert closing.type == EventType.CLOSED and closing.reason == "诉求不合理，已解释"


def test_a_closed_order_is_reopened_only_with_a_reason(cast, order, now):
    walk_to(order, OrderStatus.CLOSED, cast, now)
    with pytest.raises(InvalidInput):
        services.order_reopen(order=order, actor=cast.city_dispatcher, now=now + 9 * H, reason=" ")
    services.order_reopen(order=order, actor=cast.city_dispatcher, now=now + 9 * H, reason="同一问题再次反映")
    assert order.status == OrderStatus.IN_PROGRESS and order.closed_at is None and order.reopen_count == 1


def test_answering_a_consultation_directly_closes_it_with_the_answer(cast, now):
    order = make_order(actor=cast.agent, now=now, kind="consultation", title="办理居住证需要什么材料")
    services.order_answer_directly(
        order=order, actor=cast.agent, now=now + H, answer="携带身份证和租赁合同到派出所办理"
    )
    assert order.status == OrderStatus.CLOSED and order.public_reply.startswith("携带身份证")
    assert not Assignment.objects.filter(order=order).exists()
