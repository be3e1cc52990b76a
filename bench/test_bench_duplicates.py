"""Smoke test of the duplicate-lookup benchmark: the index and the brute-force scan agree."""

from __future__ import annotations

from bench.bench_duplicates import main, neighbours


def test_a_grid_has_up_to_eight_neighbours():
    assert neighbours(0, 3) == frozenset({1, 3, 4})
    assert neighbours(4, 3) == frozenset({0, 1, 2, 3, 5, 6, 7, 8})


def test_the_benchmark_runs_and_both_methods_give_the_same_candidates(capsys):
    result = main(["--open", "600", "--queries", "40", "--brute-queries", "10", "--seed", "2"])
    assert result.open_reports == 600
    assert result.queries == 40
    assert result.agreed == result.brute_queries == 10
    assert result.p50_ms > 0 and result.brute_p50_ms > 0
    out = capsys.readouterr().out
    assert "brute force" in out
    assert "p99 ratio" in out
