"""Benchmark: server time and query count of every workbench page on a seeded database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minhu_bench \\
        .venv/bin/python -m bench.bench_pages [--repeat 60]

Needs a database seeded by ``bench.seed_orders`` (1,000,000 orders for the issue's figures); it adds
only a supervisor's membership and OTP devices for the accounts it signs in. Each page is fetched
through Django's test client (every middleware, the session and second-factor checks, the
template, the CSP header) ``--repeat`` times after a warm-up, as the person the page is for:

- the city dispatcher's desk (the four tabs), the order search and random orders' detail pages;
- the inbox of the handler of the busiest street (three tabs) and of the busiest department;
- the callback queue, the supervisor board (a supervisor at the city), the notifications inbox;
- the agent's console (``/calls/new/``) and the residents' report page (anonymous).

Baseline, measured in the same run: the home page — the same shell (session, OTP device,
memberships, unread count, navigation) with no workbench content — so ``×shell`` says what each
page adds to what every page costs anyway. Floor (issue 4): p95 ≤ 150 ms per page at 1,000,000
orders on PostgreSQL.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FLOOR_P95_MS = 150.0


@dataclass
class Result:
    name: str
    queries: int
    times_ms: list[float] = field(default_factory=list)
    slowest: list[tuple[float, str]] = field(default_factory=list)  # (ms, SQL) of the counted request

    def pct(self, p: float) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


@dataclass(frozen=True)
class Page:
    name: str
    client: Any
    url: Callable[[int], str]


def _capture_queries(fn: Callable[[], Any]) -> list[dict[str, str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return list(ctx.captured_queries)


def _get(client: Any, url: str) -> Any:
    response = client.get(url)
    if response.status_code != 200:
        raise AssertionError(f"GET {url}: {response.status_code}")
    return response


def pick_people() -> dict[str, Any]:
    """The seeded bench accounts for each desk, plus a supervisor at the city (created once)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from orders.choices import ASSIGNMENT_ACTIVE
    from orders.models import Assignment
    from orgs.choices import Role, UnitKind
    from orgs.models import Membership, Unit

    users = get_user_model().objects
    busiest = (
        Assignment.objects.filter(status__in=list(ASSIGNMENT_ACTIVE))
        .values("unit_id", "unit__kind")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    street_id = next(r["unit_id"] for r in busiest if r["unit__kind"] == UnitKind.STREET)
    dept_id = next(r["unit_id"] for r in busiest if r["unit__kind"] == UnitKind.DEPARTMENT)
    city = Unit.objects.filter(parent__isnull=True, kind=UnitKind.CITY).order_by("code").first()
    supervisor, _created = users.get_or_create(
        username="bench_supervisor", defaults={"display_name": "bench_supervisor", "password": "!bench"}
    )
    Membership.objects.get_or_create(user=supervisor, unit=city, role=Role.SUPERVISOR)
    return {
        "dispatcher": users.get(username="bench_dispatcher_1"),
        "street_handler": users.get(memberships__unit_id=street_id, username__startswith="bench_h_"),
        "dept_handler": users.get(memberships__unit_id=dept_id, username__startswith="bench_h_"),
        "callback": users.get(username="bench_callback_1"),
        "agent": users.get(username="bench_agent_01"),
        "supervisor": supervisor,
    }


def build_pages(people: dict[str, Any], *, rng: random.Random, details: int) -> tuple[Page, list[Page]]:
    """(the baseline, the pages)."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from core.tests.identity_helpers import login_verified
    from orders.choices import OPEN
    from orders.models import Order

    # Signed in as a person would be: password current (no forced change), second factor passed.
    get_user_model().objects.filter(pk__in=[u.pk for u in people.values()]).update(
        password_changed_at=timezone.now()
    )
    # A host the settings allow, so no test instrumentation is needed (it slows templates down).
    clients: dict[str, Any] = {}
    for key, user in people.items():
        clients[key] = Client(SERVER_NAME="localhost")
        login_verified(clients[key], user)
    anonymous = Client(SERVER_NAME="localhost")
    open_ids = list(
        Order.objects.filter(status__in=sorted(OPEN)).order_by("-pk").values_list("pk", flat=True)[:5000]
    )
    ids = [rng.choice(open_ids) for _ in range(details)] if open_ids else []
    d = clients["dispatcher"]

    def fixed(url: str) -> Callable[[int], str]:
        return lambda i: url

    baseline = Page("home page (the shell alone)", d, fixed("/"))
    pages = [
        Page("dispatch desk — awaiting dispatch", d, fixed("/dispatch/")),
        Page("dispatch desk — returns", d, fixed("/dispatch/?tab=returns")),
        Page("dispatch desk — replies to review", d, fixed("/dispatch/?tab=review")),
        Page("dispatch desk — extension/suspension", d, fixed("/dispatch/?tab=requests")),
        Page("order search (city dispatcher)", d, fixed("/orders/")),
        Page("order detail (random open orders)", d, lambda i: f"/orders/{ids[i % len(ids)]}/"),
        Page("inbox — to accept (busiest street)", clients["street_handler"], fixed("/inbox/")),
        Page("inbox — in progress (busiest street)", clients["street_handler"], fixed("/inbox/?tab=working")),
        Page("inbox — replies from below (street)", clients["street_handler"], fixed("/inbox/?tab=review")),
        Page(
            "inbox — in progress (busiest department)", clients["dept_handler"], fixed("/inbox/?tab=working")
        ),
        Page("callback queue", clients["callback"], fixed("/callbacks/")),
        Page("supervisor board (city)", clients["supervisor"], fixed("/supervision/")),
        Page("notifications inbox", clients["street_handler"], fixed("/notifications/")),
        Page("agent's console (new call)", clients["agent"], fixed("/calls/new/")),
        Page("residents' report page", anonymous, fixed("/report/")),
    ]
    return baseline, pages


def measure(page: Page, *, repeat: int, warmup: int = 2) -> Result:
    for i in range(warmup):
        _get(page.client, page.url(i))
    captured = _capture_queries(lambda: _get(page.client, page.url(0)))
    timed = sorted(((float(q["time"]) * 1000, q["sql"]) for q in captured), key=lambda x: x[0], reverse=True)
    result = Result(page.name, queries=len(captured), slowest=timed)
    for i in range(repeat):
        url = page.url(i)
        start = time.perf_counter()
        _get(page.client, url)
        result.times_ms.append((time.perf_counter() - start) * 1000)
    return result


def run(
    *,
    repeat: int,
    details: int = 50,
    slow: int = 0,
    only: str = "",
    out: Callable[[str], None] = print,
) -> dict[str, Result]:
    """Measure every page (or those whose name contains ``only``); with ``slow`` print each page's
    slowest statements of the counted request (ms and the start of the SQL) after its line."""
    from django.db import connection

    from orders.models import Order

    rng = random.Random(4)  # noqa: S311 - picking sample orders, not security
    people = pick_people()
    baseline_page, pages = build_pages(people, rng=rng, details=details)
    out(f"database: {connection.vendor}, {Order.objects.count():,} orders; {repeat} requests per page")
    base = measure(baseline_page, repeat=repeat)
    out(f"{'page':44} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'×shell':>7}  floor")
    out(f"{base.name:44} {base.queries:>7} {statistics.median(base.times_ms):>8.1f} {base.pct(95):>8.1f} "
        f"{max(base.times_ms):>8.1f} {'1.0':>7}")  # fmt: skip
    results = {base.name: base}
    for page in pages:
        if only and only not in page.name:
            continue
        r = measure(page, repeat=repeat)
        results[r.name] = r
        ratio = r.pct(95) / base.pct(95) if base.pct(95) else float("nan")
        verdict = "ok" if r.pct(95) <= FLOOR_P95_MS else "OVER"
        out(f"{r.name:44} {r.queries:>7} {statistics.median(r.times_ms):>8.1f} {r.pct(95):>8.1f} "
            f"{max(r.times_ms):>8.1f} {ratio:>7.1f}  {verdict}")  # fmt: skip
        if slow:
            out(f"    SQL in the counted request: {sum(ms for ms, _sql in r.slowest):.1f} ms")
        for ms, sql in r.slowest[:slow]:
            out(f"    {ms:8.1f} ms  {' '.join(sql.split())[:240]}")
    if len(results) == 1:
        out(f"no page matches {only!r}")
        return results
    worst = max((r for r in results.values() if r is not base), key=lambda r: r.pct(95))
    out(f"worst p95: {worst.name} {worst.pct(95):.1f} ms (floor {FLOOR_P95_MS:.0f} ms)")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--details", type=int, default=50, help="random open orders for the detail page")
    parser.add_argument("--slow", type=int, default=0, help="print each page's N slowest statements")
    parser.add_argument("--only", default="", help="only the pages whose name contains this text")
    args = parser.parse_args(argv)
    from bench.seed_orders import setup_django

    setup_django()
    logging.getLogger("huey").setLevel(logging.WARNING)
    logging.getLogger("axes").setLevel(logging.WARNING)
    run(repeat=args.repeat, details=args.details, slow=args.slow, only=args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
