"""The daily rollups: the incremental catch-up equals a full recomputation (hypothesis over random
order histories built through the orders services), runs twice safely, and moves only the days
that changed."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from assessment import metrics
from assessment.models import FillState, OrderFact, UnitDailyCount, UnitMonthCount
from assessment.rollups import (
    compute_facts,
    rollup_catch_up,
    rollup_days,
    rollup_months,
    rollup_orders,
    rollup_rebuild,
)
from assessment.services import appeal_rule, appeal_submit
from assessment.tests.factories import HOUR, handled_order
from orders import services
from orders.choices import Channel, OrderKind, OrderStatus, ReplyOutcome, Satisfaction
from orders.errors import OrderError
from orders.models import Assignment, Callback, Order
from orders.tests.factories import make_order


class Rollback(Exception):  # noqa: N818 -- a control-flow signal, not an error
    pass


@contextmanager
def rolled_back():
    try:
        with transaction.atomic():
            yield
            raise Rollback
    except Rollback:
        pass


def daily_table() -> dict[metrics.RollupKey, int]:
    return {(r.unit_id, r.day, r.item_id, r.channel, r.metric): r.value for r in UnitDailyCount.objects.all()}


def monthly_table() -> dict[metrics.RollupKey, int]:
    return {
        (r.unit_id, r.month, r.item_id, r.channel, r.metric): r.value for r in UnitMonthCount.objects.all()
    }


def table() -> tuple[dict[metrics.RollupKey, int], dict[metrics.RollupKey, int]]:
    """Both rollup tables as stored."""
    return daily_table(), monthly_table()


def expected_table() -> tuple[dict[metrics.RollupKey, int], dict[metrics.RollupKey, int]]:
    """Both rollup tables as the facts recomputed from the raw tables give them."""
    facts = compute_facts(list(Order.objects.values_list("pk", flat=True))).values()
    return metrics.aggregate_facts(facts), metrics.aggregate_facts(facts, metrics.fact_month_rows)


# --- random histories --------------------------------------------------------------------------------------

ACTIONS = [
    "create",
    "create_consultation",
    "answer",
    "submit",
    "dispatch",
    "dispatch_dept",
    "accept",
    "contact",
    "reply",
    "approve",
    "send_back",
    "callback_satisfied",
    "callback_basically",
    "callback_dissatisfied",
    "callback_unreached",
    "late_callback",
    "close",
    "reopen",
    "merge",
    "suspend",
    "resume",
    "extend",
    "withdraw",
    "appeal",
    "catch_up",
]
# "advance" moves an order one step along its natural path, so histories reach callbacks and closes
steps_strategy = st.lists(
    st.tuples(
        st.sampled_from(["advance_all"] * 12 + ["advance"] * 8 + ["catch_up"] * 8 + ["create"] * 3 + ACTIONS),
        st.integers(0, 5),
        st.integers(0, 5),
        st.integers(1, 36 * 60),
    ),
    min_size=20,
    max_size=40,
)

ADVANCE_CALLBACKS = [
    Satisfaction.SATISFIED,
    Satisfaction.SATISFIED,
    Satisfaction.BASICALLY,
    Satisfaction.DISSATISFIED,
    "",
    Satisfaction.SATISFIED,
]


def _lead(order):
    return (
        Assignment.objects.filter(order=order, role="lead", parent__isnull=True)
        .order_by("-round", "-pk")
        .first()
    )


def _handler(cast, order):
    lead = _lead(order)
    if lead is None:
        return None
    tree = cast.tree
    return {
        tree.district.pk: cast.district_handler,
        tree.department.pk: cast.dept_handler,
        tree.other_district.pk: cast.outsider,
    }.get(lead.unit_id)


def _callback(cast, order, t, satisfaction, reached=True):
    services.order_callback(
        order=order,
        actor=cast.callback_agent,
        now=t,
        reached=reached,
        satisfaction=satisfaction if reached else "",
        unit_contacted=reached and satisfaction != "dissatisfied",
        resolved=reached and satisfaction == Satisfaction.SATISFIED,
    )


def _step(cast, orders, action, i, j, t, capture):
    tree = cast.tree
    if action in ("create", "create_consultation"):
        grid = [tree.grid, tree.other_grid, None][i % 3]
        orders.append(
            make_order(
                actor=cast.agent,
                now=t,
                grid=grid,
                item=cast.item,
                channel=[Channel.HOTLINE, Channel.WEB][j % 2],
                kind=OrderKind.CONSULTATION if action == "create_consultation" else OrderKind.COMPLAINT,
            )
        )
        return
    if action == "catch_up":
        rollup_catch_up(now=t)
        return
    if action == "advance_all":
        for k, each in enumerate(orders):
            try:
                with transaction.atomic():
                    each.refresh_from_db()
                    _advance(cast, each, _handler(cast, each), (j + k) % 6, t)
            except (OrderError, PermissionDenied):
                pass
        return
    if not orders:
        return
    order = orders[i % len(orders)]
    order.refresh_from_db()
    handler = _handler(cast, order)
    if action == "advance":
        _advance(cast, order, handler, j, t)
    elif action == "answer":
        services.order_answer_directly(order=order, actor=cast.agent, now=t, answer="已按知识库答复")
    elif action == "submit":
        services.order_submit(order=order, actor=cast.agent, now=t)
    elif action == "dispatch":
        lead = None if order.grid_id is not None else tree.department
        services.order_dispatch(order=order, actor=cast.city_dispatcher, now=t, lead_unit=lead)
    elif action == "dispatch_dept":
        services.order_dispatch(order=order, actor=cast.city_dispatcher, now=t, lead_unit=tree.department)
    elif action == "accept" and handler is not None:
        services.order_accept(order=order, actor=handler, now=t)
    elif action == "contact" and handler is not None:
        services.order_record_contact(order=order, actor=handler, now=t)
    elif action == "reply" and handler is not None:
        services.order_reply(
            order=order, actor=handler, now=t, outcome=ReplyOutcome.RESOLVED, explanation="已处理"
        )
    elif action == "approve":
        services.order_review_approve(order=order, actor=cast.city_dispatcher, now=t)
    elif action == "send_back":
        services.order_review_send_back(order=order, actor=cast.city_dispatcher, now=t, reason="请补充")
    elif action == "callback_satisfied":
        _callback(cast, order, t, Satisfaction.SATISFIED)
    elif action == "callback_basically":
        _callback(cast, order, t, Satisfaction.BASICALLY)
    elif action == "callback_dissatisfied":
        _callback(cast, order, t, Satisfaction.DISSATISFIED)
    elif action == "callback_unreached":
        _callback(cast, order, t, "", reached=False)
    elif action == "late_callback":  # entered now for a call made up to a day and a half earlier
        _callback(cast, order, t - dt.timedelta(minutes=j * 400), Satisfaction.SATISFIED)
    elif action == "close":
        services.order_close(order=order, actor=cast.city_dispatcher, now=t, reason="依法办结")
    elif action == "reopen":
        services.order_reopen(order=order, actor=cast.city_dispatcher, now=t, reason="群众反映未解决")
    elif action == "merge":
        parent = orders[j % len(orders)]
        parent.refresh_from_db()
        services.order_merge(order=order, actor=cast.city_dispatcher, now=t, parent=parent)
    elif action == "suspend" and handler is not None:
        req = services.order_suspend_request(order=order, actor=handler, now=t, reason="待审批")
        services.order_suspend_approve(order=order, actor=cast.city_dispatcher, now=t, request=req)
    elif action == "resume":
        services.order_resume(order=order, actor=cast.city_dispatcher, now=t)
    elif action == "extend" and handler is not None:
        ext = services.order_extension_request(order=order, actor=handler, now=t, amount=2, reason="需协调")
        services.order_extension_approve(order=order, actor=cast.city_dispatcher, now=t, request=ext)
    elif action == "withdraw":
        services.order_withdraw(order=order, actor=cast.agent, now=t, reason="群众撤回")
    elif action == "appeal" and handler is not None:
        cb = Callback.objects.filter(order=order, reached=True).order_by("-created_at", "-pk").first()
        if cb is None:
            return
        appeal = appeal_submit(
            actor=handler,
            callback=cb,
            unit=_lead(order).unit,
            reason="outside_duties",
            text="非本单位职责",
            now=max(t, cb.created_at),
        )
        with capture(execute=True):  # the after-commit rollup task (Huey runs it at once in tests)
            appeal_rule(
                actor=cast.city_dispatcher,
                appeal=appeal,
                decision="uphold",
                ruling="成立",
                now=max(t, cb.created_at),
            )


def _advance(cast, order, handler, j, t):
    """The natural next step of ``order`` (``j`` picks among the choices)."""
    status = order.status
    if status == OrderStatus.REGISTERED:
        if order.kind == OrderKind.CONSULTATION and j % 2:
            services.order_answer_directly(order=order, actor=cast.agent, now=t, answer="已按知识库答复")
        else:
            services.order_submit(order=order, actor=cast.agent, now=t)
    elif status == OrderStatus.AWAITING_DISPATCH:
        lead = cast.tree.department if j == 4 or order.grid_id is None else None
        services.order_dispatch(order=order, actor=cast.city_dispatcher, now=t, lead_unit=lead)
    elif status == OrderStatus.AWAITING_ACCEPTANCE and handler is not None:
        services.order_accept(order=order, actor=handler, now=t)
    elif status == OrderStatus.IN_PROGRESS and handler is not None:
        if j % 2:
            services.order_record_contact(order=order, actor=handler, now=t)
        services.order_reply(
            order=order, actor=handler, now=t, outcome=ReplyOutcome.RESOLVED, explanation="已处理"
        )
    elif status == OrderStatus.AWAITING_REVIEW:
        if j == 3:
            services.order_review_send_back(order=order, actor=cast.city_dispatcher, now=t, reason="请补充")
        else:
            services.order_review_approve(order=order, actor=cast.city_dispatcher, now=t)
    elif status == OrderStatus.AWAITING_CALLBACK:
        if order.callbacks.exists() and j >= 3:  # after a dissatisfied or unreached call: decide
            if j == 5:
                services.order_reopen(order=order, actor=cast.city_dispatcher, now=t, reason="群众反映未解决")
            else:
                services.order_close(order=order, actor=cast.city_dispatcher, now=t, reason="依法办结")
        else:
            satisfaction = ADVANCE_CALLBACKS[j]
            _callback(cast, order, t, satisfaction, reached=bool(satisfaction))
    elif status == OrderStatus.SUSPENDED:
        services.order_resume(order=order, actor=cast.city_dispatcher, now=t)
    elif status == OrderStatus.CLOSED and j == 5:
        services.order_reopen(order=order, actor=cast.city_dispatcher, now=t, reason="群众再次反映")


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    starts=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=3),
    steps=steps_strategy,
)
def test_the_incremental_rollup_equals_a_full_recomputation(
    cast, now, django_capture_on_commit_callbacks, starts, steps
):
    with rolled_back():
        orders: list[Order] = []
        t = now
        for i, j in starts:  # the first orders (more may be created by the steps)
            _step(
                cast,
                orders,
                "create_consultation" if i == 5 else "create",
                i,
                j,
                t,
                django_capture_on_commit_callbacks,
            )
        for action, i, j, minutes in steps:
            t += dt.timedelta(minutes=minutes)
            try:
                with transaction.atomic():
                    _step(cast, orders, action, i, j, t, django_capture_on_commit_callbacks)
            except (OrderError, PermissionDenied):
                pass
        rollup_catch_up(now=t)
        closed = (
            Order.objects.filter(status=OrderStatus.CLOSED).exclude(events__type="answer_directly").count()
        )
        event(f"assessed orders: {min(closed, 3)}")
        event(f"orders: {min(len(orders), 4)}")
        event(f"steps: {len(steps) // 10 * 10}")
        event(f"catch-ups: {min(sum(1 for s in steps if s[0] == 'catch_up'), 3)}")
        event(f"reopened: {Order.objects.filter(reopen_count__gt=0).exists()}")
        incremental = table()
        expected = expected_table()
        assert incremental == expected
        rollup_rebuild(now=t)
        assert table() == expected
        assert rollup_catch_up(now=t).orders == 0  # nothing left to do


# --- fixed cases ---------------------------------------------------------------------------------------------


def test_a_catch_up_run_twice_changes_nothing_the_second_time(cast, now):
    handled_order(cast, now)
    handled_order(cast, now, grid=cast.tree.other_grid)
    first = rollup_catch_up(now=now)
    snapshot = table()
    assert first.orders == 2 and all(snapshot)
    second = rollup_catch_up(now=now + HOUR)
    assert (second.orders, second.days) == (0, set())
    assert table() == snapshot
    assert FillState.objects.get(name="timeline").cursor == first.cursor


def test_rollup_tasks_by_ids_and_days_are_idempotent(cast, now):
    from assessment.tasks import rollup_days_task, rollup_orders_task

    order = handled_order(cast, now)
    rollup_orders_task([order.pk])
    snapshot = table()
    rollup_orders_task([order.pk])
    rollup_days_task([now.date().isoformat()])
    rollup_days_task([now.date().isoformat()])
    assert table() == snapshot == expected_table()


def test_the_lookback_finds_an_event_committed_behind_the_cursor(cast, now):
    order = handled_order(cast, now)
    rollup_catch_up(now=now)
    # pretend a later transaction already moved the cursor past this order's next event
    services.order_reopen(order=order, actor=cast.city_dispatcher, now=now + 9 * HOUR, reason="未解决")
    last = order.events.order_by("-pk").first()
    assert last is not None
    FillState.objects.filter(name="timeline").update(cursor=last.pk + 5)
    result = rollup_catch_up(now=now + 10 * HOUR)
    assert result.orders == 1
    assert OrderFact.objects.get(order=order).count_day is None
    assert table() == expected_table()


def test_a_rebuild_keeps_the_catch_up_cursor_moving_forward(cast, now):
    handled_order(cast, now)
    result = rollup_rebuild(now=now)
    assert result.orders == 1 and result.rows > 0
    state = FillState.objects.get(name="timeline")
    assert state.cursor == Order.objects.get().events.order_by("-pk").values_list("pk", flat=True)[0]
    assert rollup_catch_up(now=now).orders == 0


def test_rebuilding_an_empty_day_removes_its_rows(cast, now):
    order = handled_order(cast, now)
    rollup_catch_up(now=now)
    OrderFact.objects.filter(order=order).delete()
    rollup_days(days=[now.date()])
    rollup_months(months=[now.date()])
    assert not UnitDailyCount.objects.filter(day=now.date()).exists()
    assert not UnitMonthCount.objects.filter(month=now.date().replace(day=1)).exists()
    rollup_orders(order_ids=[order.pk], now=now)
    assert table() == expected_table()


def test_a_withdrawn_order_counts_only_as_received(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    services.order_withdraw(order=order, actor=cast.agent, now=now, reason="群众撤回")
    assert order.status == OrderStatus.WITHDRAWN
    rollup_catch_up(now=now)
    assert {k[4]: v for k, v in daily_table().items()} == {"t.received": 1, "v.received": 1, "g.received": 1}
    assert {k[4]: v for k, v in monthly_table().items()} == {
        "t.received": 1,
        "vi.received": 1,
        "vc.received": 1,
    }
