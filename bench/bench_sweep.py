"""Benchmark: one deadline sweep over the open orders of a seeded database vs a per-order loop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minhu_bench \\
        .venv/bin/python -m bench.bench_sweep [--baseline-orders 20000]

Needs a database seeded by ``bench.seed_orders`` (1,000,000 orders, 200,000 open, for the issue's
figure). The seeder leaves the warnings a sweep every five minutes would have recorded up to its
``now``; this runs the next sweep, five minutes later, the way the periodic task runs it
(``orders.services.deadline_sweep``: calendar recomputation, yellow and red warnings each in its
own transaction, automatic urging, the escalation rule), in this order:

1. **baseline** — a per-order Python loop over the same rows: for each open order, its unpaused
   pending or accepted assignments (one query), for each deadline within the horizon the warnings
   already recorded (one query), then the same recording and escalation calls as the sweep. It runs
   over the first ``--baseline-orders`` open orders and is scaled to all of them; in a transaction
   rolled back at the end (so it records nothing for the sweep that follows);
2. **the sweep with the task's default ``limit``** (5,000 deadlines of each kind, soonest first), also
   rolled back: how long the periodic task takes, and whether it reaches every deadline due;
3. **one sweep over every open order** (``limit`` above the number of deadlines within the
   horizon), committed: the figure the floor (≤ 30 s over 200,000 open orders) applies to.

Run it once per seeding: a second run finds the warnings of the first already recorded (its sweep
then times a sweep with nothing new to record).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

FLOOR_SECONDS = 30.0
DEFAULT_TASK_LIMIT = 5000


@dataclass
class SweepFigure:
    name: str
    seconds: float
    warnings: int
    urged: int
    escalated: int
    skipped: int
    orders: int


def open_order_ids() -> list[int]:
    from orders.choices import OPEN
    from orders.models import Order

    return list(Order.objects.filter(status__in=sorted(OPEN)).order_by("pk").values_list("pk", flat=True))


def deadlines_within_horizon(now: dt.datetime) -> int:
    """How many deadlines the sweep looks at when nothing limits it."""
    from orders.choices import OPEN, AssignmentStatus
    from orders.models import Assignment
    from orders.services.supervision import _horizon

    horizon = now + _horizon()
    base = Assignment.objects.filter(paused_at__isnull=True, order__status__in=sorted(OPEN))
    return (
        base.filter(status=AssignmentStatus.PENDING, accept_by__lte=horizon).count()
        + base.filter(
            status=AssignmentStatus.ACCEPTED, contacted_at__isnull=True, contact_by__lte=horizon
        ).count()
        + base.filter(status=AssignmentStatus.ACCEPTED, reply_by__lte=horizon).count()
    )


def per_order_loop(order_ids: list[int], *, now: dt.datetime) -> SweepFigure:
    """The naive sweep: one order at a time, the same decisions and the same writes."""
    from orders.choices import AssignmentRole, AssignmentStatus, DeadlineKind, WarningLevel
    from orders.errors import OrderError
    from orders.models import Assignment, DeadlineWarning
    from orders.services.supervision import _Due, _horizon, _maybe_escalate, _record_warning, yellow_at

    horizon = now + _horizon()
    figure = SweepFigure("per-order loop", 0.0, 0, 0, 0, 0, len(order_ids))
    start = time.perf_counter()
    for order_id in order_ids:
        rows = Assignment.objects.filter(
            order_id=order_id,
            paused_at__isnull=True,
            status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED],
        ).values_list("pk", "unit_id", "status", "role", "parent_id", "dispatched_at", "accept_by", "contact_by", "reply_by", "contacted_at")  # fmt: skip
        for (
            pk,
            unit_id,
            status,
            role,
            parent_id,
            start_at,
            accept_by,
            contact_by,
            reply_by,
            contacted,
        ) in rows:
            if status == AssignmentStatus.PENDING:
                due_list = [(DeadlineKind.ACCEPT, accept_by)]
            else:
                due_list = [(DeadlineKind.REPLY, reply_by)]
                if contacted is None:
                    due_list.insert(0, (DeadlineKind.CONTACT, contact_by))
            for kind, due in due_list:
                if due is None or due > horizon:
                    continue
                d = _Due(
                    order_id=order_id,
                    kind=kind,
                    due_at=due,
                    start=start_at,
                    assignment_id=pk,
                    unit_id=unit_id,
                    top_lead=role == AssignmentRole.LEAD and parent_id is None,
                )
                seen = set(
                    DeadlineWarning.objects.filter(assignment_id=pk, kind=kind, due_at=due).values_list(
                        "level", flat=True
                    )
                )
                levels: list[str] = []
                if now >= due:
                    levels = [WarningLevel.YELLOW, WarningLevel.RED]
                elif now >= yellow_at(start_at, due):
                    levels = [WarningLevel.YELLOW]
                try:
                    for level in levels:
                        if level not in seen:
                            recorded, urged = _record_warning(d, level, now=now)
                            figure.warnings += int(recorded)
                            figure.urged += int(urged)
                    figure.escalated += int(_maybe_escalate(d, now=now))
                except OrderError:
                    figure.skipped += 1
    figure.seconds = time.perf_counter() - start
    return figure


def sweep(name: str, *, now: dt.datetime, limit: int, orders: int) -> SweepFigure:
    from orders.services import deadline_sweep

    start = time.perf_counter()
    result = deadline_sweep(now=now, limit=limit)
    return SweepFigure(
        name,
        time.perf_counter() - start,
        result.warnings,
        result.urged,
        result.escalated,
        len(result.skipped),
        orders,
    )


def rolled_back(fn: Callable[[], SweepFigure]) -> SweepFigure:
    from django.db import transaction

    with transaction.atomic():
        figure = fn()
        transaction.set_rollback(True)
    return figure


def run(
    *, baseline_orders: int, after: dt.timedelta = dt.timedelta(minutes=5), out: Callable[[str], None] = print
) -> dict[str, SweepFigure]:
    from django.db import connection

    from bench.seed_orders import seed_info
    from core.workcalendar import clear_calendar_cache

    info = seed_info()
    if info is None:
        raise SystemExit("bench.bench_sweep: seed the database first (python -m bench.seed_orders)")
    clear_calendar_cache()
    now = info["now"] + after
    ids = open_order_ids()
    candidates = deadlines_within_horizon(now)
    out(
        f"[{connection.vendor}] {len(ids):,} open orders, {candidates:,} deadlines within the horizon; "
        f"sweep at {now:%Y-%m-%d %H:%M} UTC (seeded up to {info['now']:%H:%M})"
    )
    figures: dict[str, SweepFigure] = {}
    sample = ids[:baseline_orders] if baseline_orders else []
    if sample:
        figures["baseline"] = rolled_back(lambda: per_order_loop(sample, now=now))
    figures["task"] = rolled_back(
        lambda: sweep(f"sweep, task default limit={DEFAULT_TASK_LIMIT}", now=now, limit=DEFAULT_TASK_LIMIT, orders=len(ids))
    )  # fmt: skip
    figures["full"] = sweep("sweep over every open order", now=now, limit=candidates + 1, orders=len(ids))
    scale = len(ids) / len(sample) if sample else 0.0
    out(
        f"  {'way':<40} {'orders':>9} {'seconds':>9} {'warnings':>9} {'urged':>6} {'escalated':>9} {'skipped':>8}"
    )
    for f in figures.values():
        out(
            f"  {f.name:<40} {f.orders:>9,} {f.seconds:>9.2f} {f.warnings:>9} {f.urged:>6} {f.escalated:>9} {f.skipped:>8}"
        )
    full = figures["full"]
    if sample:
        base = figures["baseline"]
        projected = base.seconds * scale
        out(
            f"  per-order loop scaled to {len(ids):,} orders: {projected:.1f} s "
            f"({projected / full.seconds:.1f}× the sweep)"
        )
    task = figures["task"]
    if task.warnings < full.warnings:
        out(
            f"  the task's limit={DEFAULT_TASK_LIMIT} sweep recorded {task.warnings} of the {full.warnings} "
            "warnings due: the soonest deadlines (already warned) fill the limit"
        )
    verdict = "met" if full.seconds <= FLOOR_SECONDS else "NOT met"
    out(
        f"  floor ≤ {FLOOR_SECONDS:.0f} s for one sweep: {full.seconds:.1f} s, {verdict}; load average {os.getloadavg()[0]:.1f}"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--baseline-orders", type=int, default=20_000, help="open orders the loop runs over")
    parser.add_argument("--after-minutes", type=float, default=5.0, help="sweep this long after the seed")
    args = parser.parse_args(argv)
    from bench.seed_orders import setup_django

    setup_django()
    logging.getLogger("huey").setLevel(logging.WARNING)
    run(baseline_orders=args.baseline_orders, after=dt.timedelta(minutes=args.after_minutes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
