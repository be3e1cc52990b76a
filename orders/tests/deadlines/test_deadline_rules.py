"""Deadlines through the services, against hand-computed instants (Asia/Shanghai).

The 2025 National Day holidays run 1–8 October; Sunday 28 September and Saturday 11 October are
working days. Working-day limits count from the day after the start and end at 24:00.
"""

from __future__ import annotations

import datetime as dt

import pytest

from catalog.choices import LimitUnit
from core.calendar_services import calendar_day_enter, calendar_year_confirm
from core.workcalendar import SHANGHAI
from orders import services
from orders.choices import AssignmentRole, AssignmentStatus, EventType, OrderStatus, Urgency
from orders.models import Assignment, Order, OrderEvent
from orders.services.supervision import replay_order, stored_clocks
from orders.tests.factories import HOUR, make_item, make_order, walk_to


def at(year, month, day, hour=0):
    return dt.datetime(year, month, day, hour, tzinfo=SHANGHAI)


def lead_of(order, round_no=None):
    qs = Assignment.objects.filter(order=order, role=AssignmentRole.LEAD, parent__isnull=True)
    if round_no is not None:
        qs = qs.filter(round=round_no)
    return qs.order_by("-round", "-pk").first()


def assert_replay_matches(order):
    assert replay_order(order) == stored_clocks(order)


def test_dispatch_counts_working_days_across_national_day(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)  # dispatched at now + 1h (Fri 26 Sep 10:00)
    lead = lead_of(order)
    assert lead.dispatched_at == at(2025, 9, 26, 10)
    # 1 working day after Friday: Sunday 28 September is a working day (调休)
    assert lead.accept_by == at(2025, 9, 29, 0)
    assert lead.contact_by == at(2025, 9, 30, 0)
    # 28, 29, 30 September, then 9 and 10 October (1–8 October are holidays)
    assert lead.reply_by == at(2025, 10, 11, 0)
    assert lead.provisional is False
    order.refresh_from_db()
    assert order.due_at == lead.reply_by
    assert_replay_matches(order)


def test_urgent_items_count_calendar_hours(cast, now):
    item = make_item(name="燃气泄漏", limits=(1, 2, 12), limit_unit=LimitUnit.HOURS)
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=item, urgency=Urgency.URGENT)
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    lead = lead_of(order)
    start = lead.dispatched_at
    assert (lead.accept_by, lead.contact_by, lead.reply_by) == (
        start + dt.timedelta(hours=1),
        start + dt.timedelta(hours=2),
        start + dt.timedelta(hours=12),
    )


def test_order_without_rule_uses_default_limits(cast, now):
    item = make_item(with_rule=False)
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=item, submit=True)
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=now, lead_unit=cast.tree.district)
    lead = lead_of(order)
    assert lead.reply_within == 5 and lead.limit_unit == LimitUnit.WORKING_DAYS
    assert lead.reply_by == at(2025, 10, 11, 0)


def test_delegated_child_gets_no_more_than_the_parent_has_left(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    parent = lead_of(order)
    t = at(2025, 10, 9, 9)
    services.order_delegate(order=order, actor=cast.district_handler, now=t, unit=cast.tree.street)
    child = Assignment.objects.get(order=order, parent=parent)
    # its own limits would end on 10, 11 and 15 October; the parent's reply-by caps them
    assert child.accept_by == at(2025, 10, 11, 0)
    assert child.contact_by == at(2025, 10, 11, 0)
    assert child.reply_by == parent.reply_by == at(2025, 10, 11, 0)
    # delegated early, the child's own limits are shorter than the parent's
    services.order_accept(order=order, actor=cast.street_handler, now=t + HOUR)
    services.order_delegate(
        order=order, actor=cast.street_handler, now=t + 2 * HOUR, unit=cast.tree.community
    )
    grandchild = Assignment.objects.get(order=order, parent=child)
    assert grandchild.accept_by == at(2025, 10, 11, 0)
    assert grandchild.reply_by is not None and child.reply_by is not None
    assert grandchild.reply_by <= child.reply_by
    assert_replay_matches(order)


def test_suspension_stops_the_clock_and_resumption_continues_with_the_time_left(cast, now):
    order = make_order(actor=cast.agent, now=at(2025, 9, 15, 8), grid=cast.tree.grid, item=cast.item)
    services.order_submit(order=order, actor=cast.agent, now=at(2025, 9, 15, 8))
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=at(2025, 9, 15, 9))
    services.order_accept(order=order, actor=cast.district_handler, now=at(2025, 9, 15, 10))
    lead = lead_of(order)
    assert lead.reply_by == at(2025, 9, 23, 0)  # 16, 17, 18, 19, 22 September
    request = services.order_suspend_request(
        order=order, actor=cast.district_handler, now=at(2025, 9, 16, 11), reason="待规划审批"
    )
    services.order_suspend_approve(
        order=order, actor=cast.city_dispatcher, now=at(2025, 9, 16, 12), request=request
    )
    lead.refresh_from_db()
    assert lead.paused_at == at(2025, 9, 16, 12)
    assert lead.reply_by == at(2025, 9, 23, 0)  # unchanged while stopped
    services.order_resume(order=order, actor=cast.city_dispatcher, now=at(2025, 9, 22, 12))
    lead.refresh_from_db()
    # 108 working hours were left (Tue 12h + Wed, Thu, Fri, Mon); from Mon 22 12:00 they end
    # at 24:00 on Friday 26 September
    assert lead.paused_at is None
    assert lead.reply_by == at(2025, 9, 27, 0)
    # 36 hours were left to contact the resident
    assert lead.contact_by == at(2025, 9, 24, 0)
    assert_replay_matches(order)
    types = list(OrderEvent.objects.filter(order=order).values_list("type", flat=True))
    assert EventType.SUSPEND_APPROVED in types and EventType.RESUMED in types


def test_a_deadline_already_passed_when_suspended_stays_passed(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    lead = lead_of(order)
    late = at(2025, 10, 13, 9)  # after the reply-by (11 October 00:00)
    request = services.order_suspend_request(
        order=order, actor=cast.district_handler, now=late, reason="待审批"
    )
    services.order_suspend_approve(order=order, actor=cast.city_dispatcher, now=late, request=request)
    services.order_resume(order=order, actor=cast.city_dispatcher, now=late + 48 * HOUR)
    lead.refresh_from_db()
    assert lead.reply_by == at(2025, 10, 11, 0)
    assert_replay_matches(order)


def test_extension_adds_working_days_after_the_current_reply_by(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    request = services.order_extension_request(
        order=order, actor=cast.district_handler, now=at(2025, 10, 9, 9), amount=2, reason="需协调"
    )
    services.order_extension_approve(
        order=order, actor=cast.city_dispatcher, now=at(2025, 10, 9, 10), request=request
    )
    lead = lead_of(order)
    # reply-by was the end of Friday 10 October; Saturday 11 (调休) and Monday 13 are the two days
    assert lead.reply_by == at(2025, 10, 14, 0)
    event = OrderEvent.objects.filter(order=order, type=EventType.EXTENSION_APPROVED).get()
    assert dt.datetime.fromisoformat(event.payload["deadlines"][str(lead.pk)]["reply_by"]) == lead.reply_by
    assert_replay_matches(order)


def test_child_extension_never_passes_the_parent(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    services.order_delegate(
        order=order, actor=cast.district_handler, now=at(2025, 9, 29, 9), unit=cast.tree.street
    )
    services.order_accept(order=order, actor=cast.street_handler, now=at(2025, 9, 29, 10))
    child = Assignment.objects.get(order=order, parent__isnull=False)
    parent = lead_of(order)
    request = services.order_extension_request(
        order=order, actor=cast.street_handler, now=at(2025, 9, 29, 11), amount=10, reason="需协调"
    )
    # a delegated child's extension is decided by the parent unit
    services.order_extension_approve(
        order=order, actor=cast.district_handler, now=at(2025, 9, 29, 12), request=request
    )
    child.refresh_from_db()
    assert child.reply_by == parent.reply_by
    assert_replay_matches(order)


def test_redispatch_after_upheld_return_gives_fresh_limits(cast, order, now):
    walk_to(order, OrderStatus.RETURN_REQUESTED, cast, now)
    services.order_return_uphold(order=order, actor=cast.city_dispatcher, now=at(2025, 9, 29, 9))
    services.order_dispatch(
        order=order, actor=cast.city_dispatcher, now=at(2025, 9, 29, 10), lead_unit=cast.tree.department
    )
    first, second = Assignment.objects.filter(order=order).order_by("round")
    assert first.status == AssignmentStatus.RETURNED
    assert second.round == 2 and second.unit == cast.tree.department
    assert second.dispatched_at == at(2025, 9, 29, 10)
    assert second.accept_by == at(2025, 10, 1, 0)  # Tuesday 30 September
    assert second.reply_by == at(2025, 10, 14, 0)  # 30 Sep, 9, 10, 11 (调休) and 13 Oct
    assert_replay_matches(order)


def test_reopen_gives_fresh_limits(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_CALLBACK, cast, now)
    services.order_reopen(
        order=order, actor=cast.city_dispatcher, now=at(2025, 10, 9, 9), reason="群众不满意"
    )
    lead = lead_of(order)
    assert lead.round == 2 and lead.status == AssignmentStatus.ACCEPTED
    assert lead.reply_by == at(2025, 10, 16, 0)  # 10, 11, 13, 14, 15 October
    assert_replay_matches(order)


def test_year_missing_from_the_calendar_gives_provisional_deadlines_recomputed_when_entered(cast, now):
    start = at(2026, 12, 28, 9)
    order = make_order(actor=cast.agent, now=start, grid=cast.tree.grid, item=cast.item, submit=True)
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=start)
    lead = lead_of(order)
    # 29, 30, 31 December, then 1 January 2027 (unknown: a weekday by weekends alone) and 4 January
    assert lead.reply_by == at(2027, 1, 5, 0)
    assert lead.provisional is True
    assert_replay_matches(order)

    entered = at(2026, 12, 29, 8)
    calendar_day_enter(actor=None, date=dt.date(2027, 1, 1), is_workday=False, name="元旦", now=entered)
    event = services.order_recompute_deadlines(order=order, now=entered)
    assert event is not None and event.type == EventType.DEADLINES_RECALCULATED
    lead.refresh_from_db()
    assert lead.reply_by == at(2027, 1, 6, 0)  # New Year's Day is off: the fifth day is 5 January
    assert lead.provisional is True  # 2027 is still not confirmed
    assert event.payload["calendar_version"] == lead.calendar_version
    assert_replay_matches(order)

    calendar_year_confirm(actor=None, year=2027, now=entered + HOUR)
    event = services.order_recompute_deadlines(order=order, now=entered + HOUR)
    lead.refresh_from_db()
    assert event is not None
    assert lead.provisional is False
    assert lead.reply_by == at(2027, 1, 6, 0)
    assert_replay_matches(order)
    # nothing left to change: no further event
    assert services.order_recompute_deadlines(order=order, now=entered + 2 * HOUR) is None


def test_the_sweep_recomputes_orders_after_a_calendar_change(cast, now):
    start = at(2026, 12, 28, 9)
    order = make_order(actor=cast.agent, now=start, grid=cast.tree.grid, item=cast.item, submit=True)
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=start)
    calendar_day_enter(actor=None, date=dt.date(2027, 1, 1), is_workday=False, name="元旦", now=start)
    result = services.deadline_sweep(now=start + HOUR)
    assert result.recomputed == 1
    assert lead_of(order).reply_by == at(2027, 1, 6, 0)
    assert OrderEvent.objects.filter(order=order, type=EventType.DEADLINES_RECALCULATED).count() == 1
    assert services.deadline_sweep(now=start + 2 * HOUR).recomputed == 0


@pytest.mark.parametrize("status", [OrderStatus.AWAITING_CALLBACK, OrderStatus.CLOSED])
def test_ended_rounds_keep_their_deadlines_on_record(cast, order, now, status):
    walk_to(order, status, cast, now)
    lead = lead_of(order)
    assert lead.status == AssignmentStatus.APPROVED
    assert lead.reply_by == at(2025, 10, 11, 0)
    assert Order.objects.get(pk=order.pk).due_at is None
    assert_replay_matches(order)
