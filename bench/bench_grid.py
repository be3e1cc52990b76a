"""Point → grid lookups per second: the STRtree ``GridIndex`` against a naive linear scan.

Run: ``.venv/bin/python -m bench.bench_grid`` (options: ``--sizes 6000,60000 --points 20000
--naive-points 200 --seed 1``).

The grids are a synthetic square tiling (about 300 m squares near Beijing) built in memory; no
database is involved. The indexed path is ``orgs.geo.GridIndex.lookup``, the very call
``orgs.grid_services.grid_for_point`` makes after converting the point to WGS-84 (that function
also reads a cheap version from the database and loads the Unit row, which are not timed here).
The naive baseline scans every polygon in code order with shapely ``covers`` and stops at the
first hit, which also implements the lowest-code rule; it runs on a smaller sample of points, and
both methods must agree on every point of that sample (some of which lie on shared edges and
vertices).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Point, Polygon

from orgs.geo import CoordSystem, GridIndex, from_wgs84, to_wgs84

ORIGIN_LON, ORIGIN_LAT = 116.10, 39.70
STEP = 0.003  # ≈ 250 m × 330 m


@dataclass(frozen=True)
class Tiling:
    cols: int
    rows: int
    xs: np.ndarray  # column edges, len cols + 1
    ys: np.ndarray  # row edges, len rows + 1
    items: list[tuple[str, int, Polygon]]  # (code, key, polygon), in a shuffled order

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return float(self.xs[0]), float(self.ys[0]), float(self.xs[-1]), float(self.ys[-1])


def build_tiling(n: int, *, seed: int = 1) -> Tiling:
    """About ``n`` squares (cols × rows, nearly square), sharing exact vertex coordinates."""
    cols = max(1, round((n * 1.5) ** 0.5))
    rows = max(1, -(-n // cols))
    xs = ORIGIN_LON + STEP * np.arange(cols + 1)
    ys = ORIGIN_LAT + STEP * np.arange(rows + 1)
    items: list[tuple[str, int, Polygon]] = []
    key = 0
    for r in range(rows):
        for c in range(cols):
            if key >= n:
                break
            x0, x1, y0, y1 = float(xs[c]), float(xs[c + 1]), float(ys[r]), float(ys[r + 1])
            poly = Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
            items.append((f"G{r:04d}{c:04d}", key, poly))
            key += 1
    random.Random(seed).shuffle(items)  # insertion order must not matter
    return Tiling(cols=cols, rows=rows, xs=xs, ys=ys, items=items)


def sample_points(
    tiling: Tiling, count: int, *, seed: int = 2, edge_share: float = 0.2
) -> list[tuple[float, float]]:
    """Random points over (and a little beyond) the tiling; ``edge_share`` of them exactly on
    grid lines or vertices."""
    rng = random.Random(seed)
    min_x, min_y, max_x, max_y = tiling.bounds
    pad = STEP * 2
    points: list[tuple[float, float]] = []
    for _ in range(count):
        roll = rng.random()
        if roll < edge_share / 2:  # a vertex
            points.append((float(rng.choice(tiling.xs)), float(rng.choice(tiling.ys))))
        elif roll < edge_share:  # on a vertical or horizontal edge
            if rng.random() < 0.5:
                points.append((float(rng.choice(tiling.xs)), rng.uniform(min_y, max_y)))
            else:
                points.append((rng.uniform(min_x, max_x), float(rng.choice(tiling.ys))))
        else:
            points.append((rng.uniform(min_x - pad, max_x + pad), rng.uniform(min_y - pad, max_y + pad)))
    return points


class NaiveScan:
    """The baseline: every polygon in code order, first one that covers the point."""

    def __init__(self, items: Sequence[tuple[str, int, Polygon]]) -> None:
        self._items = sorted(items, key=lambda item: item[0])

    def lookup(self, lon: float, lat: float) -> int | None:
        point = Point(lon, lat)
        for _code, key, poly in self._items:
            if poly.covers(point):
                return key
        return None


@dataclass(frozen=True)
class Result:
    grids: int
    build_s: float
    index_per_s: float
    bulk_per_s: float
    gcj_per_s: float
    naive_per_s: float
    naive_points: int
    agreed: int

    @property
    def ratio(self) -> float:
        return self.index_per_s / self.naive_per_s if self.naive_per_s else float("inf")


def run(n: int, *, points: int, naive_points: int, seed: int = 1) -> Result:
    tiling = build_tiling(n, seed=seed)
    started = time.perf_counter()
    index: GridIndex[int] = GridIndex.from_polygons(tiling.items)
    build_s = time.perf_counter() - started

    pts = sample_points(tiling, points, seed=seed + 1)
    started = time.perf_counter()
    for lon, lat in pts:
        index.lookup(lon, lat)
    index_per_s = len(pts) / (time.perf_counter() - started)

    started = time.perf_counter()
    index.lookup_many(pts)
    bulk_per_s = len(pts) / (time.perf_counter() - started)

    gcj = [from_wgs84(lon, lat, CoordSystem.GCJ02) for lon, lat in pts[: max(1, points // 4)]]
    started = time.perf_counter()
    for lon, lat in gcj:
        index.lookup(*to_wgs84(lon, lat, CoordSystem.GCJ02))
    gcj_per_s = len(gcj) / (time.perf_counter() - started)

    naive = NaiveScan(tiling.items)
    sample = pts[:naive_points]
    started = time.perf_counter()
    naive_answers = [naive.lookup(lon, lat) for lon, lat in sample]
    naive_per_s = len(sample) / (time.perf_counter() - started)
    agreed = sum(
        index.lookup(lon, lat) == want for (lon, lat), want in zip(sample, naive_answers, strict=True)
    )
    return Result(
        grids=len(tiling.items),
        build_s=build_s,
        index_per_s=index_per_s,
        bulk_per_s=bulk_per_s,
        gcj_per_s=gcj_per_s,
        naive_per_s=naive_per_s,
        naive_points=len(sample),
        agreed=agreed,
    )


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description="point → grid benchmark")
    parser.add_argument("--sizes", default="6000,60000", help="grid counts, comma-separated")
    parser.add_argument("--points", type=int, default=20_000, help="points for the indexed lookups")
    parser.add_argument("--naive-points", type=int, default=200, help="points for the naive scan")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    results: list[Result] = []
    print("point → grid lookups per second (one point at a time unless noted)")
    header = (
        f"{'grids':>7}  {'build s':>8}  {'STRtree/s':>10}  {'bulk/s':>10}  {'GCJ-02 in/s':>11}  "
        f"{'naive/s':>9}  {'ratio':>7}  agree"
    )
    print(header)
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        r = run(size, points=args.points, naive_points=args.naive_points, seed=args.seed)
        results.append(r)
        print(
            f"{r.grids:>7}  {r.build_s:>8.3f}  {r.index_per_s:>10,.0f}  {r.bulk_per_s:>10,.0f}  "
            f"{r.gcj_per_s:>11,.0f}  {r.naive_per_s:>9,.1f}  {r.ratio:>6,.0f}×  {r.agreed}/{r.naive_points}"
        )
    print(
        "STRtree/s: GridIndex.lookup (grid_for_point's path, WGS-84 input); bulk/s: lookup_many; "
        "GCJ-02 in/s: conversion + lookup; naive/s: linear scan with shapely covers; "
        "ratio: STRtree/s ÷ naive/s; agree: naive sample points where both give the same grid."
    )
    return results


if __name__ == "__main__":
    main()
