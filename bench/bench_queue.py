"""Benchmark: p50/p99 of the work queues and the order detail on a seeded database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minhu_bench \\
        .venv/bin/python -m bench.bench_queue [--repeat 100] [--baseline-repeat 10] [--budget 30]
            [--slow 3] [--cap 30] [--only TEXT]

Needs a database seeded by ``bench.seed_orders`` (1,000,000 orders for the issue's figures); it
reads it and adds only a street secretary's membership and two API tokens. Each case is timed
``--repeat`` times (after a warm-up) as the selector call and as the HTTP request through Django's
test client (middleware, bearer token, presentation, JSON), and its queries are counted:

- the city dispatcher's queue (``queue=dispatch``: awaiting dispatch, returns, replies to review),
  first page of 50, newest first;
- the busiest department's and the busiest street's handler queue (``queue=mine``), the street's
  by deadline (``ordering="due"``);
- a street secretary's list (the location axis: everything whose grid lies in the street);
- the order detail (``order_get_for_user`` + the API's presentation) and the timeline, for random
  orders of the actor's scope.

Beside each case, measured in the same run:

- **baseline — no indexes**: the same requests with the indexes that serve them dropped (inside a
  transaction that is rolled back): the hot-queue partial indexes, the order creation-time and
  status indexes and the assignment unit indexes for the lists; the ``order_id`` indexes of the
  detail's child tables for the detail;
- **reference — unscoped**: the same requests with ``orders_visible_to`` answering "all orders"
  (not a valid configuration: it shows what the scope predicate itself costs).

A case stops early once ``--budget`` seconds are spent (keeping at least five requests). A first
request slower than ``--slow`` seconds, or one cancelled by the ``--cap`` statement timeout on
PostgreSQL, ends its case: that one request is the figure. Its no-index baseline is skipped, since
dropping indexes cannot help a request that is already that slow.

Floor (issue 3): queue and detail p99 ≤ 50 ms at 1,000,000 orders on PostgreSQL.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.bench_orders import count_queries

FLOOR_P99_MS = 50.0
PAGE = 50
QUEUE_INDEXES = {
    "orders_order": (
        "order_open_holder_due",
        "order_open_dispatch",
        "order_status_created",
        "order_created",
        "order_grid_status_created",
    ),
    "orders_assignment": ("assignment_unit_status", "@unit_id"),
}
DETAIL_TABLES = (
    "orders_assignment",
    "orders_reply",
    "orders_extensionrequest",
    "orders_suspensionrequest",
    "orders_attachment",
)


@dataclass
class Case:
    name: str
    group: str  # "queue" | "detail"
    call: Callable[[int], Any]
    floor: bool = True


@dataclass
class Timing:
    times_ms: list[float]
    queries: int
    capped: bool = False  # the one call was cancelled by the statement timeout
    slow: bool = False  # the case stopped after one call slower than the slow threshold

    def pct(self, p: float) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    def cell(self, p: float) -> str:
        """The percentile in ms; ``>N`` when the call was cancelled at N ms."""
        if self.capped:
            return f">{self.times_ms[0]:.0f}"
        return f"{self.pct(p):.1f}"


def _cancelled(exc: BaseException) -> bool:
    return "statement timeout" in str(exc)


def measure(
    call: Callable[[int], Any],
    repeat: int,
    warmup: int = 3,
    budget: float = 0.0,
    least: int = 5,
    slow: float = 0.0,
) -> Timing:
    """``repeat`` timed calls after ``warmup`` — fewer (but at least ``least``) once ``budget``
    seconds are spent. A first call slower than ``slow`` seconds, or one the statement timeout
    cancels, ends the case: that single call is its figure (``Timing.slow`` / ``Timing.capped``)."""
    from django.db import OperationalError, connection, transaction

    times: list[float] = []
    counts: list[int] = []
    began = time.perf_counter()
    for i in range(warmup + repeat):
        if budget and len(times) >= least and time.perf_counter() - began > budget:
            break
        with count_queries() as counter:
            start = time.perf_counter()
            try:
                if connection.in_atomic_block:  # a savepoint keeps a cancelled call from aborting it
                    with transaction.atomic():
                        call(i)
                else:
                    call(i)
            except OperationalError as exc:
                if not _cancelled(exc):
                    raise
                return Timing([(time.perf_counter() - start) * 1000], counter[0], capped=True)
            elapsed = (time.perf_counter() - start) * 1000
        if i == 0 and slow and elapsed > slow * 1000:
            return Timing([elapsed], counter[0], slow=True)
        if i >= warmup:
            times.append(elapsed)
            counts.append(counter[0])
    return Timing(times, round(statistics.median(counts)))


# --- what is measured ------------------------------------------------------------------------------------


@dataclass
class Actors:
    dispatcher: Any
    dept_handler: Any
    street_handler: Any
    secretary: Any
    dept_id: int
    street_id: int


def pick_actors() -> Actors:
    """The city dispatcher, the handlers of the busiest department and street (most active
    assignments) and a secretary of that street (created when missing)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from orders.choices import ASSIGNMENT_ACTIVE
    from orders.models import Assignment
    from orgs.choices import Role, UnitKind
    from orgs.models import Membership

    users = get_user_model().objects
    busiest = (
        Assignment.objects.filter(status__in=list(ASSIGNMENT_ACTIVE))
        .values("unit_id", "unit__kind")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    dept_id = next(r["unit_id"] for r in busiest if r["unit__kind"] == UnitKind.DEPARTMENT)
    street_id = next(r["unit_id"] for r in busiest if r["unit__kind"] == UnitKind.STREET)
    secretary, _created = users.get_or_create(
        username="bench_secretary", defaults={"display_name": "bench_secretary", "password": "!bench"}
    )
    Membership.objects.get_or_create(user=secretary, unit_id=street_id, role=Role.SECRETARY)
    return Actors(
        dispatcher=users.get(username="bench_dispatcher_1"),
        dept_handler=users.get(memberships__unit_id=dept_id, username__startswith="bench_h_"),
        street_handler=users.get(memberships__unit_id=street_id, username__startswith="bench_h_"),
        secretary=secretary,
        dept_id=dept_id,
        street_id=street_id,
    )


def build_cases(actors: Actors, *, rng: random.Random, details: int) -> list[Case]:
    from django.test import Client
    from django.utils import timezone

    from core.identity import api_token_create
    from orders.api import present
    from orders.models import Assignment, Order
    from orders.selectors import order_get_for_user, order_list_for_queue, order_timeline

    now = timezone.now()

    def client(user: Any) -> Any:
        _token, raw = api_token_create(actor=user, user=user, name="bench", now=now)
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    dispatcher_api, dept_api = client(actors.dispatcher), client(actors.dept_handler)
    low, high = Order.objects.order_by("pk").values_list("pk", flat=True)[0], Order.objects.latest("pk").pk
    city_ids = [rng.randint(low, high) for _ in range(details)]
    dept_orders = list(Assignment.objects.filter(unit_id=actors.dept_id).values_list("order_id", flat=True))
    dept_ids = [rng.choice(dept_orders) for _ in range(details)]

    def page(qs: Any) -> list[Any]:
        return list(qs[:PAGE])

    def get(c: Any, url: str) -> Any:
        response = c.get(url)
        if response.status_code != 200:
            raise AssertionError(f"GET {url}: {response.status_code} {response.content[:200]!r}")
        return response

    def detail(actor: Any, pk: int) -> dict[str, Any]:
        order, _rw = order_get_for_user(actor, pk)
        return present.order_detail(actor, order)

    def timeline(actor: Any, pk: int) -> list[Any]:
        order, _rw = order_get_for_user(actor, pk)
        return list(order_timeline(order))

    a = actors
    return [
        Case("dispatch queue (city dispatcher) — selector", "queue", lambda i: page(order_list_for_queue(a.dispatcher, queue="dispatch"))),
        Case("dispatch queue — GET /orders?queue=dispatch", "queue", lambda i: get(dispatcher_api, f"/api/v1/orders?queue=dispatch&limit={PAGE}")),
        Case("mine queue (busiest department) — selector", "queue", lambda i: page(order_list_for_queue(a.dept_handler, queue="mine"))),
        Case("mine queue — GET /orders?queue=mine", "queue", lambda i: get(dept_api, f"/api/v1/orders?queue=mine&limit={PAGE}")),
        Case("mine queue by deadline (busiest street) — selector", "queue", lambda i: page(order_list_for_queue(a.street_handler, queue="mine", ordering="due"))),
        Case("street secretary's list (location axis) — selector", "queue", lambda i: page(order_list_for_queue(a.secretary))),
        Case("order detail (city dispatcher) — selector", "detail", lambda i: detail(a.dispatcher, city_ids[i % details])),
        Case("order detail — GET /orders/{id}", "detail", lambda i: get(dispatcher_api, f"/api/v1/orders/{city_ids[i % details]}")),
        Case("order detail (department handler) — GET /orders/{id}", "detail", lambda i: get(dept_api, f"/api/v1/orders/{dept_ids[i % details]}")),
        Case("timeline (city dispatcher) — selector", "detail", lambda i: timeline(a.dispatcher, city_ids[i % details]), floor=False),
    ]  # fmt: skip


# --- baselines ---------------------------------------------------------------------------------------------


def _indexes(table: str) -> dict[str, dict[str, Any]]:
    from django.db import connection

    with connection.cursor() as cursor:
        found: dict[str, dict[str, Any]] = connection.introspection.get_constraints(cursor, table)
    return {name: info for name, info in found.items() if info["index"] and not info["unique"]}


def baseline_indexes(group: str) -> list[str]:
    """The indexes a group's requests stand on (``@column``: the plain index on that column)."""
    names: list[str] = []
    if group == "queue":
        for table, wanted in QUEUE_INDEXES.items():
            existing = _indexes(table)
            for want in wanted:
                if want.startswith("@"):
                    names += [n for n, i in existing.items() if i["columns"] == [want[1:]]]
                elif want in existing:
                    names.append(want)
    else:
        for table in DETAIL_TABLES:
            names += [n for n, i in _indexes(table).items() if i["columns"][:1] == ["order_id"]]
    return names


@contextmanager
def without_indexes(names: list[str]) -> Iterator[None]:
    """Drop ``names`` for the block, in a transaction that is rolled back (DDL is transactional on
    PostgreSQL and SQLite)."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            for name in names:
                cursor.execute(f'DROP INDEX "{name}"')
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE orders_order")
                cursor.execute("ANALYZE orders_assignment")
        try:
            yield
        finally:
            transaction.set_rollback(True)


@contextmanager
def unscoped() -> Iterator[None]:
    """``orders_visible_to`` answers every order (a reference for the scope's own cost)."""
    from orders import selectors
    from orders.models import Order

    real = selectors.orders_visible_to
    selectors.orders_visible_to = lambda actor: Order.objects.all()
    try:
        yield
    finally:
        selectors.orders_visible_to = real


# --- the run ------------------------------------------------------------------------------------------------


def run(
    *,
    repeat: int,
    baseline_repeat: int,
    details: int = 200,
    only: str = "",
    budget: float = 0.0,
    slow: float = 0.0,
    cap: float = 0.0,
    out: Callable[[str], None] = print,
) -> dict[str, tuple[Timing, Timing | None, Timing | None]]:
    """Measure every case (and its baselines) on the seeded default database."""
    from django.db import connection

    from bench.seed_orders import seed_info
    from orders.models import Order

    info = seed_info()
    if info is None:
        raise SystemExit("bench.bench_queue: seed the database first (python -m bench.seed_orders)")
    rng = random.Random(11)
    actors = pick_actors()
    cases = [c for c in build_cases(actors, rng=rng, details=max(details, repeat + 3)) if only in c.name]
    if cap and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(cap * 1000)}")
    total = Order.objects.count()
    out(
        f"[{connection.vendor}] {total:,} orders (seeded {info['now']:%Y-%m-%d %H:%M}); {repeat} requests a case"
    )
    results: dict[str, tuple[Timing, Timing | None, Timing | None]] = {}
    for case in cases:
        results[case.name] = (measure(case.call, repeat, budget=budget, slow=slow), None, None)
    if baseline_repeat:
        for group in ("queue", "detail"):
            names = baseline_indexes(group)
            with without_indexes(names):
                for case in cases:
                    current = results[case.name][0]
                    if case.group == group and not (current.slow or current.capped):
                        timed = measure(
                            case.call, baseline_repeat, warmup=1, budget=budget / 2, least=3, slow=slow
                        )
                        results[case.name] = (current, timed, None)
        with unscoped():
            for case in cases:
                timed = measure(case.call, baseline_repeat, warmup=1, budget=budget / 2, least=3, slow=slow)
                results[case.name] = (results[case.name][0], results[case.name][1], timed)
    header = f"  {'case':<56} {'n':>4} {'p50':>7} {'p99':>7} {'q':>3} │ {'no-idx p50':>10} {'p99':>8} {'×p50':>6} │ {'unscoped p50':>12} {'p99':>7}"
    out(header)
    for case in cases:
        current, base, bare = results[case.name]
        line = (
            f"  {case.name:<56} {len(current.times_ms):>4} {current.cell(0.5):>7} "
            f"{current.cell(0.99):>7} {current.queries:>3} │"
        )
        if base is not None:
            ratio = base.pct(0.5) / current.pct(0.5)
            line += f" {base.cell(0.5):>10} {base.cell(0.99):>8} {ratio:>5.1f}x │"
        else:
            line += f" {'—':>10} {'':>8} {'':>6} │"
        if bare is not None:
            line += f" {bare.cell(0.5):>12} {bare.cell(0.99):>7}"
        out(line)
    out(
        f"  ms; n = requests timed (p99 of n < 100 is the n-th worst; a first call slower than {slow:.0f} s "
        f"or cancelled by the {cap:.0f} s statement timeout ('>') is the only one); q = queries per request; "
        "—: no baseline (the case is already past the slow threshold); "
        f"baselines: up to {baseline_repeat} requests each; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if connection.vendor == "postgresql":
        for case in cases:
            if case.floor:
                timing = results[case.name][0]
                p99 = timing.pct(0.99)
                verdict = "met" if p99 <= FLOOR_P99_MS and not timing.capped else "NOT met"
                out(f"  floor p99 ≤ {FLOOR_P99_MS:.0f} ms — {case.name}: {timing.cell(0.99)} ms, {verdict}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--baseline-repeat", type=int, default=10, help="0: no baselines")
    parser.add_argument("--only", default="", help="only the cases whose name contains this")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per case before stopping early")
    parser.add_argument(
        "--slow", type=float, default=3.0, help="a first call slower than this (s) ends the case"
    )
    parser.add_argument("--cap", type=float, default=30.0, help="statement timeout on PostgreSQL (s)")
    args = parser.parse_args(argv)
    from bench.seed_orders import setup_django

    setup_django()
    from django.test.utils import setup_test_environment

    logging.getLogger("huey").setLevel(logging.WARNING)
    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # cancelled requests are figures here
    setup_test_environment()
    run(
        repeat=args.repeat,
        baseline_repeat=args.baseline_repeat,
        only=args.only,
        budget=args.budget,
        slow=args.slow,
        cap=args.cap,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
