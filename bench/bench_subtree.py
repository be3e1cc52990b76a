"""Benchmark: subtree queries through the closure table vs a naive level-by-level parent walk.

SECURITY.md PERF-4 asks that an org-tree scope query over 100,000 units answers in < 50 ms.

    .venv/bin/python -m bench.bench_subtree [--units 100000] [--repeat 7]

Builds a tree of ``--units`` units (1 city, up to 16 districts, streets, communities, grids) with
``bulk_create`` + ``orgs.services.closure_rows_for`` in a temporary SQLite database — and, when
``DATABASE_URL`` is set, again in a temporary PostgreSQL database beside it (``<name>_bench``) —
plus two "orders-like" rows per grid (``orgs.Address`` rows pointing at a grid). Then it times,
each as the median of ``--repeat`` runs, the closure join beside the naive baseline measured in
the same run:

- all units in the subtree of a district;
- count of orders-like rows whose grid lies in a street's subtree;
- the same count for a district dispatcher's holding scope (``holding_scope_q``: membership →
  closure → rows, one query) vs the naive walk from the dispatcher's units.

The naive baseline walks down one level per query: ``Unit.objects.filter(parent_id__in=frontier)``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 5000


@dataclass(frozen=True)
class Shape:
    districts: int
    streets_per_district: int
    communities_per_street: int
    grids: int  # spread round-robin over the communities

    @property
    def total(self) -> int:
        streets = self.districts * self.streets_per_district
        return 1 + self.districts + streets + streets * self.communities_per_street + self.grids


def shape_for(units: int) -> Shape:
    """A city-like shape of exactly ``units`` units (16 districts × 20 streets × 25 communities at 100k)."""
    scale = (max(units, 60) / 100_000) ** 0.25
    districts = max(2, min(16, round(16 * scale)))
    streets = max(2, round(20 * scale))
    communities = max(2, round(25 * scale))
    above = 1 + districts + districts * streets + districts * streets * communities
    return Shape(districts, streets, communities, max(units - above, districts * streets * communities))


@dataclass
class BenchTree:
    shape: Shape
    city_id: int
    district_ids: list[int]
    street_ids: list[int]
    rows: int


def build_tree(
    units: int, *, rows_per_grid: int = 2, progress: Callable[[str], None] | None = None
) -> BenchTree:
    """Bulk-build the tree, its closure rows and the orders-like rows in the default database."""
    from orgs.choices import UnitKind
    from orgs.models import Address, Unit, UnitClosure
    from orgs.services import closure_rows_for

    say = progress or (lambda _msg: None)
    shape = shape_for(units)
    counter = iter(range(10**9))

    def make(kind: str, parent: Unit | None, name: str) -> Unit:
        n = next(counter)
        return Unit(
            code=f"B{n:07d}",
            name=f"{name}{n}",
            kind=kind,
            parent=parent,
            level=0 if parent is None else parent.level + 1,
        )

    def create(batch: list[Unit]) -> list[Unit]:
        return Unit.objects.bulk_create(batch, batch_size=CHUNK)

    city = create([make(UnitKind.CITY, None, "基准市")])
    districts = create([make(UnitKind.DISTRICT, city[0], "区") for _ in range(shape.districts)])
    streets = create(
        [make(UnitKind.STREET, d, "街道") for d in districts for _ in range(shape.streets_per_district)]
    )
    communities = create(
        [make(UnitKind.COMMUNITY, s, "社区") for s in streets for _ in range(shape.communities_per_street)]
    )
    grids = create(
        [make(UnitKind.GRID, communities[i % len(communities)], "网格") for i in range(shape.grids)]
    )
    every = city + districts + streets + communities + grids
    say(f"units: {len(every)}")
    closure = closure_rows_for(every)
    UnitClosure.objects.bulk_create(closure, batch_size=CHUNK)
    say(f"closure rows: {len(closure)}")
    addresses = [
        Address(text=f"地址{g.pk}-{k}", normalized=f"地址{g.pk}-{k}", grid_id=g.pk)
        for g in grids
        for k in range(rows_per_grid)
    ]
    Address.objects.bulk_create(addresses, batch_size=CHUNK)
    say(f"orders-like rows: {len(addresses)}")
    # Fresh planner statistics, as autovacuum (PostgreSQL) or ``PRAGMA optimize`` (SQLite) keep them.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return BenchTree(
        shape=shape,
        city_id=city[0].pk,
        district_ids=[d.pk for d in districts],
        street_ids=[s.pk for s in streets],
        rows=len(addresses),
    )


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# --- the two methods ----------------------------------------------------------------------------


def subtree_closure(unit_id: int) -> set[int]:
    from orgs.models import Unit
    from orgs.selectors import unit_subtree_ids

    return set(Unit.objects.filter(pk__in=unit_subtree_ids(unit_id)).values_list("pk", flat=True))


def subtree_naive(unit_ids: Iterable[int]) -> set[int]:
    """Walk down one level per query from ``unit_ids`` (the baseline without a closure table)."""
    from orgs.models import Unit

    found = set(unit_ids)
    frontier = list(found)
    while frontier:
        children: list[int] = []
        for chunk in _chunks(frontier):
            children.extend(Unit.objects.filter(parent_id__in=chunk).values_list("pk", flat=True))
        frontier = [c for c in children if c not in found]
        found.update(frontier)
    return found


def rows_in_subtree_closure(unit_id: int) -> int:
    from orgs.models import Address
    from orgs.selectors import unit_subtree_ids

    return Address.objects.filter(grid_id__in=unit_subtree_ids(unit_id)).count()


def rows_in_subtree_naive(unit_id: int) -> int:
    from orgs.models import Address

    ids = sorted(subtree_naive([unit_id]))
    return sum(Address.objects.filter(grid_id__in=chunk).count() for chunk in _chunks(ids))


def rows_in_scope_closure(user: Any) -> int:
    from orgs.models import Address
    from orgs.selectors import holding_scope_q

    return Address.objects.filter(holding_scope_q(user, "grid")).count()


def rows_in_scope_naive(user: Any) -> int:
    from orgs.choices import HOLDING_ROLES
    from orgs.models import Address, Membership

    held = Membership.objects.filter(user=user, role__in=HOLDING_ROLES).values_list("unit_id", flat=True)
    ids = sorted(subtree_naive(list(held)))
    return sum(Address.objects.filter(grid_id__in=chunk).count() for chunk in _chunks(ids))


def median_ms(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    result = fn()  # warm-up (and the answer to compare)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def run(units: int, repeat: int, *, out: Callable[[str], None] = print) -> dict[str, tuple[float, float]]:
    """Build and measure in the default database; returns {case: (closure ms, naive ms)}."""
    from django.db import connection

    from core.models import User
    from orgs.choices import Role
    from orgs.models import Membership

    start = time.perf_counter()
    tree = build_tree(units, progress=lambda msg: out(f"  {msg}"))
    out(f"  built in {time.perf_counter() - start:.1f} s ({tree.shape})")
    district = tree.district_ids[len(tree.district_ids) // 2]
    street = tree.street_ids[len(tree.street_ids) // 2]
    dispatcher = User.objects.create(username="bench_dispatcher")
    Membership.objects.create(user=dispatcher, unit_id=district, role=Role.DISPATCHER)

    cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "units in a district's subtree": (
            lambda: subtree_closure(district),
            lambda: subtree_naive([district]),
        ),
        "rows in a street's subtree (count)": (
            lambda: rows_in_subtree_closure(street),
            lambda: rows_in_subtree_naive(street),
        ),
        "rows in a dispatcher's holding scope": (
            lambda: rows_in_scope_closure(dispatcher),
            lambda: rows_in_scope_naive(dispatcher),
        ),
    }
    results: dict[str, tuple[float, float]] = {}
    out(f"  {'case':<40} {'closure ms':>11} {'naive ms':>10} {'naive/closure':>14}")
    for name, (closure_fn, naive_fn) in cases.items():
        closure_ms, closure_answer = median_ms(closure_fn, repeat)
        naive_ms, naive_answer = median_ms(naive_fn, repeat)
        if closure_answer != naive_answer:
            raise AssertionError(f"{name}: closure and naive answers differ")
        size = len(closure_answer) if isinstance(closure_answer, set) else closure_answer
        ratio = naive_ms / closure_ms if closure_ms else float("inf")
        out(f"  {name:<40} {closure_ms:>11.2f} {naive_ms:>10.2f} {ratio:>13.1f}x   (answer size {size})")
        results[name] = (closure_ms, naive_ms)
    out(f"  database: {connection.vendor}; PERF-4 budget 50 ms")
    return results


def _run_here(units: int, repeat: int) -> None:
    """Set up Django on a temporary database (SQLite file, or ``<name>_bench`` on PostgreSQL)."""
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
            print(f"[{connection.vendor}] {units} units, median of {repeat}")
            run(units, repeat)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--target",
        choices=["all", "sqlite", "postgres"],
        default="all",
        help="all = SQLite, and PostgreSQL too when DATABASE_URL is set (each in its own process)",
    )
    args = parser.parse_args(argv)
    if args.target != "all":
        _run_here(args.units, args.repeat)
        return 0
    base = [
        sys.executable,
        "-m",
        "bench.bench_subtree",
        "--units",
        str(args.units),
        "--repeat",
        str(args.repeat),
    ]
    sqlite_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    status = subprocess.call([*base, "--target", "sqlite"], env=sqlite_env)  # noqa: S603
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        status |= subprocess.call([*base, "--target", "postgres"])  # noqa: S603
    return status


if __name__ == "__main__":
    raise SystemExit(main())
