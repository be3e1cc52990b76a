"""Duplicate lookup among open reports: the place/time index against a brute-force scan.

Run: ``.venv/bin/python -m bench.bench_duplicates`` (options: ``--open 200000 --queries 1000
--brute-queries 20 --seed 0``). Floor (issue 6): lookup among 200,000 open orders p99 ≤ 50 ms.

The open reports are synthetic, built in memory: orders of ``bench.bench_classify``'s generator
(the demo catalog's items, made-up addresses, typos) spread over a square tiling of grids (each
grid's neighbours are the 8 around it), over the last 60 days. Each query is a new report; half
of them restate an open report in other words (the same item, the same or a neighbouring grid, a
few days later), so some lookups have a duplicate to find. No database is involved; the index
is ``insight.duplicates.DuplicateIndex``, the one the orders integration holds.

Baseline: the same scoring over every open report with no index (one sparse product over all
200,000 rows, then the place and time gates), timed on a sample of the queries. Both must give
the same candidates for every query of that sample.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minhu.settings_test")


def _setup() -> None:
    import django

    django.setup()  # orgs.addresses (text normalisation) reads settings


@dataclass(frozen=True)
class Result:
    open_reports: int
    grids: int
    build_s: float
    p50_ms: float
    p99_ms: float
    found: int
    queries: int
    brute_p50_ms: float
    brute_p99_ms: float
    brute_queries: int
    agreed: int

    @property
    def p99_ratio(self) -> float:
        return self.brute_p99_ms / self.p99_ms if self.p99_ms else float("inf")


def neighbours(grid: int, side: int) -> frozenset[int]:
    row, col = divmod(grid, side)
    out = set()
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            r, c = row + dr, col + dc
            if (dr or dc) and 0 <= r < side and 0 <= c < side:
                out.add(r * side + c)
    return frozenset(out)


def run(*, open_reports: int, queries: int, brute_queries: int, seed: int = 0) -> Result:
    _setup()
    from bench.bench_classify import load_items, make_order
    from insight.duplicates import DuplicateIndex, Report

    rng = random.Random(seed)
    items = load_items()
    by_code = {it.code: it for it in items}
    side = max(1, round((open_reports / 20) ** 0.5))  # about 20 open reports per grid
    grids = side * side
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)

    def report(i: int, item_code: str, grid: int, at: datetime) -> Report:
        doc, _label = make_order(by_code[item_code], by_code, rng)
        return Report(
            id=i,
            text=doc.text,
            at=at,
            grid_id=grid,
            neighbour_grid_ids=neighbours(grid, side),
            item_id=item_code,
        )

    stored = [
        report(
            i,
            rng.choice(items).code,
            rng.randrange(grids),
            now - timedelta(minutes=rng.randrange(60 * 24 * 60)),
        )
        for i in range(open_reports)
    ]
    index = DuplicateIndex()
    started = time.perf_counter()
    index.add_many(stored)
    build_s = time.perf_counter() - started
    # A serving process builds the index once and then mostly reads it: moving what exists now
    # out of the cyclic collector's reach keeps its full sweeps (which would walk every stored
    # report) out of the lookups' tail. ``insight.duplicates`` documents the same step.
    gc.collect()
    gc.freeze()

    asks: list[Report] = []
    for q in range(queries):
        if q % 2 == 0:  # restate an open report nearby, a few days later
            base = stored[rng.randrange(open_reports)]
            assert base.grid_id is not None
            grid = rng.choice([base.grid_id, *sorted(neighbours(base.grid_id, side))])
            at = base.at + timedelta(hours=rng.uniform(1, 96))
            asks.append(report(open_reports + q, str(base.item_id), grid, at))
        else:
            asks.append(report(open_reports + q, rng.choice(items).code, rng.randrange(grids), now))

    index.candidates(asks[0])  # warm-up
    times: list[float] = []
    found = 0
    for ask in asks:
        t0 = time.perf_counter()
        hits = index.candidates(ask)
        times.append(time.perf_counter() - t0)
        found += bool(hits)

    brute_times: list[float] = []
    agreed = 0
    sample = asks[: max(0, brute_queries)]
    for ask in sample:
        t0 = time.perf_counter()
        brute = index.brute_force_candidates(ask)
        brute_times.append(time.perf_counter() - t0)
        fast = index.candidates(ask)
        agreed += [c.report.id for c in brute] == [c.report.id for c in fast]
    gc.unfreeze()

    def pct(values: list[float], q: float) -> float:
        return float(np.percentile(np.asarray(values) * 1000.0, q)) if values else float("nan")

    return Result(
        open_reports=open_reports,
        grids=grids,
        build_s=build_s,
        p50_ms=pct(times, 50),
        p99_ms=pct(times, 99),
        found=found,
        queries=len(asks),
        brute_p50_ms=pct(brute_times, 50),
        brute_p99_ms=pct(brute_times, 99),
        brute_queries=len(sample),
        agreed=agreed,
    )


def main(argv: Sequence[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description="duplicate lookup benchmark")
    parser.add_argument("--open", type=int, default=200_000, help="open reports in the index")
    parser.add_argument("--queries", type=int, default=1_000, help="lookups through the index")
    parser.add_argument("--brute-queries", type=int, default=20, help="lookups by brute-force scan")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    r = run(open_reports=args.open, queries=args.queries, brute_queries=args.brute_queries, seed=args.seed)
    print(
        f"duplicate lookup among {r.open_reports:,} open reports in {r.grids:,} grids; index built in {r.build_s:.1f} s"
    )
    print(f"{'':>12}  {'p50 ms':>8}  {'p99 ms':>8}  lookups")
    print(
        f"{'index':>12}  {r.p50_ms:>8.2f}  {r.p99_ms:>8.2f}  {r.queries} ({r.found} found a likely duplicate)"
    )
    print(f"{'brute force':>12}  {r.brute_p50_ms:>8.2f}  {r.brute_p99_ms:>8.2f}  {r.brute_queries}")
    print(
        f"p99 ratio brute force ÷ index: {r.p99_ratio:,.0f}× (floor: index p99 ≤ 50 ms); "
        f"same candidates on {r.agreed}/{r.brute_queries} sampled lookups"
    )
    return r


if __name__ == "__main__":
    main()
