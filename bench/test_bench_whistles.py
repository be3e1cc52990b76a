"""Smoke run of the whistle benchmark at a tiny size: selectors and baselines agree, the sweep
records each due warning once."""

from __future__ import annotations

import pytest

from bench.bench_whistles import run

pytestmark = pytest.mark.django_db


def test_the_run_reports_every_case():
    lines: list[str] = []
    results = run(60, repeat=1, due=9, out=lines.append)

    assert set(results) == {
        "board of a street secretary",
        "inbox of a department handler",
        "rating summary, all departments",
        "sweep",
        "sweep idle",
        "delivery",
    }
    assert any("measured/baseline" in line for line in lines)
    assert any("9 red warnings" in line for line in lines)
