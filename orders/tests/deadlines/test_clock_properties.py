"""Properties of the clock (SECURITY.md SLA-3) on the pure functions, and replay == stored for
random sequences of deadline-changing actions driven through the services."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.workcalendar import SHANGHAI, WorkCalendar
from orders import deadlines, services
from orders.choices import AssignmentStatus, OrderStatus, ReplyOutcome
from orders.errors import OrderError
from orders.models import Assignment
from orders.services.supervision import replay_order, stored_clocks
from orders.tests.factories import make_order, walk_to

CAL = WorkCalendar()
BASE = dt.datetime(2025, 9, 1, tzinfo=SHANGHAI)
instants = st.integers(min_value=0, max_value=24 * 60 * 90).map(lambda m: BASE + dt.timedelta(minutes=m))
limits = st.builds(
    lambda unit, a, c, r: deadlines.Limits(unit, a, a + c, a + c + r),
    st.sampled_from(["working_days", "hours"]),
    st.integers(1, 5),
    st.integers(0, 5),
    st.integers(0, 10),
)
gaps = st.integers(min_value=0, max_value=24 * 60 * 20).map(lambda m: dt.timedelta(minutes=m))


@given(start=instants, lim=limits, pause_after=gaps, paused_for=gaps)
def test_a_pause_never_makes_a_deadline_earlier(start, lim, pause_after, paused_for):
    clock = deadlines.clock_start(at=start, limits=lim, calendar=CAL)
    paused = deadlines.clock_pause(clock, at=start + pause_after)
    resumed = deadlines.clock_resume(paused, at=start + pause_after + paused_for, calendar=CAL)
    for name, before in clock.deadlines().items():
        assert before is not None
        assert getattr(resumed, name) >= before


@given(start=instants, lim=limits, pause_after=gaps)
def test_a_pause_resumed_at_once_changes_nothing(start, lim, pause_after):
    clock = deadlines.clock_start(at=start, limits=lim, calendar=CAL)
    t = start + pause_after
    resumed = deadlines.clock_resume(deadlines.clock_pause(clock, at=t), at=t, calendar=CAL)
    assert resumed.deadlines() == clock.deadlines()


@given(start=instants, lim=limits, holiday=st.integers(0, 60))
def test_an_added_holiday_never_makes_a_deadline_earlier(start, lim, holiday):
    day = (start + dt.timedelta(days=holiday)).astimezone(SHANGHAI).date()
    with_holiday = WorkCalendar(version=2, entered={day: False})
    plain = deadlines.clock_start(at=start, limits=lim, calendar=CAL)
    moved = deadlines.clock_start(at=start, limits=lim, calendar=with_holiday)
    for name, before in plain.deadlines().items():
        assert getattr(moved, name) >= before


@given(start=instants, amount=gaps)
def test_add_working_time_is_the_inverse_of_working_time(start, amount):
    end, _provisional = deadlines.add_working_time(CAL, start, amount)
    assert end >= start
    assert CAL.working_time(start, end).duration == amount


@given(start=instants, lim=limits, extra=st.integers(1, 10), cap_after=gaps)
def test_an_extension_moves_the_reply_by_later_but_never_past_the_cap(start, lim, extra, cap_after):
    clock = deadlines.clock_start(at=start, limits=lim, calendar=CAL)
    assert clock.reply_by is not None
    cap = clock.reply_by + cap_after
    extended = deadlines.clock_extend(clock, amount=extra, unit=lim.unit, calendar=CAL, cap=cap)
    assert extended.reply_by is not None
    assert clock.reply_by <= extended.reply_by <= cap


@given(start=instants, lim=limits, parent_lim=limits, after=gaps)
def test_a_child_never_has_more_time_than_its_parent(start, lim, parent_lim, after):
    parent = deadlines.clock_start(at=start, limits=parent_lim, calendar=CAL)
    child = deadlines.clock_start(at=start + after, limits=lim, calendar=CAL, parent=parent, parent_id=1)
    assert parent.reply_by is not None
    assert child.accept_by is not None and child.contact_by is not None and child.reply_by is not None
    for value in (child.accept_by, child.contact_by, child.reply_by):
        assert value <= parent.reply_by
    assert child.accept_by <= child.reply_by and child.contact_by <= child.reply_by


# --- replay == stored through the services --------------------------------------------------------


class _Rollback(Exception):  # noqa: N818 -- a control-flow signal, not an error
    pass


@contextmanager
def rolled_back():
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


STEPS = st.sampled_from(
    [
        "delegate",
        "accept_child",
        "extend",
        "extend_child",
        "suspend",
        "resume",
        "reply_child",
        "approve_child",
        "contact",
    ]
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(STEPS, st.integers(1, 72 * 60)), max_size=10))
def test_replaying_the_timeline_reproduces_the_stored_deadlines(cast, now, steps):
    with rolled_back():
        order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
        walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
        t = now + dt.timedelta(hours=3)
        for step, minutes in steps:
            t += dt.timedelta(minutes=minutes)
            try:
                _step(step, order, cast, t)
            except (OrderError, PermissionDenied):
                order.refresh_from_db()
            assert replay_order(order) == stored_clocks(order)


def _step(step, order, cast, t):
    child = Assignment.objects.filter(order=order, parent__isnull=False).order_by("-pk").first()
    if step == "delegate":
        services.order_delegate(order=order, actor=cast.district_handler, now=t, unit=cast.tree.street)
    elif step == "accept_child":
        services.order_accept(order=order, actor=cast.street_handler, now=t)
    elif step == "extend":
        request = services.order_extension_request(
            order=order, actor=cast.district_handler, now=t, amount=2, reason="协调"
        )
        services.order_extension_approve(order=order, actor=cast.city_dispatcher, now=t, request=request)
    elif step == "extend_child":
        request = services.order_extension_request(
            order=order, actor=cast.street_handler, now=t, amount=3, reason="协调"
        )
        services.order_extension_approve(order=order, actor=cast.district_handler, now=t, request=request)
    elif step == "suspend":
        pause = services.order_suspend_request(
            order=order, actor=cast.district_handler, now=t, reason="待审批"
        )
        services.order_suspend_approve(order=order, actor=cast.city_dispatcher, now=t, request=pause)
    elif step == "resume":
        services.order_resume(order=order, actor=cast.city_dispatcher, now=t)
    elif step == "reply_child":
        services.order_reply(
            order=order, actor=cast.street_handler, now=t, outcome=ReplyOutcome.RESOLVED, explanation="已处理"
        )
    elif step == "approve_child" and child is not None and child.status == AssignmentStatus.REPLIED:
        services.order_review_approve(
            order=order, actor=cast.district_handler, now=t, reply=child.replies.get(status="pending_review")
        )
    elif step == "contact":
        services.order_record_contact(order=order, actor=cast.district_handler, now=t)
