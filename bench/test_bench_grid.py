"""Smoke test of the point → grid benchmark: both methods agree on every point."""

from __future__ import annotations

from bench.bench_grid import NaiveScan, build_tiling, main, sample_points
from orgs.geo import GridIndex


def test_index_and_naive_scan_agree_on_every_point_including_edges_and_vertices():
    tiling = build_tiling(100, seed=3)
    assert len(tiling.items) == 100
    index: GridIndex[int] = GridIndex.from_polygons(tiling.items)
    naive = NaiveScan(tiling.items)
    points = sample_points(tiling, 400, seed=4, edge_share=0.5)
    # every vertex of the tiling as well
    points += [(float(x), float(y)) for x in tiling.xs for y in tiling.ys]
    answers = [naive.lookup(lon, lat) for lon, lat in points]
    assert [index.lookup(lon, lat) for lon, lat in points] == answers
    assert index.lookup_many(points) == answers
    assert any(a is None for a in answers)  # some points fall outside
    assert len({a for a in answers if a is not None}) > 50


def test_the_lowest_code_rule_holds_on_a_shared_vertex():
    tiling = build_tiling(100, seed=5)
    index: GridIndex[int] = GridIndex.from_polygons(tiling.items)
    codes = {key: code for code, key, _poly in tiling.items}
    x, y = float(tiling.xs[1]), float(tiling.ys[1])  # shared by G0000000{0,1}, G0001000{0,1}
    key = index.lookup(x, y)
    assert key is not None
    assert codes[key] == "G00000000"


def test_the_benchmark_runs_and_reports_full_agreement(capsys):
    results = main(["--sizes", "100,400", "--points", "300", "--naive-points", "100"])
    assert [r.grids for r in results] == [100, 400]
    assert all(r.agreed == r.naive_points == 100 for r in results)
    assert all(r.index_per_s > 0 and r.naive_per_s > 0 for r in results)
    out = capsys.readouterr().out
    assert "STRtree/s" in out
    assert "naive/s" in out
