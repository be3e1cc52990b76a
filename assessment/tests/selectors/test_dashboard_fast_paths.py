"""The dashboard's faster paths give the answers of the slower ones they replace:

- top problems and 每月一题 sum the rollup rows per item id before looking up the catalog — the
  same rows as the former join-then-group queries (kept here as the oracles);
- the rankings sum the rows per unit, then add them to the ranked ancestors — the same counts as
  the former join through the closure table;
- today's counters and the map's open orders read the per-grid snapshot (``GridLiveCount``)
  while it is fresh — the same numbers as counting the orders, which is still what happens when
  the snapshot is too old or of another day.

``now`` is Friday 26 September 2025, 09:00 Asia/Shanghai."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Q, Sum
from django.test.utils import CaptureQueriesContext

from assessment import selectors
from assessment.metrics import HANDLING, TERRITORIAL, Period, metric_name
from assessment.models import GridLiveCount
from assessment.rollups import live_counts_refresh, rollup_catch_up
from assessment.tests.factories import HOUR, handled_order
from assessment.tests.selectors.test_monthly_rollup import AUGUST, SEPTEMBER, at
from assessment.tests.selectors.test_monthly_rollup import history as month_history  # noqa: F401 -- fixture
from core.workcalendar import SHANGHAI
from orders.choices import OPEN, Channel
from orders.models import Order
from orders.tests.factories import make_item, make_order
from orgs.choices import UnitKind
from orgs.models import UnitClosure
from orgs.selectors import unit_subtree_ids

LEVELS = ["city", "district", "street", "community", "grid"]
PERIODS = [SEPTEMBER, AUGUST, Period(dt.date(2025, 8, 20), dt.date(2025, 9, 10))]
PERIOD_IDS = ["september", "august", "days"]


@pytest.fixture
def history(cast, month_history):  # noqa: F811 -- the fixture imported above
    """The monthly rollup tests' two months, plus a tie in September: a third item reported as
    often as the runner-up, an unclassified order, and orders a department handled."""
    tree = cast.tree
    tied = make_item(name="乱堆乱放")
    for day in (5, 6, 7):
        make_order(actor=cast.agent, now=at(9, day), grid=tree.grid, item=tied, channel=Channel.WEB)
    make_order(actor=cast.agent, now=at(9, 8), grid=tree.grid, channel=Channel.WEB)
    handled_order(cast, at(9, 9), lead=tree.department)  # handled by a department
    handled_order(cast, at(8, 9), lead=tree.department, grid=tree.other_grid)
    rollup_catch_up(now=at(9, 26))
    return tree


# --- the oracles: the former queries ----------------------------------------------------------------


def joined_top_problems(scope, period, limit=10):
    """The former top problems: rows joined to the catalog, grouped on id, name and code."""
    rows = (
        selectors._volume_split(scope, period, "vi")
        .order_by()
        .values("item_id", "item__name", "item__code")
        .annotate(n=Sum("value"))
    )
    # ORDER BY -n, item__code (PostgreSQL puts NULL last)
    return sorted(rows, key=lambda r: (-r["n"], r["item__code"] is None, r["item__code"] or ""))[:limit]


def joined_problem_of_the_month(scope, period):
    """The former 每月一题: closure × rollup × catalog grouped per street, item, code and name."""
    if period.is_month:
        rel = "descendant__month_counts__"
        cells = {f"{rel}metric": metric_name("vi", "received"), f"{rel}month": period.start}
    else:
        rel = "descendant__daily_counts__"
        cells = {
            f"{rel}metric": metric_name("v", "received"),
            f"{rel}day__gte": period.start,
            f"{rel}day__lt": period.end,
        }
    rows = (
        UnitClosure.objects.filter(
            ancestor__kind=UnitKind.STREET, ancestor_id__in=unit_subtree_ids(scope), **cells
        )
        .order_by()
        .values_list("ancestor_id", f"{rel}item_id", f"{rel}item__code", f"{rel}item__name")
        .annotate(n=Sum(f"{rel}value"))
    )
    totals: dict[int, int] = {}
    best: dict[int, tuple[int, str, int, str]] = {}
    for street, item, code, name, n in rows:
        totals[street] = totals.get(street, 0) + n
        if (
            item is not None
            and n > 0
            and (street not in best or (-n, code) < (-best[street][0], best[street][1]))
        ):
            best[street] = (n, code, item, name)
    return totals, best


def joined_period_counts(scope, kind, axis, period, previous):
    """The former ranking counts: one query through the closure table."""
    if period.is_month:
        rel, current, before = (
            "descendant__month_counts__",
            {"descendant__month_counts__month": period.start},
            {"descendant__month_counts__month": previous.start},
        )
        span = {f"{rel}month__in": [previous.start, period.start]}
    else:
        rel = "descendant__daily_counts__"
        current, before = {f"{rel}day__gte": period.start}, {f"{rel}day__lt": period.start}
        span = {f"{rel}day__gte": previous.start, f"{rel}day__lt": period.end}
    sums = {}
    for m in selectors.RANK_MEASURES:
        metric = metric_name(axis, m)
        sums[f"cur{axis}__{m}"] = Sum(f"{rel}value", filter=Q(**{f"{rel}metric": metric}, **current))
        sums[f"pre{axis}__{m}"] = Sum(f"{rel}value", filter=Q(**{f"{rel}metric": metric}, **before))
    rows = (
        UnitClosure.objects.filter(ancestor__kind=kind, ancestor_id__in=unit_subtree_ids(scope))
        .filter(**span, **{f"{rel}metric__in": [metric_name(axis, m) for m in selectors.RANK_MEASURES]})
        .order_by()
        .values("ancestor_id")
        .annotate(**sums)
    )
    return {
        row["ancestor_id"]: (
            selectors._counts(row, axis, prefix="cur"),
            selectors._counts(row, axis, prefix="pre"),
        )
        for row in rows
    }


# --- top problems, 每月一题, rankings --------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("period", PERIODS, ids=PERIOD_IDS)
def test_top_problems_are_those_of_the_join_then_group_query(cast, history, level, period):
    scope = getattr(history, level)
    ours = selectors.top_problems(scope=scope, period=period)
    assert ours == [dict(row) for row in joined_top_problems(scope, period)]
    if level == "city" and period == SEPTEMBER:
        assert len(ours) == 4 and ours[-1]["item_id"] is None  # three items and the unclassified
        assert ours[1]["n"] == ours[2]["n"] == 3 and ours[1]["item__code"] < ours[2]["item__code"]  # a tie


def test_top_problems_can_be_limited(cast, history):
    assert selectors.top_problems(scope=history.city, period=SEPTEMBER, limit=2) == [
        dict(row) for row in joined_top_problems(history.city, SEPTEMBER, limit=2)
    ]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("period", PERIODS, ids=PERIOD_IDS)
def test_the_problem_of_the_month_is_that_of_the_join_then_group_query(cast, history, level, period):
    scope = getattr(history, level)
    totals, best = joined_problem_of_the_month(scope, period)
    rows = selectors.monthly_problem_by_street(scope=scope, period=period)
    for row in rows:
        n, _code, item, name = best.get(row.unit_id, (0, "", None, ""))
        assert (row.item_id, row.item_name, row.count, row.total) == (
            item,
            name,
            n,
            totals.get(row.unit_id, 0),
        )
    if level == "city" and period == SEPTEMBER:
        assert any(row.item_id for row in rows)


def test_the_problem_of_the_month_tie_needs_one_small_catalog_query(cast, history):
    with CaptureQueriesContext(connection) as ctx:
        selectors.monthly_problem_by_street(scope=history.city, period=SEPTEMBER)
    assert len(ctx.captured_queries) == 3  # streets, sums per street × item id, the winners' items
    assert "catalog_catalogitem" not in ctx.captured_queries[1]["sql"]


@pytest.mark.parametrize("level", ["city", "district", "street"])
@pytest.mark.parametrize("period", PERIODS, ids=PERIOD_IDS)
@pytest.mark.parametrize(("kind", "axis"), [(UnitKind.STREET, TERRITORIAL), (UnitKind.DEPARTMENT, HANDLING)])
def test_the_ranking_counts_are_those_of_the_closure_join(cast, history, level, period, kind, axis):
    scope = getattr(history, level)
    previous = period.previous()
    ours = selectors._period_counts(scope=scope, kind=kind, axis=axis, period=period, previous=previous)
    assert ours == joined_period_counts(scope, kind, axis, period, previous)
    if level == "city" and period == SEPTEMBER:
        assert ours  # not two empty answers


# --- today's counters and the map: the per-grid snapshot ------------------------------------------------


@pytest.fixture
def live(cast, now):
    """Open orders in both streets (one past its deadline), orders registered and closed today,
    an order closed days ago and an open order without a grid (on no territory)."""
    tree = cast.tree
    handled_order(cast, now - dt.timedelta(days=3))  # closed days ago
    handled_order(cast, now - 7 * HOUR, grid=tree.other_grid)  # registered and closed today
    late = make_order(actor=cast.agent, now=now - dt.timedelta(days=2), grid=tree.grid, item=cast.item)
    Order.objects.filter(pk=late.pk).update(due_at=now - HOUR)  # open past its reply deadline
    make_order(actor=cast.agent, now=now - 2 * HOUR, grid=tree.grid, item=cast.item)
    make_order(actor=cast.agent, now=now - HOUR, grid=tree.other_grid, item=cast.item)
    make_order(actor=cast.agent, now=now - HOUR, item=cast.item)  # no grid: on no territory
    return tree


def _counts(counters):
    return (counters.new, counters.open, counters.overdue, counters.closed)


@pytest.mark.parametrize("level", LEVELS)
def test_the_snapshot_counters_are_the_live_count(cast, now, live, level):
    scope = getattr(live, level)
    counted = selectors.today_counters(scope=scope, now=now)
    assert counted.as_of is None  # no snapshot yet: counted from the orders
    live_counts_refresh(now=now)
    read = selectors.today_counters(scope=scope, now=now + dt.timedelta(minutes=1))
    assert read.as_of == now
    assert _counts(read) == _counts(counted)
    assert _counts(read) == _counts(selectors.today_counters(scope=scope, now=now, live=True))
    if level == "city":
        assert _counts(read) == (3, 3, 1, 1)  # 2 open + 1 handled today; 3 open, 1 late; 1 closed today


def test_the_snapshot_follows_the_orders_on_its_next_refresh(cast, now, live):
    live_counts_refresh(now=now)
    grids = GridLiveCount.objects.count()
    assert grids == 2
    again = live_counts_refresh(now=now)
    assert again.rows == 0  # nothing changed: nothing written
    later = now + dt.timedelta(minutes=1)
    make_order(actor=cast.agent, now=later, grid=cast.tree.other_grid, item=cast.item)
    Order.objects.filter(grid=cast.tree.grid, status__in=sorted(OPEN)).update(grid=None)
    result = live_counts_refresh(now=later)
    assert result.rows == 2  # 西长一网格 changed, 东华一网格 emptied (its row deleted)
    assert not GridLiveCount.objects.filter(unit=cast.tree.grid).exists()
    read = selectors.today_counters(scope=live.city, now=later)
    assert read.as_of == later
    assert _counts(read) == _counts(selectors.today_counters(scope=live.city, now=later, live=True))


def test_a_snapshot_over_five_minutes_old_is_not_used(cast, now, live):
    live_counts_refresh(now=now - dt.timedelta(minutes=6))
    make_order(actor=cast.agent, now=now - dt.timedelta(minutes=3), grid=cast.tree.grid, item=cast.item)
    read = selectors.today_counters(scope=live.city, now=now)
    assert read.as_of is None
    assert _counts(read) == _counts(selectors.today_counters(scope=live.city, now=now, live=True))
    assert read.open == 4


def test_yesterdays_snapshot_is_not_used_after_midnight(cast, now, live):
    midnight = dt.datetime(2025, 9, 27, tzinfo=SHANGHAI)
    live_counts_refresh(now=midnight - dt.timedelta(minutes=1))
    read = selectors.today_counters(scope=live.city, now=midnight + dt.timedelta(minutes=1))
    assert read.as_of is None
    assert read.new == 0 and read.closed == 0  # a new day: nothing registered or closed yet


def test_the_map_reads_the_open_orders_from_a_fresh_snapshot(cast, now, live):
    counted = selectors.open_orders_by_grid(scope=live.city, now=now)
    live_counts_refresh(now=now)
    with CaptureQueriesContext(connection) as ctx:
        read = selectors.open_orders_by_grid(scope=live.city, now=now)
    assert read == counted == {live.grid.pk: 2, live.other_grid.pk: 1}
    assert not any("awaiting_dispatch" in q["sql"] for q in ctx.captured_queries)  # no count of orders
    assert selectors.open_orders_by_grid(scope=live.other_street, now=now) == {live.other_grid.pk: 1}


def test_the_dashboard_says_how_old_its_counters_are(login, cast, now, live, city_leader):
    client = login(city_leader)
    html = client.get("/assessment/", {"month": "2025-09"}).content.decode()
    assert 'data-counters-as-of="live"' in html and "工单计数为实时统计" in html
    live_counts_refresh(now=now)
    html = client.get("/assessment/", {"month": "2025-09"}).content.decode()
    assert "工单计数截至 09:00（每分钟更新）" in html
    assert 'data-counter="open">3<' in html and 'data-counter="overdue">1<' in html
