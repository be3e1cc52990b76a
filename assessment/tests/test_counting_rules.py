"""Every row of ``metrics.COUNTING_RULES`` pinned on hand-built orders (driven through the orders
services, rolled up by the incremental catch-up, read back through the selectors).

Test names start with ``test_rule_<key>_``; the last test checks every rule has one.
"""

from __future__ import annotations

import datetime as dt

import pytest

from assessment import metrics
from assessment.metrics import Period
from assessment.models import UnitDailyCount
from assessment.rollups import compute_facts, rollup_catch_up
from assessment.selectors import unit_counts_for_period
from assessment.tests.factories import (
    HOUR,
    call_back,
    consultation_answered,
    dispatched_order,
    handled_order,
    reply_and_approve,
)
from catalog.choices import LimitUnit
from core.workcalendar import SHANGHAI
from orders import services
from orders.choices import Channel, ReplyOutcome, Satisfaction
from orders.models import Assignment
from orders.tests.factories import make_item, make_order

SEPTEMBER = Period.month(2025, 9)
OCTOBER = Period.month(2025, 10)


def at(month, day, hour, minute=0):
    return dt.datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def counts(unit, period=SEPTEMBER, axis=metrics.TERRITORIAL):
    return unit_counts_for_period(unit=unit, period=period)[axis]


def on_day(unit, day, axis=metrics.TERRITORIAL):
    return counts(unit, Period(day, day + dt.timedelta(days=1)), axis)


def catch_up(t):
    return rollup_catch_up(now=t)


# --- territorial ---------------------------------------------------------------------------------------


def test_rule_territorial_counts_the_street_and_community_where_the_problem_is(cast, now):
    tree = cast.tree
    handled_order(cast, now, lead=tree.department)  # a city department handles a problem in 东华
    catch_up(now)
    for unit in (tree.community, tree.street, tree.district, tree.city):
        assert counts(unit)["valid"] == 1, unit
    # per unit and day everything sits on the grid's community; the grid keeps the volume detail
    assert counts(tree.grid)["valid"] == 0
    detail = UnitDailyCount.objects.get(unit=tree.grid, metric="v.received")
    assert (detail.item_id, detail.channel, detail.value) == (cast.item.pk, "hotline", 1)
    for unit in (tree.other_street, tree.other_community, tree.department):
        assert counts(unit)["valid"] == 0, unit


def test_rule_territorial_an_order_without_a_grid_counts_for_the_city_but_no_street(cast, now):
    order = make_order(actor=cast.agent, now=now, item=cast.item)  # no grid, no address
    assert order.grid_id is None
    catch_up(now)
    assert counts(cast.tree.city)["received"] == 1
    assert counts(cast.tree.street)["received"] == 0
    assert counts(cast.tree.district)["received"] == 0


# --- handling -------------------------------------------------------------------------------------------


def test_rule_handling_counts_the_unit_of_the_final_lead_assignment(cast, now):
    tree = cast.tree
    order = dispatched_order(cast, now, lead=tree.department)
    services.order_return(order=order, actor=cast.dept_handler, now=now + HOUR, reason="属区级职责")
    services.order_return_uphold(order=order, actor=cast.city_dispatcher, now=now + 2 * HOUR)
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=now + 3 * HOUR)  # the district
    approved = reply_and_approve(cast, order, now + 4 * HOUR)
    call_back(cast, order, approved + HOUR)
    catch_up(now)
    assert counts(tree.district, axis=metrics.HANDLING)["valid"] == 1
    assert counts(tree.department, axis=metrics.HANDLING)["valid"] == 0
    assert counts(tree.city, axis=metrics.HANDLING)["valid"] == 1  # the subtree total


def test_rule_handling_a_delegation_stays_the_lead_units_work(cast, now):
    tree = cast.tree
    order = dispatched_order(cast, now)
    services.order_accept(order=order, actor=cast.district_handler, now=now + HOUR)
    services.order_delegate(order=order, actor=cast.district_handler, now=now + 2 * HOUR, unit=tree.street)
    services.order_accept(order=order, actor=cast.street_handler, now=now + 3 * HOUR)
    services.order_reply(
        order=order,
        actor=cast.street_handler,
        now=now + 4 * HOUR,
        outcome=ReplyOutcome.RESOLVED,
        explanation="街道已处理",
    )
    child = Assignment.objects.get(order=order, unit=tree.street)
    services.order_review_approve(
        order=order, actor=cast.district_handler, now=now + 5 * HOUR, reply=child.replies.get()
    )
    services.order_reply(
        order=order,
        actor=cast.district_handler,
        now=now + 6 * HOUR,
        outcome=ReplyOutcome.RESOLVED,
        explanation="区里已核实",
    )
    services.order_review_approve(order=order, actor=cast.city_dispatcher, now=now + 7 * HOUR)
    call_back(cast, order, now + 8 * HOUR)
    catch_up(now)
    fact = compute_facts([order.pk])[order.pk]
    assert fact.hdl_unit_id == tree.district.pk
    assert Assignment.objects.filter(order=order, unit=tree.street).exists()
    # the district's handling figure includes it once; the street's own handling rows have none
    assert counts(tree.district, axis=metrics.HANDLING)["closed"] == 1
    assert counts(tree.street, axis=metrics.HANDLING)["closed"] == 0


# --- period ---------------------------------------------------------------------------------------------


def test_rule_period_is_the_month_of_the_closing_callback(cast, now):
    tree = cast.tree
    september = handled_order(cast, now, callback_at=at(9, 30, 23, 50))
    october = handled_order(cast, now, callback_at=at(10, 1, 0, 10))
    catch_up(now)
    assert counts(tree.street, SEPTEMBER)["closed"] == 1
    assert counts(tree.street, OCTOBER)["closed"] == 1
    assert counts(tree.street, SEPTEMBER)["received"] == 2  # volume: by registration
    assert compute_facts([september.pk])[september.pk].count_day == dt.date(2025, 9, 30)
    assert compute_facts([october.pk])[october.pk].count_day == dt.date(2025, 10, 1)


def test_rule_period_a_close_after_a_dissatisfied_callback_counts_on_the_callback_day(cast, now):
    order = dispatched_order(cast, now)
    approved = reply_and_approve(cast, order, now + HOUR)
    call_back(cast, order, at(9, 30, 20), satisfaction=Satisfaction.DISSATISFIED, resolved=False)
    services.order_close(order=order, actor=cast.city_dispatcher, now=at(10, 9, 10), reason="诉求已依法答复")
    assert approved < at(9, 30, 20)
    catch_up(now)
    fact = compute_facts([order.pk])[order.pk]
    assert fact.count_day == dt.date(2025, 9, 30)
    c = counts(cast.tree.street, SEPTEMBER)
    assert (c["closed"], c["valid"], c["satisfied"], c["resolved"]) == (1, 1, 0, 0)
    assert counts(cast.tree.street, OCTOBER)["closed"] == 0


# --- late callback ---------------------------------------------------------------------------------------


def test_rule_late_callback_recomputes_that_days_rollup(cast, now):
    street = cast.tree.street
    order = dispatched_order(cast, now)
    reply_and_approve(cast, order, now + HOUR)
    first = catch_up(now)
    assert first.orders == 1
    day = dt.date(2025, 9, 30)
    assert on_day(street, day)["closed"] == 0
    # on 2 October the agent enters the call made on 30 September at 18:00
    call_back(cast, order, at(9, 30, 18))
    late = catch_up(at(10, 2, 9))
    assert late.days == {day}  # exactly that day is recomputed
    assert on_day(street, day)["closed"] == 1
    assert on_day(street, day)["valid"] == 1
    again = catch_up(at(10, 2, 10))
    assert again.orders == 0 and again.days == set()  # safe to run twice


# --- reopen ---------------------------------------------------------------------------------------------


def test_rule_reopen_after_a_satisfied_callback_moves_the_order_to_its_final_close(cast, now):
    street = cast.tree.street
    order = handled_order(cast, now)  # closed, satisfied, on 26 September
    catch_up(now)
    first_day = dt.date(2025, 9, 26)
    assert on_day(street, first_day)["satisfied"] == 1
    services.order_reopen(
        order=order, actor=cast.city_dispatcher, now=at(9, 29, 9), reason="群众再次来电反映未解决"
    )
    result = catch_up(at(9, 29, 10))
    assert first_day in result.days
    assert on_day(street, first_day)["closed"] == 0  # no longer counted while reopened
    assert counts(street)["closed"] == 0
    services.order_reply(
        order=order,
        actor=cast.district_handler,
        now=at(9, 29, 15),
        outcome=ReplyOutcome.RESOLVED,
        explanation="已彻底解决",
    )
    services.order_review_approve(order=order, actor=cast.city_dispatcher, now=at(9, 29, 16))
    call_back(cast, order, at(9, 30, 10), satisfaction=Satisfaction.BASICALLY, resolved=True)
    catch_up(at(9, 30, 11))
    final = on_day(street, dt.date(2025, 9, 30))
    assert (final["closed"], final["valid"], final["satisfied"], final["basically"], final["reopen"]) == (
        1,
        1,
        0,
        1,
        1,
    )
    assert counts(street)["closed"] == 1  # once in the month


# --- valid ------------------------------------------------------------------------------------------------


def test_rule_valid_needs_a_reached_resident(cast, now):
    street = cast.tree.street
    handled_order(cast, now, reached=False, close=True)  # unreachable, closed by the dispatcher
    handled_order(cast, now, satisfaction=Satisfaction.SATISFIED)
    catch_up(now)
    c = counts(street)
    assert (c["closed"], c["valid"], c["unreached"]) == (2, 1, 1)
    assert metrics.rates(c).satisfaction == pytest.approx(1.0)  # the unreached one is not in the rates


def test_rule_valid_the_last_callback_before_the_close_decides(cast, now):
    order = dispatched_order(cast, now)
    approved = reply_and_approve(cast, order, now + HOUR)
    call_back(cast, order, approved + HOUR, reached=False)
    call_back(
        cast, order, approved + 2 * HOUR, satisfaction=Satisfaction.BASICALLY, contacted=False, resolved=True
    )
    catch_up(now)
    c = counts(cast.tree.street)
    assert (c["valid"], c["basically"], c["contacted"], c["resolved"], c["unreached"]) == (1, 1, 0, 1, 0)


# --- appeal -----------------------------------------------------------------------------------------------


def test_rule_appeal_upheld_takes_the_order_out_of_the_rates_only(cast, now):
    from assessment.services import appeal_rule, appeal_submit
    from orders.models import Callback

    street = cast.tree.street
    bad = handled_order(cast, now, satisfaction=Satisfaction.DISSATISFIED, resolved=False, close=True)
    handled_order(cast, now)
    appeal = appeal_submit(
        actor=cast.district_handler,
        callback=Callback.objects.get(order=bad),
        unit=cast.tree.district,
        reason="unreasonable_demand",
        text="诉求人要求拆除合法建筑，无法满足",
        now=now + 8 * HOUR,
    )
    appeal_rule(
        actor=cast.city_dispatcher,
        appeal=appeal,
        decision="uphold",
        ruling="经核实，诉求不合理",
        now=now + 9 * HOUR,
    )
    catch_up(now)  # the catch-up finds the order stale-free; the after-commit task is not run in tests
    from assessment.rollups import rollup_orders

    rollup_orders(order_ids=[bad.pk], now=now)
    c = counts(street)
    assert (c["closed"], c["valid"], c["excluded"], c["reply_total"]) == (2, 1, 1, 2)
    assert metrics.rates(c).satisfaction == pytest.approx(1.0)


# --- merged -----------------------------------------------------------------------------------------------


def test_rule_merged_children_count_once_through_their_parent(cast, now):
    tree = cast.tree
    parent = dispatched_order(cast, now)
    child = make_order(
        actor=None,
        now=now + HOUR,
        channel=Channel.MOBILE,
        grid=tree.grid,
        item=cast.item,
        requester_phone="13900139000",
    )
    services.order_merge(order=child, actor=cast.city_dispatcher, now=now + 2 * HOUR, parent=parent)
    parent.refresh_from_db()
    approved = reply_and_approve(cast, parent, now + 3 * HOUR)
    call_back(cast, parent, approved + HOUR)
    child.refresh_from_db()
    services.order_callback_merged(
        order=child,
        actor=cast.callback_agent,
        now=approved + 2 * HOUR,
        reached=True,
        satisfaction=Satisfaction.DISSATISFIED,
    )
    catch_up(now)
    c = counts(tree.street)
    assert (c["received"], c["merged"], c["closed"], c["valid"], c["satisfied"]) == (1, 1, 1, 1, 1)
    fact = compute_facts([child.pk])[child.pk]
    assert fact.count_day is None and dict(fact.values) == {"merged": 1}


# --- direct consultation ------------------------------------------------------------------------------------


def test_rule_direct_consultation_counts_only_in_volume(cast, now):
    order = consultation_answered(cast, now)
    catch_up(now)
    c = counts(cast.tree.street)
    assert (c["received"], c["direct_answer"], c["closed"], c["valid"]) == (1, 1, 0, 0)
    fact = compute_facts([order.pk])[order.pk]
    assert fact.hdl_unit_id is None and fact.count_day is None


# --- on time ---------------------------------------------------------------------------------------------


@pytest.fixture
def hourly_item(cast):
    """Accept within 1 h, contact within 2 h, reply within 4 h (calendar hours), the district leads."""
    return make_item(name="井盖缺失", limits=(1, 2, 4), limit_unit=LimitUnit.HOURS)


def _reply_at(cast, order, *, accept_at, reply_at):
    services.order_accept(order=order, actor=cast.district_handler, now=accept_at)
    services.order_reply(
        order=order,
        actor=cast.district_handler,
        now=reply_at,
        outcome=ReplyOutcome.RESOLVED,
        explanation="已补装井盖",
    )
    services.order_review_approve(order=order, actor=cast.city_dispatcher, now=reply_at + HOUR)
    call_back(cast, order, reply_at + 2 * HOUR)


def test_rule_on_time_a_reply_exactly_at_its_deadline_is_on_time(cast, now, hourly_item):
    cast.item = hourly_item
    order = dispatched_order(cast, now)
    lead = Assignment.objects.get(order=order)
    assert lead.reply_by == now + 4 * HOUR and lead.accept_by == now + HOUR
    _reply_at(cast, order, accept_at=lead.accept_by, reply_at=lead.reply_by)
    catch_up(now)
    c = counts(cast.tree.district, axis=metrics.HANDLING)
    assert (c["accept_total"], c["accept_on_time"], c["reply_total"], c["reply_on_time"], c["overdue"]) == (
        1,
        1,
        1,
        1,
        0,
    )


def test_rule_on_time_a_late_reply_is_overdue_with_its_multiple(cast, now, hourly_item):
    cast.item = hourly_item
    order = dispatched_order(cast, now)
    lead = Assignment.objects.get(order=order)
    assert lead.accept_by is not None and lead.reply_by is not None
    _reply_at(
        cast, order, accept_at=lead.accept_by + dt.timedelta(minutes=1), reply_at=lead.reply_by + 2 * HOUR
    )
    catch_up(now)
    c = counts(cast.tree.district, axis=metrics.HANDLING)
    assert (c["accept_on_time"], c["reply_on_time"], c["overdue"]) == (0, 0, 1)
    r = metrics.rates(c)
    assert r.overdue_multiple == pytest.approx(0.5)  # 2 h over a 4 h limit
    assert r.on_time_acceptance == 0.0


# --- rework ------------------------------------------------------------------------------------------------


def test_rule_rework_counts_send_backs_reopens_suspensions_and_extensions(cast, now):
    order = dispatched_order(cast, now)
    h = cast.district_handler
    services.order_accept(order=order, actor=h, now=now + HOUR)
    pause = services.order_suspend_request(order=order, actor=h, now=now + 2 * HOUR, reason="待规划审批")
    services.order_suspend_approve(order=order, actor=cast.city_dispatcher, now=now + 3 * HOUR, request=pause)
    services.order_resume(order=order, actor=cast.city_dispatcher, now=now + 4 * HOUR)
    ext = services.order_extension_request(
        order=order, actor=h, now=now + 5 * HOUR, amount=2, reason="需协调"
    )
    services.order_extension_approve(order=order, actor=cast.city_dispatcher, now=now + 6 * HOUR, request=ext)
    services.order_reply(
        order=order, actor=h, now=now + 7 * HOUR, outcome=ReplyOutcome.PARTLY, explanation="部分处理"
    )
    services.order_review_send_back(
        order=order, actor=cast.city_dispatcher, now=now + 8 * HOUR, reason="请彻底处理"
    )
    services.order_reply(
        order=order, actor=h, now=now + 9 * HOUR, outcome=ReplyOutcome.RESOLVED, explanation="已处理"
    )
    services.order_review_approve(order=order, actor=cast.city_dispatcher, now=now + 10 * HOUR)
    call_back(cast, order, now + 11 * HOUR)
    catch_up(now)
    c = counts(cast.tree.district, axis=metrics.HANDLING)
    assert (c["rework"], c["reopen"], c["suspensions"], c["extensions"]) == (1, 0, 1, 1)


# --- the table is pinned ------------------------------------------------------------------------------------


def test_every_counting_rule_has_a_test():
    names = [name for name in globals() if name.startswith("test_rule_")]
    pinned = {
        key for key in metrics.COUNTING_RULE_KEYS if any(n.startswith(f"test_rule_{key}_") for n in names)
    }
    assert pinned == metrics.COUNTING_RULE_KEYS
