"""One order through all six steps (intake → dispatch → handle → reply → callback → assess), across
city → district → street → community, with an upheld return, an extension, a suspension over the
National Day holidays, a reply sent back in review, a reopen and a merge. Checks the timeline,
the deadlines, the outbox and the deliveries."""

from __future__ import annotations

import datetime as dt

from django.core import mail

from core.models import AuditEvent
from core.workcalendar import SHANGHAI
from orders import services
from orders.choices import (
    AssignmentStatus,
    Channel,
    EventType,
    NotificationChannel,
    OrderStatus,
    ReplyOutcome,
    ReplyStatus,
    Satisfaction,
)
from orders.models import Assignment, Callback, Notification, Order, OrderEvent, Reply
from orders.notifications import deliver_pending
from orders.selectors import order_duplicate_candidates
from orders.services.supervision import replay_order, stored_clocks
from orders.tests.factories import make_order


def at(month, day, hour, minute=0):
    return dt.datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def test_one_order_walks_the_whole_loop(cast, now):
    tree = cast.tree
    cast.district_handler.email = "district@example.org"
    cast.district_handler.save(update_fields=["email"])

    # 1 intake 接诉 -------------------------------------------------------------------------
    order = make_order(actor=cast.agent, now=at(9, 26, 9), grid=tree.grid, item=cast.item)
    assert order.number.startswith("20250926") and order.status == OrderStatus.REGISTERED
    services.order_submit(order=order, actor=cast.agent, now=at(9, 26, 9, 10))

    # 2 dispatch 派单, a wrong unit first: its return is upheld --------------------------------
    services.order_dispatch(
        order=order, actor=cast.city_dispatcher, now=at(9, 26, 9, 30), lead_unit=tree.department
    )
    services.order_return(order=order, actor=cast.dept_handler, now=at(9, 26, 10), reason="属区级职责")
    services.order_return_uphold(order=order, actor=cast.city_dispatcher, now=at(9, 26, 10, 30))
    assert order.status == OrderStatus.AWAITING_DISPATCH and order.lead_unit_id is None
    services.order_dispatch(
        order=order, actor=cast.city_dispatcher, now=at(9, 26, 11)
    )  # the rule: the district
    district = Assignment.objects.get(order=order, round=2)
    assert district.unit == tree.district
    assert district.accept_by == at(9, 29, 0)  # Sunday 28 September is a working day
    assert district.reply_by == at(10, 11, 0)  # 28, 29, 30 Sep, 9, 10 Oct

    # 3 handle 办理: accept and delegate down to the community ---------------------------------
    services.order_accept(order=order, actor=cast.district_handler, now=at(9, 26, 11, 30))
    assert order.first_receiver_unit_id == tree.district.pk
    services.order_delegate(order=order, actor=cast.district_handler, now=at(9, 26, 13), unit=tree.street)
    services.order_accept(order=order, actor=cast.street_handler, now=at(9, 26, 14))
    services.order_delegate(order=order, actor=cast.street_handler, now=at(9, 26, 15), unit=tree.community)
    services.order_accept(order=order, actor=cast.community_handler, now=at(9, 26, 16))
    street = Assignment.objects.get(order=order, unit=tree.street)
    community = Assignment.objects.get(order=order, unit=tree.community)
    assert order.holder_unit_id == tree.community.pk
    assert community.reply_by is not None and street.reply_by is not None and district.reply_by is not None
    assert community.reply_by <= street.reply_by <= district.reply_by

    phone = services.order_reveal_phone(
        order=order, actor=cast.community_handler, now=at(9, 28, 9), reason="联系诉求人核实"
    )
    assert phone == "13800138000"
    assert (
        AuditEvent.objects.filter(event_type="orders.phone_reveal", actor=cast.community_handler).count() == 1
    )
    services.order_record_contact(order=order, actor=cast.community_handler, now=at(9, 28, 10))

    # an extension of three working days for the district
    request = services.order_extension_request(
        order=order, actor=cast.district_handler, now=at(9, 29, 9), amount=3, reason="需协调施工单位"
    )
    services.order_extension_approve(
        order=order, actor=cast.city_dispatcher, now=at(9, 29, 10), request=request
    )
    district.refresh_from_db()
    assert district.reply_by == at(10, 15, 0)  # after 10 October: 11 (调休), 13, 14

    # a suspension over the holidays: the clock stops on 30 September and resumes on 9 October
    pause = services.order_suspend_request(
        order=order, actor=cast.district_handler, now=at(9, 30, 9), reason="待规划审批"
    )
    services.order_suspend_approve(order=order, actor=cast.city_dispatcher, now=at(9, 30, 10), request=pause)
    assert order.status == OrderStatus.SUSPENDED
    services.order_resume(order=order, actor=cast.city_dispatcher, now=at(10, 9, 10))
    district.refresh_from_db()
    # 134 working hours were left (30 Sep 14h, then 9, 10, 11, 13, 14 Oct); from 9 Oct 10:00
    assert district.reply_by == at(10, 16, 0)

    # a duplicate report by another resident is merged under this order
    duplicate = make_order(
        actor=None,
        now=at(10, 9, 11),
        channel=Channel.MOBILE,
        grid=tree.grid,
        item=cast.item,
        requester_phone="13900139000",
    )
    assert duplicate.status == OrderStatus.AWAITING_DISPATCH
    assert order_duplicate_candidates(duplicate) == [order]
    services.order_merge(order=duplicate, actor=cast.city_dispatcher, now=at(10, 9, 11, 30), parent=order)
    order.refresh_from_db()
    duplicate.refresh_from_db()
    assert duplicate.status == OrderStatus.MERGED and duplicate.parent_id == order.pk

    # 4 reply 反馈: up the chain, with a send-back at the street and one at the city (rework) ----
    services.order_reply(
        order=order,
        actor=cast.community_handler,
        now=at(10, 10, 9),
        outcome=ReplyOutcome.PARTLY,
        explanation="已劝停",
    )
    first = Reply.objects.get(assignment=community)
    services.order_review_send_back(
        order=order, actor=cast.street_handler, now=at(10, 10, 10), reason="请附整改照片", reply=first
    )
    services.order_reply(
        order=order,
        actor=cast.community_handler,
        now=at(10, 10, 11),
        outcome=ReplyOutcome.RESOLVED,
        explanation="工地已停止夜间施工",
    )
    services.order_review_approve(
        order=order,
        actor=cast.street_handler,
        now=at(10, 10, 12),
        reply=Reply.objects.get(assignment=community, status=ReplyStatus.PENDING_REVIEW),
    )
    services.order_reply(
        order=order,
        actor=cast.street_handler,
        now=at(10, 10, 13),
        outcome=ReplyOutcome.RESOLVED,
        explanation="街道已核实",
    )
    services.order_review_approve(
        order=order,
        actor=cast.district_handler,
        now=at(10, 10, 14),
        reply=Reply.objects.get(assignment=street, status=ReplyStatus.PENDING_REVIEW),
    )
    services.order_reply(
        order=order,
        actor=cast.district_handler,
        now=at(10, 10, 15),
        outcome=ReplyOutcome.RESOLVED,
        explanation="区城管已督促停工",
    )
    assert order.status == OrderStatus.AWAITING_REVIEW and order.holder_unit_id == tree.city.pk
    services.order_review_send_back(
        order=order, actor=cast.city_dispatcher, now=at(10, 10, 16), reason="答复过于简略"
    )
    assert order.status == OrderStatus.IN_PROGRESS and order.rework_count == 1
    services.order_reply(
        order=order,
        actor=cast.district_handler,
        now=at(10, 11, 9),
        outcome=ReplyOutcome.RESOLVED,
        explanation="经核查工地已停止夜间施工并承诺整改",
    )
    services.order_review_approve(order=order, actor=cast.city_dispatcher, now=at(10, 11, 10))
    assert order.status == OrderStatus.AWAITING_CALLBACK
    assert order.public_reply == "经核查工地已停止夜间施工并承诺整改"
    duplicate.refresh_from_db()
    assert duplicate.public_reply == order.public_reply  # the merged child follows the parent's answer

    # 5 callback 回访: dissatisfied → the dispatcher reopens, with fresh limits ------------------
    services.order_callback(
        order=order,
        actor=cast.callback_agent,
        now=at(10, 11, 11),
        reached=True,
        satisfaction=Satisfaction.DISSATISFIED,
        resolved=False,
    )
    assert order.status == OrderStatus.AWAITING_CALLBACK
    services.order_reopen(
        order=order, actor=cast.city_dispatcher, now=at(10, 11, 12), reason="群众反映仍有夜间施工"
    )
    assert order.status == OrderStatus.IN_PROGRESS and order.reopen_count == 1
    again = Assignment.objects.get(order=order, round=3)
    assert again.unit == tree.district and again.status == AssignmentStatus.ACCEPTED
    assert again.reply_by == at(10, 18, 0)  # from Saturday 11 October (调休): 13–17 October
    services.order_reply(
        order=order,
        actor=cast.district_handler,
        now=at(10, 13, 9),
        outcome=ReplyOutcome.RESOLVED,
        explanation="已对工地立案处罚",
    )
    services.order_review_approve(order=order, actor=cast.city_dispatcher, now=at(10, 13, 10))
    services.order_callback(
        order=order,
        actor=cast.callback_agent,
        now=at(10, 13, 11),
        reached=True,
        satisfaction=Satisfaction.SATISFIED,
        resolved=True,
    )
    assert order.status == OrderStatus.CLOSED and order.closed_at == at(10, 13, 11)
    # the duplicate's resident is called back too (it received the new answer as well)
    duplicate.refresh_from_db()
    assert duplicate.public_reply == "已对工地立案处罚"
    services.order_callback_merged(
        order=duplicate,
        actor=cast.callback_agent,
        now=at(10, 13, 12),
        reached=True,
        satisfaction=Satisfaction.BASICALLY,
    )
    assert Callback.objects.filter(order=duplicate).count() == 1

    # 6 assess 考评: what assessment reads is on the record -----------------------------------
    order.refresh_from_db()
    assert (order.rework_count, order.reopen_count, order.reply_outcome) == (1, 1, ReplyOutcome.RESOLVED)
    assert Callback.objects.filter(order=order, satisfaction=Satisfaction.SATISFIED).count() == 1

    # the timeline: contiguous, in order, every step there --------------------------------------
    events = list(OrderEvent.objects.filter(order=order).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(a.occurred_at <= b.occurred_at for a, b in zip(events, events[1:], strict=False))
    types = [e.type for e in events]
    expected_in_order = [
        EventType.CREATED,
        EventType.SUBMITTED,
        EventType.DISPATCHED,
        EventType.RETURN_REQUESTED,
        EventType.RETURN_UPHELD,
        EventType.DISPATCHED,
        EventType.ACCEPTED,
        EventType.DELEGATED,
        EventType.PHONE_REVEALED,
        EventType.EXTENSION_APPROVED,
        EventType.SUSPEND_APPROVED,
        EventType.RESUMED,
        EventType.CHILD_MERGED,
        EventType.REVIEW_SENT_BACK,
        EventType.REVIEW_APPROVED,
        EventType.CALLBACK,
        EventType.REOPENED,
        EventType.CALLBACK,
    ]
    position = 0
    for t in types:
        if position < len(expected_in_order) and t == expected_in_order[position]:
            position += 1
    assert position == len(expected_in_order), types
    assert events[-1].type == EventType.CALLBACK and events[-1].to_status == OrderStatus.CLOSED
    assert replay_order(order) == stored_clocks(order)
    assert not Assignment.objects.filter(
        order=order, status__in=["pending", "accepted", "replied", "return_requested"]
    ).exists()

    # the outbox: the right people, once per event and channel; delivery exactly once ----------
    def told(user, event_type):
        return Notification.objects.filter(
            recipient=user, event__order=order, event__type=event_type, channel=NotificationChannel.IN_APP
        ).count()

    assert told(cast.dept_handler, EventType.DISPATCHED) == 1
    assert told(cast.district_handler, EventType.DISPATCHED) == 1
    assert told(cast.city_dispatcher, EventType.RETURN_REQUESTED) == 1
    assert told(cast.community_handler, EventType.DELEGATED) == 1
    assert told(cast.callback_agent, EventType.REVIEW_APPROVED) == 2
    assert told(cast.city_dispatcher, EventType.CALLBACK) == 1  # the dissatisfied one
    assert told(cast.district_handler, EventType.REOPENED) == 1
    # the duplicate received both answers (before and after the reopen), each announced once
    assert (
        Notification.objects.filter(
            event__order=duplicate,
            event__type=EventType.ANSWER_SHARED,
            recipient=cast.callback_agent,
            channel=NotificationChannel.IN_APP,
        ).count()
        == 2
    )
    assert not Notification.objects.filter(recipient=cast.outsider).exists()

    total = Notification.objects.count()
    mail.outbox.clear()
    assert deliver_pending(now=at(10, 13, 13)) == total
    assert Notification.objects.filter(delivered_at__isnull=True).count() == 0
    assert deliver_pending(now=at(10, 13, 14)) == 0
    emails = Notification.objects.filter(channel=NotificationChannel.EMAIL).count()
    assert emails >= 2  # the district handler's two dispatch-type e-mails (dispatch, reopen)
    assert len(mail.outbox) == emails
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == emails
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CLOSED
