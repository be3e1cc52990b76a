"""Benchmark: the whistle board, the summons inbox, the rating summary and the warning sweep.

    .venv/bin/python -m bench.bench_whistles [--whistles 20000] [--repeat 7] [--target all]

Builds, in a temporary SQLite database (and a ``<name>_bench`` PostgreSQL database when
``DATABASE_URL`` is set), a district of ``--streets`` streets with 12 city departments and
``--whistles`` whistles spread over the streets (three summonses each, a timeline event each; 80 %
closed and rated, the rest open with a mix of reported and late departments). Then it times, each
as the median of ``--repeat`` runs and beside a baseline measured in the same run:

- the board of one street's secretary (``whistle_board``: scope through memberships and the
  closure table, 2 queries) vs the same rows fetched by plain filters on the known street id;
- the inbox of one department's handler (``summons_inbox``) vs plain filters on the known unit;
- the month's rating summary of every department (``department_rating_summary``: one grouped
  query) vs reading every rating row and averaging in Python;
- the sweep (``whistle_sweep``) recording ``--due`` red warnings (a warning, a timeline event and
  outbox rows each, one transaction per warning), then running again with nothing left to do, vs
  a plain ``bulk_create`` of the same number of warning-shaped rows (a lower bound).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 2000
DEPARTMENTS = 12


@dataclass
class Seed:
    street_ids: list[int]
    department_ids: list[int]
    secretary: Any
    dept_handler: Any
    start: datetime
    now: datetime
    whistles: int
    open_whistles: int


def _bulk(model: Any, rows: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i in range(0, len(rows), CHUNK):
        out.extend(model.objects.bulk_create(rows[i : i + CHUNK]))
    return out


def seed(whistles: int, *, streets: int = 20, progress: Callable[[str], None] | None = None) -> Seed:
    """Bulk-build the units, people and whistles in the default database."""
    from core.models import User
    from core.workcalendar import SHANGHAI
    from orgs.choices import Role, UnitKind
    from orgs.models import Membership
    from orgs.services import unit_create
    from whistles.choices import EventType, SummonsStatus, WhistleStatus, WhistleType
    from whistles.models import DepartmentRating, Summons, Whistle, WhistleEvent

    say = progress or (lambda _msg: None)
    city = unit_create(actor=None, code="B0", name="基准市", kind=UnitKind.CITY, parent=None)
    district = unit_create(actor=None, code="B1", name="基准区", kind=UnitKind.DISTRICT, parent=city)
    street_units = [
        unit_create(actor=None, code=f"B1{n:03d}", name=f"街道{n}", kind=UnitKind.STREET, parent=district)
        for n in range(streets)
    ]
    departments = [
        unit_create(actor=None, code=f"BD{n:02d}", name=f"部门{n}", kind=UnitKind.DEPARTMENT, parent=city)
        for n in range(DEPARTMENTS)
    ]
    secretary = User.objects.create(username="bench_secretary")
    Membership.objects.create(user=secretary, unit=street_units[0], role=Role.SECRETARY)
    dept_handler = User.objects.create(username="bench_dept_handler")
    Membership.objects.create(user=dept_handler, unit=departments[0], role=Role.HANDLER)

    start = datetime(2025, 3, 1, 8, 0, tzinfo=SHANGHAI)
    now = start + timedelta(days=30)
    types = [WhistleType.SHORT, WhistleType.SHORT, WhistleType.URGENT, WhistleType.LONG]
    rows: list[Any] = []
    open_count = 0
    for n in range(whistles):
        blown = start + timedelta(minutes=n * (30 * 24 * 60 // max(whistles, 1)))
        is_open = n % 5 == 0
        open_count += is_open
        kind = types[n % len(types)]
        rows.append(
            Whistle(
                type=kind,
                status=WhistleStatus.OPEN if is_open else WhistleStatus.CLOSED,
                unit_id=street_units[n % streets].pk,
                blown_by=secretary,
                title=f"基准吹哨{n}",
                description="基准数据",
                address="基准路1号",
                meeting_at=blown + timedelta(days=1) if kind == WhistleType.LONG else None,
                meeting_place="会议室" if kind == WhistleType.LONG else "",
                blown_at=blown,
                closed_at=None if is_open else blown + timedelta(hours=6),
                closed_by=None if is_open else secretary,
                result="" if is_open else "已处置",
                last_seq=1,
            )
        )
    created = _bulk(Whistle, rows)
    say(f"{len(created)} whistles")
    summonses = []
    for n, w in enumerate(created):
        for k in range(3):
            dept = departments[(n + k) % DEPARTMENTS]
            reported = (n + k) % 3 != 0
            if w.status == WhistleStatus.OPEN:
                status = SummonsStatus.CHECKED_IN if reported else SummonsStatus.SUMMONED
            else:
                status = SummonsStatus.CHECKED_IN if reported else SummonsStatus.NOT_REPORTED
            ack_by = w.blown_at + timedelta(hours=1)
            arrive_by = w.meeting_at or w.blown_at + timedelta(hours=4)
            if status == SummonsStatus.SUMMONED:  # still running at ``now``: nothing for the sweep yet
                ack_by, arrive_by = now + timedelta(hours=1), now + timedelta(hours=4)
            summonses.append(
                Summons(
                    whistle=w,
                    unit=dept,
                    status=status,
                    acknowledge_by=ack_by,
                    arrive_by=arrive_by,
                    acknowledge_warn_at=ack_by - timedelta(minutes=15),
                    arrive_warn_at=arrive_by - timedelta(hours=1),
                    acknowledged_at=w.blown_at + timedelta(minutes=20) if reported else None,
                    checked_in_at=w.blown_at + timedelta(hours=2) if reported else None,
                    at_meeting=reported,
                    attendees=["甲", "乙"] if reported else [],
                )
            )
    summonses = _bulk(Summons, summonses)
    say(f"{len(summonses)} summonses")
    _bulk(
        WhistleEvent,
        [
            WhistleEvent(whistle=w, seq=1, type=EventType.BLOWN, actor=secretary, occurred_at=w.blown_at)
            for w in created
        ],
    )
    ratings = [
        DepartmentRating(
            summons=s,
            whistle_id=s.whistle_id,
            unit_id=s.unit_id,
            rater_unit_id=street_units[0].pk,
            rated_by=secretary,
            timeliness=5 if s.status == SummonsStatus.CHECKED_IN else 1,
            effectiveness=4 if s.status == SummonsStatus.CHECKED_IN else 1,
            attitude=4,
            reported=s.status == SummonsStatus.CHECKED_IN,
            rated_at=s.acknowledge_by + timedelta(hours=5),
        )
        for s in summonses
        if s.status != SummonsStatus.SUMMONED
    ]
    _bulk(DepartmentRating, ratings)
    say(f"{len(ratings)} ratings")
    return Seed(
        street_ids=[u.pk for u in street_units],
        department_ids=[u.pk for u in departments],
        secretary=secretary,
        dept_handler=dept_handler,
        start=start,
        now=now,
        whistles=whistles,
        open_whistles=open_count,
    )


# --- the measured reads, with their baselines ---------------------------------------------------------


def board_selector(s: Seed) -> list[tuple[int, int]]:
    from whistles.selectors import whistle_board

    rows = whistle_board(s.secretary, now=s.now, limit=200)
    return [(r.whistle.pk, len(r.summonses)) for r in rows]


def board_baseline(s: Seed) -> list[tuple[int, int]]:
    from whistles.choices import WhistleStatus
    from whistles.models import Summons, Whistle

    whistles = list(
        Whistle.objects.filter(unit_id=s.street_ids[0], status=WhistleStatus.OPEN)
        .select_related("unit", "blown_by")
        .order_by("-blown_at", "-pk")[:200]
    )
    counts: dict[int, int] = {}
    for row in Summons.objects.filter(whistle_id__in=[w.pk for w in whistles]).select_related("unit"):
        counts[row.whistle_id] = counts.get(row.whistle_id, 0) + 1
    return [(w.pk, counts.get(w.pk, 0)) for w in whistles]


def inbox_selector(s: Seed) -> list[int]:
    from whistles.selectors import summons_inbox

    return sorted(i.summons.pk for i in summons_inbox(s.dept_handler, now=s.now, limit=200))


def inbox_baseline(s: Seed) -> list[int]:
    from whistles.choices import WhistleStatus
    from whistles.models import Summons, WhistleTask

    rows = list(
        Summons.objects.filter(unit_id=s.department_ids[0], whistle__status=WhistleStatus.OPEN)
        .select_related("whistle", "whistle__unit", "unit")
        .order_by("-whistle__blown_at", "pk")[:200]
    )
    list(WhistleTask.objects.filter(summons_id__in=[r.pk for r in rows]))
    return sorted(r.pk for r in rows)


def summary_selector(s: Seed) -> dict[int, tuple[int, float]]:
    from whistles.selectors import department_rating_summary

    summary = department_rating_summary(start=s.start, end=s.now + timedelta(days=2))
    return {k: (v.count, round(v.average, 6)) for k, v in summary.items()}


def summary_baseline(s: Seed) -> dict[int, tuple[int, float]]:
    from whistles.models import DepartmentRating

    sums: dict[int, list[int]] = {}
    for unit_id, t, e, a in DepartmentRating.objects.filter(
        rated_at__gte=s.start, rated_at__lt=s.now + timedelta(days=2)
    ).values_list("unit_id", "timeliness", "effectiveness", "attitude"):
        acc = sums.setdefault(unit_id, [0, 0])
        acc[0] += 1
        acc[1] += t + e + a
    return {k: (n, round(total / n / 3, 6)) for k, (n, total) in sums.items()}


def median_ms(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    times = []
    results: list[T] = []
    for _ in range(max(repeat, 1)):
        t0 = time.perf_counter()
        results.append(fn())
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), results[-1]


# --- the sweep ------------------------------------------------------------------------------------------


def make_due(s: Seed, due: int) -> list[int]:
    """Open whistles whose departments all missed their acknowledgement: ``due`` red warnings."""
    from whistles.choices import EventType, SummonsStatus, WhistleStatus, WhistleType
    from whistles.models import Summons, Whistle, WhistleEvent

    blown = s.now - timedelta(hours=2)
    whistles = _bulk(
        Whistle,
        [
            Whistle(
                type=WhistleType.URGENT,
                status=WhistleStatus.OPEN,
                unit_id=s.street_ids[1],
                blown_by=s.secretary,
                title=f"待预警{n}",
                description="基准数据",
                address="基准路2号",
                blown_at=blown,
                last_seq=1,
            )
            for n in range((due + 2) // 3)
        ],
    )
    _bulk(
        WhistleEvent,
        [WhistleEvent(whistle=w, seq=1, type=EventType.BLOWN, occurred_at=blown) for w in whistles],
    )
    rows: list[Any] = []
    for n, w in enumerate(whistles):
        for k in range(3):
            if len(rows) == due:
                break
            rows.append(
                Summons(
                    whistle=w,
                    unit_id=s.department_ids[(n + k) % DEPARTMENTS],
                    status=SummonsStatus.SUMMONED,
                    acknowledge_by=blown + timedelta(minutes=30),
                    arrive_by=s.now + timedelta(hours=1),  # arrival not yet due: one warning each
                    acknowledge_warn_at=blown + timedelta(minutes=20),
                    arrive_warn_at=s.now + timedelta(minutes=30),
                )
            )
    return [r.pk for r in _bulk(Summons, rows)]


def sweep_baseline(s: Seed, summons_ids: list[int]) -> None:
    """The lower bound: the same number of warning-shaped rows in one bulk insert (rolled back)."""
    from django.db import transaction

    from whistles.choices import DeadlineKind, EventType, WarningLevel
    from whistles.models import Summons, WhistleEvent, WhistleWarning

    class RollbackError(Exception):
        pass

    try:
        with transaction.atomic():
            summonses = list(
                Summons.objects.filter(pk__in=summons_ids).only("pk", "whistle_id", "acknowledge_by")
            )
            events = _bulk(
                WhistleEvent,
                [
                    WhistleEvent(
                        whistle_id=x.whistle_id,
                        seq=1000 + i,
                        type=EventType.DEADLINE_WARNING,
                        occurred_at=s.now,
                    )
                    for i, x in enumerate(summonses)
                ],
            )
            _bulk(
                WhistleWarning,
                [
                    WhistleWarning(
                        whistle_id=x.whistle_id,
                        summons_id=x.pk,
                        kind=DeadlineKind.ACKNOWLEDGE,
                        level=WarningLevel.RED,
                        due_at=x.acknowledge_by,
                        recorded_at=s.now,
                        event=e,
                    )
                    for x, e in zip(summonses, events, strict=True)
                ],
            )
            raise RollbackError
    except RollbackError:
        pass


def run(
    whistles: int, repeat: int, *, due: int = 1000, out: Callable[[str], None] = print
) -> dict[str, tuple[float, float]]:
    """Seed and measure in the default database; returns {case: (measured ms, baseline ms)}."""
    from django.db import connection

    from whistles import services as wsvc
    from whistles.models import WhistleNotification, WhistleWarning
    from whistles.notifications import deliver_pending

    t0 = time.perf_counter()
    s = seed(whistles, progress=lambda msg: out(f"  {msg}"))
    out(f"  seeded in {time.perf_counter() - t0:.1f} s ({s.open_whistles} open)")
    cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "board of a street secretary": (lambda: board_selector(s), lambda: board_baseline(s)),
        "inbox of a department handler": (lambda: inbox_selector(s), lambda: inbox_baseline(s)),
        "rating summary, all departments": (lambda: summary_selector(s), lambda: summary_baseline(s)),
    }
    results: dict[str, tuple[float, float]] = {}
    out(f"  {'case':<36} {'measured ms':>12} {'baseline ms':>12} {'measured/baseline':>18}")
    for name, (fn, base) in cases.items():
        ms, answer = median_ms(fn, repeat)
        base_ms, base_answer = median_ms(base, repeat)
        if answer != base_answer:
            raise AssertionError(f"{name}: the selector and the baseline disagree")
        size = len(answer) if isinstance(answer, list | dict) else answer
        out(
            f"  {name:<36} {ms:>12.2f} {base_ms:>12.2f} {ms / base_ms if base_ms else 0:>17.2f}x   (rows {size})"
        )
        results[name] = (ms, base_ms)

    ids = make_due(s, due)
    base_ms, _ = median_ms(lambda: sweep_baseline(s, ids), 1)
    # The sweep as deployed: delivery is a separate task on a worker, so it is measured apart.
    scheduled: list[int] = []
    original = wsvc._deliver_after_commit
    wsvc._deliver_after_commit = lambda events: scheduled.extend(e.pk for e in events)
    try:
        t1 = time.perf_counter()
        first = wsvc.whistle_sweep(now=s.now, limit=due + 10)
        sweep_ms = (time.perf_counter() - t1) * 1000
        t2 = time.perf_counter()
        second = wsvc.whistle_sweep(now=s.now, limit=due + 10)
        idle_ms = (time.perf_counter() - t2) * 1000
    finally:
        wsvc._deliver_after_commit = original
    recorded = WhistleWarning.objects.count()
    if first.warnings != due or second.warnings != 0 or recorded != due or len(scheduled) != due:
        raise AssertionError(
            f"sweep recorded {first.warnings}, then {second.warnings} (rows {recorded}); expected {due}, 0"
        )
    rows = WhistleNotification.objects.filter(delivered_at__isnull=True).count()
    t3 = time.perf_counter()
    delivered = deliver_pending(now=s.now, limit=rows + 10)
    deliver_ms = (time.perf_counter() - t3) * 1000
    if delivered != rows:
        raise AssertionError(f"delivered {delivered} of {rows} outbox rows")
    out(
        f"  {'sweep: ' + str(due) + ' red warnings':<36} {sweep_ms:>12.2f} {base_ms:>12.2f} "
        f"{sweep_ms / base_ms if base_ms else 0:>17.2f}x   ({sweep_ms / due:.2f} ms per warning)"
    )
    out(f"  {'sweep again, nothing due':<36} {idle_ms:>12.2f}")
    out(
        f"  {'delivery of the outbox rows':<36} {deliver_ms:>12.2f}   ({rows} rows, {deliver_ms / max(rows, 1):.2f} ms per row)"
    )
    results["sweep"] = (sweep_ms, base_ms)
    results["sweep idle"] = (idle_ms, 0.0)
    results["delivery"] = (deliver_ms, 0.0)
    out(f"  database: {connection.vendor}")
    return results


def _run_here(whistles: int, repeat: int, due: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minhu.settings_test")
    os.environ.setdefault("MINHU_ALLOW_DEV_KEY", "1")
    import django

    django.setup()
    from django.db import connection

    with tempfile.TemporaryDirectory(prefix="minhu-bench-") as tmp:
        test_settings = connection.settings_dict.setdefault("TEST", {})
        if connection.vendor == "sqlite":
            test_settings["NAME"] = str(Path(tmp) / "bench.sqlite3")
        else:
            test_settings["NAME"] = f"{connection.settings_dict['NAME']}_bench"
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        try:
            print(f"[{connection.vendor}] {whistles} whistles, median of {repeat}")
            run(whistles, repeat, due=due)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--whistles", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--target", choices=["all", "sqlite", "postgres"], default="all")
    args = parser.parse_args(argv)
    if args.target != "all":
        _run_here(args.whistles, args.repeat, args.due)
        return 0
    base = [sys.executable, "-m", "bench.bench_whistles", "--whistles", str(args.whistles)]
    base += ["--repeat", str(args.repeat), "--due", str(args.due)]
    sqlite_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    status = subprocess.call([*base, "--target", "sqlite"], env=sqlite_env)  # noqa: S603
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        status |= subprocess.call([*base, "--target", "postgres"])  # noqa: S603
    return status


if __name__ == "__main__":
    raise SystemExit(main())
