"""Benchmark: the assessment's rollups and dashboard widgets vs direct aggregates over the raw orders.

    .venv/bin/python -m bench.bench_assessment [--orders 200000] [--days 60] [--scale 0.2] [--repeat 20]

Runs on SQLite (a file under ``var/bench/``) and, when ``DATABASE_URL`` points at PostgreSQL, on a
temporary database beside it (``<name>_assess``), each in its own process. Each database gets the
demo city (``--scale``) and ``--orders`` orders over ``--days`` days from the bulk seeder
(``bench.seed_orders``), then it measures, in the same run:

- **full rebuild** — ``assessment.rollups.rollup_rebuild``: every order's fact, every day's rows;
- **a day's rollup update** — the busiest day's orders recomputed as if new
  (``rollup_orders`` with their facts removed), reported per order and extrapolated to the
  60,000 orders of a Beijing-size day (issue 5: ≤ 60 s); beside it the **direct aggregate** of
  that day's territorial counts straight from the orders and callbacks;
- **dashboard and ranking widgets** (p50 / p95 over ``--repeat`` runs) — the street ranking with
  last month, the department ranking, the city's rates, the volume trend and the top problems
  (``assessment.selectors``, reading ``UnitDailyCount``), each beside the **direct aggregate**
  over the raw orders and callbacks giving the same figures (issue 5: ≤ 1 s p95).

Today's counters are read from the per-grid snapshot (``GridLiveCount``) that a Huey task takes
every minute; the benchmark times taking it, then the counters both from it and counted live
from the orders, each checked equal to the direct count.

The valid-callback counts of the street ranking, the department ranking and the city's rates are
checked equal between the two ways (the seeder writes one closing callback per closed order and no
reopens or appeals, so the direct aggregates are exact there).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.seed_orders import BENCH_DIR

DAY_TARGET = 60_000  # orders in a Beijing-size day (issue 5)
DAY_BUDGET_S = 60.0
WIDGET_BUDGET_MS = 1000.0


@dataclass
class Timing:
    name: str
    p50_ms: float
    p95_ms: float


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Timing, Any]:
    answer = fn()  # warm-up, and the answer to compare
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
    return Timing("", statistics.median(times), p95), answer


# --- direct aggregates over the raw orders (the baselines) --------------------------------------------


def _callbacks_in(scope_id: int, start: dt.datetime, end: dt.datetime) -> Any:
    from orders.models import Callback
    from orgs.selectors import unit_subtree_ids

    return Callback.objects.filter(
        created_at__gte=start,
        created_at__lt=end,
        order__status="closed",
        order__parent__isnull=True,
        order__grid_id__in=unit_subtree_ids(scope_id),
    )


def _rate_counts(prefix: str = "", **extra: Any) -> dict[str, Any]:
    from django.db.models import Count, Q

    def n(**conds: Any) -> Any:
        return Count("pk", filter=Q(reached=True, **conds, **extra))

    return {
        f"{prefix}valid": n(),
        f"{prefix}contacted": n(unit_contacted=True),
        f"{prefix}resolved": n(resolved=True),
        f"{prefix}satisfied": n(satisfaction="satisfied"),
        f"{prefix}basically": n(satisfaction="basically"),
    }


def direct_street_ranking(
    scope_id: int, period: Any
) -> dict[int, tuple[int, float | None, int, float | None]]:
    """street → (valid, score, previous valid, previous score), straight from the callbacks."""
    from django.db.models import OuterRef, Subquery

    from assessment import metrics
    from assessment.selectors import factors_for
    from orgs.models import UnitClosure

    previous = period.previous()
    start = _day_start(period.start)
    street = Subquery(
        UnitClosure.objects.filter(descendant_id=OuterRef("order__grid_id"), ancestor__kind="street").values(
            "ancestor_id"
        )[:1]
    )
    rows = (
        _callbacks_in(scope_id, _day_start(previous.start), _day_start(period.end))
        .annotate(street=street)
        .order_by()
        .values("street")
        .annotate(**_rate_counts("cur_", created_at__gte=start), **_rate_counts("pre_", created_at__lt=start))
    )
    f = factors_for(scope_id)
    out: dict[int, tuple[int, float | None, int, float | None]] = {}
    for row in rows:
        cur = metrics.Counts.of(**{k[4:]: v for k, v in row.items() if k.startswith("cur_")})
        pre = metrics.Counts.of(**{k[4:]: v for k, v in row.items() if k.startswith("pre_")})
        out[row["street"]] = (
            cur["valid"],
            metrics.rates(cur, f).score,
            pre["valid"],
            metrics.rates(pre, f).score,
        )
    return out


def direct_department_counts(scope_id: int, period: Any) -> dict[int, int]:
    """department → valid callbacks on orders whose final top lead sat in it (direct)."""
    from django.db.models import Count, OuterRef, Q, Subquery

    from orders.models import Assignment
    from orgs.models import UnitClosure

    final_lead = Subquery(
        Assignment.objects.filter(order_id=OuterRef("order_id"), role="lead", parent__isnull=True)
        .order_by("-round", "-pk")
        .values("unit_id")[:1]
    )
    dept = Subquery(
        UnitClosure.objects.filter(descendant_id=OuterRef("lead"), ancestor__kind="department").values(
            "ancestor_id"
        )[:1]
    )
    rows = (
        _callbacks_in(scope_id, _day_start(period.start), _day_start(period.end))
        .annotate(lead=final_lead)
        .annotate(dept=dept)
        .filter(dept__isnull=False)
        .order_by()
        .values("dept")
        .annotate(valid=Count("pk", filter=Q(reached=True)))
    )
    return {r["dept"]: r["valid"] for r in rows}


def direct_city_rates(scope_id: int, period: Any) -> dict[str, int]:
    return dict(
        _callbacks_in(scope_id, _day_start(period.start), _day_start(period.end)).aggregate(**_rate_counts())
    )


def direct_volume_by_day(scope_id: int, period: Any) -> list[tuple[dt.date, int]]:
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from core.workcalendar import SHANGHAI
    from orders.models import Order
    from orgs.selectors import unit_subtree_ids

    rows = (
        Order.objects.filter(
            created_at__gte=_day_start(period.start),
            created_at__lt=_day_start(period.end),
            grid_id__in=unit_subtree_ids(scope_id),
            parent__isnull=True,
        )
        .annotate(day=TruncDate("created_at", tzinfo=SHANGHAI))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
    )
    return [(r["day"], r["n"]) for r in rows]


def direct_top_problems(scope_id: int, period: Any) -> list[tuple[int | None, int]]:
    from django.db.models import Count

    from orders.models import Order
    from orgs.selectors import unit_subtree_ids

    rows = (
        Order.objects.filter(
            created_at__gte=_day_start(period.start),
            created_at__lt=_day_start(period.end),
            grid_id__in=unit_subtree_ids(scope_id),
            parent__isnull=True,
        )
        .order_by()
        .values("item_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "item_id")[:10]
    )
    return [(r["item_id"], r["n"]) for r in rows]


def _registered_in(scope_id: int, period: Any) -> Any:
    """The orders registered in ``period`` that count as received in ``scope_id`` (rule
    "territorial": by grid, or by dispatch unit without one; merged duplicates are not received)."""
    from django.db.models import Q

    from orders.models import Order
    from orgs.selectors import unit_subtree_ids

    inside = unit_subtree_ids(scope_id)
    return Order.objects.filter(
        Q(grid_id__in=inside) | Q(grid__isnull=True, dispatch_unit_id__in=inside),
        created_at__gte=_day_start(period.start),
        created_at__lt=_day_start(period.end),
        parent__isnull=True,
    ).order_by()


def direct_channels(scope_id: int, period: Any) -> list[tuple[str, int]]:
    """Registrations per channel straight from the orders."""
    from django.db.models import Count

    rows = (
        _registered_in(scope_id, period).values("channel").annotate(n=Count("pk")).order_by("-n", "channel")
    )
    return [(r["channel"], r["n"]) for r in rows]


def direct_problem_of_the_month(scope_id: int, period: Any) -> dict[int, tuple[int | None, int]]:
    """Each street's most reported item straight from the orders (through the closure table)."""
    from django.db.models import Count

    from orgs.choices import UnitKind
    from orgs.models import UnitClosure

    street_of = dict(
        UnitClosure.objects.filter(
            ancestor__kind=UnitKind.STREET, descendant__kind=UnitKind.GRID
        ).values_list("descendant_id", "ancestor_id")
    )
    best: dict[int, tuple[int | None, int]] = {}
    rows = (
        _registered_in(scope_id, period)
        .exclude(item=None)
        .exclude(grid=None)
        .values("grid_id", "item_id")
        .annotate(n=Count("pk"))
    )
    per_street: dict[tuple[int, int], int] = {}
    for row in rows:
        key = (street_of[row["grid_id"]], row["item_id"])
        per_street[key] = per_street.get(key, 0) + row["n"]
    for (street, item), n in per_street.items():
        if n > best.get(street, (None, 0))[1]:
            best[street] = (item, n)
    return best


def direct_today_counters(scope_id: int, now: dt.datetime) -> dict[str, int]:
    """The four counters in one pass over the territory's orders (conditional aggregates)."""
    from django.db.models import Count, Q

    from core.workcalendar import SHANGHAI
    from orders.choices import OPEN, OrderStatus
    from orders.models import Order
    from orgs.selectors import unit_subtree_ids

    start = _day_start(now.astimezone(SHANGHAI).date())
    opened = sorted(OPEN)
    return dict(
        Order.objects.filter(grid_id__in=unit_subtree_ids(scope_id), parent__isnull=True).aggregate(
            new=Count("pk", filter=Q(created_at__gte=start)),
            open=Count("pk", filter=Q(status__in=opened)),
            overdue=Count("pk", filter=Q(status__in=opened, due_at__lt=now)),
            closed=Count("pk", filter=Q(status=OrderStatus.CLOSED, closed_at__gte=start)),
        )
    )


def direct_day_counts(day: dt.date) -> int:
    """The day's territorial rate counts straight from the callbacks (grid × item × channel)."""
    from django.db.models import Count, Q

    from orders.models import Callback

    rows = (
        Callback.objects.filter(
            created_at__gte=_day_start(day),
            created_at__lt=_day_start(day + dt.timedelta(days=1)),
            order__status="closed",
            order__parent__isnull=True,
        )
        .order_by()
        .values("order__grid_id", "order__item_id", "order__channel")
        .annotate(
            valid=Count("pk", filter=Q(reached=True)),
            contacted=Count("pk", filter=Q(reached=True, unit_contacted=True)),
            resolved=Count("pk", filter=Q(reached=True, resolved=True)),
            satisfied=Count("pk", filter=Q(reached=True, satisfaction="satisfied")),
            basically=Count("pk", filter=Q(reached=True, satisfaction="basically")),
        )
    )
    return len(list(rows))


def _day_start(day: dt.date) -> dt.datetime:
    from core.workcalendar import SHANGHAI

    return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def forget_facts(order_ids: list[int]) -> None:
    """Take these orders out of the rollups (their cells and their facts), so recomputing them
    measures the work of orders the rollups have never seen."""
    from django.db import transaction

    from assessment import metrics
    from assessment.models import OrderFact
    from assessment.rollups import DAILY, MONTHLY, _apply_delta, _from_row

    chunks = [order_ids[i : i + 2000] for i in range(0, len(order_ids), 2000)]
    with transaction.atomic():
        for table in (DAILY, MONTHLY):
            delta: dict[metrics.RollupKey, int] = {}
            for chunk in chunks:
                for row in OrderFact.objects.filter(order_id__in=chunk):
                    for key, value in metrics.fact_delta(_from_row(row), None, table.cells_of).items():
                        delta[key] = delta.get(key, 0) + value
            _apply_delta(delta, table)
        for chunk in chunks:
            OrderFact.objects.filter(order_id__in=chunk).delete()


# --- the run --------------------------------------------------------------------------------------------


@dataclass
class Result:
    orders: int
    rebuild_s: float
    day: dt.date
    day_orders: int
    day_update_s: float
    day_direct_ms: float
    widgets: dict[str, tuple[Timing, Timing]]
    streets_equal: bool
    departments_equal: bool
    city_equal: bool
    volume_equal: bool
    counters_equal: bool
    pages: dict[str, Timing]
    snapshot: Timing


def run(
    *,
    orders: int,
    days: int,
    scale: float,
    repeat: int,
    now: dt.datetime | None = None,
    seed: bool = True,
    updates: bool = True,
    seed_only: bool = False,
    out: Callable[[str], None] = print,
) -> Result | None:
    """Seed (unless ``seed`` is False: the database already holds the orders), then measure: the
    full rebuild and a day's update (unless ``updates`` is False), the widgets and the pages.
    ``seed_only``: stop after seeding (measure the kept database later with ``--reuse``)."""
    from django.db import connection
    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from assessment.metrics import Period
    from assessment.rollups import live_counts_refresh, rollup_orders, rollup_rebuild
    from assessment.selectors import (
        monthly_problem_by_street,
        ranking_for_period,
        today_counters,
        top_problems,
        unit_rates_for_period,
        volume_by_channel,
        volume_by_day,
    )
    from bench.seed_orders import seed_info, seed_orders
    from core.workcalendar import SHANGHAI
    from demo.services import demo_city_exists, demo_city_seed
    from orders.models import Callback, Order
    from orgs.models import Unit

    if seed:
        if not demo_city_exists():
            demo_city_seed(scale=scale)
        start = time.perf_counter()
        seeded = seed_orders(orders=orders, days=days, now=now, chunk=min(20_000, max(100, orders // 10)))
        out(f"  seeded {seeded.orders:,} orders over {days} days in {time.perf_counter() - start:.1f} s")
    if seed_only:
        return None
    info = seed_info()
    end = info["now"] if info else (now or dt.datetime.now(tz=SHANGHAI))
    city = Unit.objects.get(parent__isnull=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    rebuild_s = day_update_s = 0.0
    day = end.astimezone(SHANGHAI).date()
    day_ids: list[int] = []
    direct_timing = Timing("direct day", 0.0, 0.0)
    if updates:
        start = time.perf_counter()
        rebuilt = rollup_rebuild(now=end)
        rebuild_s = time.perf_counter() - start
        out(
            f"  full rebuild: {rebuilt.orders:,} facts, {rebuilt.rows:,} daily rows over {rebuilt.days} days "
            f"in {rebuild_s:.1f} s ({rebuilt.orders / rebuild_s:,.0f} orders/s)"
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        # the busiest callback day: its orders recomputed as if their facts were new
        busiest = (
            Callback.objects.annotate(day=TruncDate("created_at", tzinfo=SHANGHAI))
            .order_by()
            .values("day")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .first()
        )
        day = busiest["day"] if busiest else end.astimezone(SHANGHAI).date()
        day_ids = sorted(
            set(
                Callback.objects.filter(
                    created_at__gte=_day_start(day), created_at__lt=_day_start(day + dt.timedelta(days=1))
                ).values_list("order_id", flat=True)
            )
            | set(
                Order.objects.filter(
                    created_at__gte=_day_start(day), created_at__lt=_day_start(day + dt.timedelta(days=1))
                ).values_list("pk", flat=True)
            )
        )
        forget_facts(day_ids)
        start = time.perf_counter()
        update = rollup_orders(order_ids=day_ids, now=end)
        day_update_s = time.perf_counter() - start
        direct_timing, _groups = timed(lambda: direct_day_counts(day), max(3, repeat // 4))
        per_order_ms = day_update_s * 1000 / max(1, len(day_ids))
        out(
            f"  a day's rollup update ({day}): {len(day_ids):,} orders → {update.rows:,} rows over {len(update.days)} days "
            f"in {day_update_s:.2f} s ({per_order_ms:.3f} ms/order; {DAY_TARGET:,} orders ≈ "
            f"{per_order_ms * DAY_TARGET / 1000:.1f} s, budget {DAY_BUDGET_S:.0f} s); "
            f"direct aggregate of the day {direct_timing.p50_ms:.1f} ms"
        )

    else:
        out("  full rebuild and a day's update: skipped (--widgets-only: the rollups are already built)")
    # the last month with at least a week of data (a month begun a day ago is no measure)
    month = Period.containing(end.astimezone(SHANGHAI).date())
    if (end.astimezone(SHANGHAI).date() - month.start).days < 7 or not Callback.objects.filter(
        created_at__gte=_day_start(month.start)
    ).exists():
        month = month.previous()
    # the live counters' snapshot as the every-minute task takes it (its cost is per minute, not
    # per request); the counters widget then reads it, and is also counted live for comparison
    snapshot, _refreshed = timed(lambda: live_counts_refresh(now=end), max(1, repeat // 4))
    out(
        f"  live counters' snapshot (every minute, all grids): p50 {snapshot.p50_ms:.1f} ms, "
        f"p95 {snapshot.p95_ms:.1f} ms"
    )
    cases: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "street ranking (with last month)": (
            lambda: ranking_for_period(scope=city, kind="street", period=month),
            lambda: direct_street_ranking(city.pk, month),
        ),
        "department ranking": (
            lambda: ranking_for_period(scope=city, kind="department", period=month),
            lambda: direct_department_counts(city.pk, month),
        ),
        "city rates": (
            lambda: unit_rates_for_period(unit=city, period=month),
            lambda: direct_city_rates(city.pk, month),
        ),
        "volume trend": (
            lambda: volume_by_day(scope=city, period=month),
            lambda: direct_volume_by_day(city.pk, month),
        ),
        "top problems": (
            lambda: top_problems(scope=city, period=month),
            lambda: direct_top_problems(city.pk, month),
        ),
        "channel breakdown": (
            lambda: volume_by_channel(scope=city, period=month),
            lambda: direct_channels(city.pk, month),
        ),
        "problem of the month (每月一题)": (
            lambda: monthly_problem_by_street(scope=city, period=month),
            lambda: direct_problem_of_the_month(city.pk, month),
        ),
        "today's counters": (
            lambda: today_counters(scope=city, now=end),
            lambda: direct_today_counters(city.pk, end),
        ),
        "today's counters (counted live)": (
            lambda: today_counters(scope=city, now=end, live=True),
            lambda: direct_today_counters(city.pk, end),
        ),
    }
    widgets: dict[str, tuple[Timing, Timing]] = {}
    answers: dict[str, tuple[Any, Any]] = {}
    out(f"  widgets for {month.label}, {repeat} runs each:")
    out(f"  {'widget':<34} {'rollup p50':>11} {'p95':>8} {'direct p50':>11} {'p95':>8} {'direct/rollup':>14}")
    for name, (rollup_fn, direct_fn) in cases.items():
        ours, our_answer = timed(rollup_fn, repeat)
        direct, direct_answer = timed(direct_fn, max(1, repeat // 4))
        widgets[name] = (ours, direct)
        answers[name] = (our_answer, direct_answer)
        ratio = direct.p50_ms / ours.p50_ms if ours.p50_ms else float("inf")
        out(
            f"  {name:<34} {ours.p50_ms:>9.1f}ms {ours.p95_ms:>6.1f}ms {direct.p50_ms:>9.1f}ms "
            f"{direct.p95_ms:>6.1f}ms {ratio:>13.1f}x"
        )
    ranking, direct_ranking = answers["street ranking (with last month)"]
    ours_valid = {r.unit_id: r.rates.counts["valid"] for r in ranking if r.rates.counts["valid"]}
    direct_valid = {k: v[0] for k, v in direct_ranking.items() if k is not None and v[0]}
    streets_equal = ours_valid == direct_valid
    dept_ranking, direct_depts = answers["department ranking"]
    departments_equal = {
        r.unit_id: r.rates.counts["valid"] for r in dept_ranking if r.rates.counts["valid"]
    } == {k: v for k, v in direct_depts.items() if v}
    city_rates, direct_city = answers["city rates"]
    city_equal = all(city_rates.territorial.counts[k] == v for k, v in direct_city.items())
    channels, direct_ch = answers["channel breakdown"]
    problems, direct_pm = answers["problem of the month (每月一题)"]
    volume_equal = sorted(channels) == sorted(direct_ch) and {
        p.unit_id: p.count for p in problems if p.item_id is not None
    } == {street: n for street, (_item, n) in direct_pm.items()}
    counters, direct_counters = answers["today's counters"]
    counted, _direct = answers["today's counters (counted live)"]
    counters_equal = (
        counters.as_of == end  # read from the snapshot
        and counted.as_of is None
        and all(getattr(c, k) == v for c in (counters, counted) for k, v in direct_counters.items())
    )
    worst = max(t.p95_ms for name, (t, _d) in widgets.items() if name != "today's counters (counted live)")
    live_counts_refresh(now=timezone.now())  # the pages run on the real clock: a fresh snapshot
    pages = time_pages(city, month, repeat, out)
    worst = max([worst, *(t.p95_ms for t in pages.values())])
    out(
        f"  valid counts equal both ways: streets {streets_equal}, departments {departments_equal}, "
        f"city {city_equal}; channel and 每月一题 counts {volume_equal}, today's counters {counters_equal}; worst widget p95 {worst:.1f} ms (budget {WIDGET_BUDGET_MS:.0f} ms); "
        f"database: {connection.vendor}"
    )
    return Result(
        orders=Order.objects.count(),
        rebuild_s=rebuild_s,
        day=day,
        day_orders=len(day_ids),
        day_update_s=day_update_s,
        day_direct_ms=direct_timing.p50_ms,
        widgets=widgets,
        streets_equal=streets_equal,
        departments_equal=departments_equal,
        city_equal=city_equal,
        volume_equal=volume_equal,
        counters_equal=counters_equal,
        pages=pages,
        snapshot=snapshot,
    )


def time_pages(city: Any, month: Any, repeat: int, out: Callable[[str], None]) -> dict[str, Timing]:
    """The pages themselves through Django's test client (every middleware, the template, the
    JSON): the command-centre dashboard and its map as a leader of the city, signed in with a
    second factor, and the rankings API with a bearer token."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from core.identity import api_token_create
    from core.tests.identity_helpers import login_verified
    from orgs.choices import Role
    from orgs.models import Membership

    leader, _created = get_user_model().objects.get_or_create(
        username="bench_leader", defaults={"display_name": "bench_leader", "password": "!bench"}
    )
    get_user_model().objects.filter(pk=leader.pk).update(password_changed_at=timezone.now())
    leader.refresh_from_db()
    Membership.objects.get_or_create(user=leader, unit=city, role=Role.LEADER)
    browser = Client(SERVER_NAME="localhost")
    login_verified(browser, leader)
    _token, raw = api_token_create(actor=leader, user=leader, name="bench", now=timezone.now())
    api = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")

    def get(client: Any, url: str) -> Callable[[], int]:
        def fetch() -> int:
            response = client.get(url)
            if response.status_code != 200:
                raise AssertionError(f"GET {url}: {response.status_code}")
            return len(response.content)

        return fetch

    rankings = f"/api/v1/assessment/rankings?scope={city.pk}&month={month.key}"
    urls = {
        "dashboard page (city leader)": (browser, f"/assessment/?month={month.key}"),
        "dashboard map (GeoJSON)": (browser, "/assessment/map.json"),
        "street ranking (API)": (api, rankings + "&kind=street"),
        "department ranking (API)": (api, rankings + "&kind=department"),
    }
    out(f"  pages, {repeat} requests each:")
    out(f"  {'page':<34} {'p50':>11} {'p95':>8} {'KiB':>8}")
    timings: dict[str, Timing] = {}
    for name, (client, url) in urls.items():
        timing, size = timed(get(client, url), repeat)
        timings[name] = timing
        out(f"  {name:<34} {timing.p50_ms:>9.1f}ms {timing.p95_ms:>6.1f}ms {size / 1024:>8.1f}")
    return timings


def _run_here(
    orders: int,
    days: int,
    scale: float,
    repeat: int,
    keep: bool,
    reuse: bool,
    widgets_only: bool = False,
    seed_only: bool = False,
) -> None:
    """Set up Django on a temporary database (SQLite under var/bench/, or ``<name>_assess``).
    With ``reuse`` an existing benchmark database (kept by ``--keep``) is migrated and measured
    again without seeding."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minhu.settings_test")
    os.environ.setdefault("MINHU_ALLOW_DEV_KEY", "1")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    logging.getLogger("huey").setLevel(logging.WARNING)
    setup_test_environment()
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        test_settings["NAME"] = str(Path(BENCH_DIR / "bench_assessment.sqlite3"))
    else:
        test_settings["NAME"] = f"{connection.settings_dict['NAME']}_assess"
    if reuse:
        connection.close()
        connection.settings_dict["NAME"] = test_settings["NAME"]
        call_command("migrate", verbosity=0)
        from orders.models import Order

        existing = Order.objects.count()
        print(f"[{connection.vendor}] reusing {existing:,} orders, demo city scale {scale}")
        run(
            orders=orders,
            days=days,
            scale=scale,
            repeat=repeat,
            seed=existing == 0,
            updates=not (widgets_only and existing),
        )
        return
    old_name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, keepdb=False, serialize=False
    )
    try:
        print(f"[{connection.vendor}] {orders:,} orders over {days} days, demo city scale {scale}")
        run(orders=orders, days=days, scale=scale, repeat=repeat, seed_only=seed_only)
    finally:
        if not (keep or seed_only):
            connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=60, help="days the seeded orders spread over")
    parser.add_argument("--scale", type=float, default=0.2, help="demo city scale")
    parser.add_argument("--repeat", type=int, default=20, help="runs per widget (p50/p95)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reuse", action="store_true", help="measure a kept benchmark database again")
    parser.add_argument(
        "--widgets-only",
        action="store_true",
        help="with --reuse: skip the full rebuild and the day's update (the rollups are built)",
    )
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="seed the benchmark database, keep it and stop (measure it later with --reuse)",
    )
    parser.add_argument(
        "--target",
        choices=["all", "sqlite", "postgres"],
        default="all",
        help="all = SQLite, and PostgreSQL too when DATABASE_URL is set (each in its own process)",
    )
    args = parser.parse_args(argv)
    if args.target != "all":
        _run_here(
            args.orders,
            args.days,
            args.scale,
            args.repeat,
            args.keep,
            args.reuse,
            args.widgets_only,
            args.seed_only,
        )
        return 0
    base = [
        sys.executable,
        "-m",
        "bench.bench_assessment",
        *("--orders", str(args.orders), "--days", str(args.days), "--scale", str(args.scale)),
        *("--repeat", str(args.repeat)),
        *(["--keep"] if args.keep else []),
        *(["--reuse"] if args.reuse else []),
        *(["--widgets-only"] if args.widgets_only else []),
        *(["--seed-only"] if args.seed_only else []),
    ]
    sqlite_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    status = subprocess.call([*base, "--target", "sqlite"], env=sqlite_env)  # noqa: S603
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        status |= subprocess.call([*base, "--target", "postgres"])  # noqa: S603
    return status


if __name__ == "__main__":
    raise SystemExit(main())
