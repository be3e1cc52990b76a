"""The monthly rollup (``UnitMonthCount``) answers a calendar month exactly as the daily rows do:
every month-reading widget gives the same answer both ways, for every scope level; a month cell
that drifted from the facts is rebuilt, not driven negative.

``now`` is Friday 26 September 2025, 09:00 Asia/Shanghai."""

from __future__ import annotations

import datetime as dt

import pytest

from assessment import selectors
from assessment.metrics import Period
from assessment.models import OrderFact, UnitDailyCount, UnitMonthCount
from assessment.rollups import rollup_catch_up, rollup_orders
from assessment.tests.factories import handled_order
from core.workcalendar import SHANGHAI
from orders.choices import Channel, Satisfaction
from orders.models import Order
from orders.tests.factories import make_item, make_order

SEPTEMBER = Period.month(2025, 9)
AUGUST = Period.month(2025, 8)


def at(month, day, hour=10):
    return dt.datetime(2025, month, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def history(cast):
    """Two months of registrations and callbacks in both streets, two items, three channels, one
    dissatisfied resident, one order registered in August and closed in September."""
    tree = cast.tree
    stalls = make_item(name="占道经营")
    for i, (grid, item, channel) in enumerate(
        [
            (tree.grid, cast.item, Channel.HOTLINE),
            (tree.grid, stalls, Channel.WEB),
            (tree.other_grid, stalls, Channel.HOTLINE),
            (tree.other_grid, cast.item, Channel.GRID_PATROL),
            (tree.grid, stalls, Channel.HOTLINE),
        ]
    ):
        make_order(actor=cast.agent, now=at(9, 2 + i), grid=grid, item=item, channel=channel)
        make_order(actor=cast.agent, now=at(8, 10 + i), grid=grid, item=item, channel=channel)
    handled_order(cast, at(8, 12))
    handled_order(cast, at(9, 3), grid=tree.other_grid)
    handled_order(cast, at(9, 4), satisfaction=Satisfaction.DISSATISFIED, resolved=False, close=True)
    handled_order(cast, at(8, 29, 16), callback_at=at(9, 1))  # registered in August, counted in September
    rollup_catch_up(now=at(9, 26))
    return tree


def _both_ways(monkeypatch, read):
    """``read()`` with the monthly table, then with the daily rows only."""
    monthly = read()
    monkeypatch.setattr(selectors, "_monthly", lambda period: False)
    daily = read()
    monkeypatch.undo()
    return monthly, daily


@pytest.mark.parametrize("level", ["city", "district", "street", "community", "grid"])
@pytest.mark.parametrize("period", [SEPTEMBER, AUGUST], ids=["september", "august"])
def test_every_month_widget_reads_the_same_from_the_monthly_table(cast, history, monkeypatch, level, period):
    scope = getattr(history, level)
    widgets = {
        "rates": lambda: selectors.unit_counts_for_period(unit=scope, period=period),
        "top problems": lambda: selectors.top_problems(scope=scope, period=period),
        "channels": lambda: selectors.volume_by_channel(scope=scope, period=period),
        "problem of the month": lambda: selectors.monthly_problem_by_street(scope=scope, period=period),
        "street ranking": lambda: [
            (r.unit_id, r.rank, r.previous_rank, r.rates.counts, r.previous_rates.counts)
            for r in selectors.ranking_for_period(scope=scope, kind="street", period=period)
        ],
        "department ranking": lambda: [
            (r.unit_id, r.rank, r.rates.counts, r.previous_rates.counts)
            for r in selectors.ranking_for_period(scope=scope, kind="department", period=period)
        ],
    }
    answered = set()
    for name, read in widgets.items():
        monthly, daily = _both_ways(monkeypatch, read)
        assert monthly == daily, name
        if monthly:
            answered.add(name)
    if level == "city":  # the comparison is not between two empty answers
        assert answered == set(widgets)


def test_the_city_month_is_what_the_fixture_registered(cast, history):
    channels = dict(selectors.volume_by_channel(scope=history.city, period=SEPTEMBER))
    # 5 plain registrations + 2 handled orders registered in September
    assert sum(channels.values()) == 7
    assert channels[Channel.GRID_PATROL] == 1
    counts = selectors.unit_counts_for_period(unit=history.city, period=SEPTEMBER)["t"]
    assert counts["valid"] == 3  # the late-August order's callback counts in September
    assert counts["received"] == 7


def test_the_monthly_rows_are_the_daily_rows_summed_per_month(cast, history):
    for metric in ("t.received", "t.valid", "t.satisfied", "h.valid", "h.reply_total"):
        daily: dict[tuple[int, dt.date], int] = {}
        for unit_id, day, value in UnitDailyCount.objects.filter(metric=metric).values_list(
            "unit_id", "day", "value"
        ):
            key = (unit_id, day.replace(day=1))
            daily[key] = daily.get(key, 0) + value
        monthly = dict(
            ((unit_id, month), value)
            for unit_id, month, value in UnitMonthCount.objects.filter(metric=metric).values_list(
                "unit_id", "month", "value"
            )
        )
        assert monthly == daily and monthly, metric


def _month_table():
    return {
        (r.unit_id, r.month, r.item_id, r.channel, r.metric): r.value for r in UnitMonthCount.objects.all()
    }


def test_a_month_whose_delta_does_not_fit_is_rebuilt_from_the_facts(cast, history):
    expected = _month_table()
    order = Order.objects.filter(created_at__gte=at(9, 1, 0), item=cast.item).order_by("pk").first()
    assert order is not None
    # the stored fact says "unclassified", the table does not: taking it back would go below zero
    OrderFact.objects.filter(order=order).update(item=None)
    result = rollup_orders(order_ids=[order.pk], now=at(9, 26))
    assert dt.date(2025, 9, 1) in result.repaired
    assert _month_table() == expected
    assert OrderFact.objects.get(order=order).item_id == cast.item.pk
