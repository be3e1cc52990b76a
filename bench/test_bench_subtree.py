"""Smoke run of the subtree benchmark at a tiny size: both methods give the same answers."""

from __future__ import annotations

import pytest

from bench.bench_subtree import (
    build_tree,
    rows_in_subtree_closure,
    rows_in_subtree_naive,
    run,
    shape_for,
    subtree_closure,
    subtree_naive,
)
from orgs.models import Unit, UnitClosure

pytestmark = pytest.mark.django_db


def test_the_shape_has_exactly_the_requested_size_and_city_proportions():
    assert shape_for(500).total == 500
    big = shape_for(100_000)
    assert big.total == 100_000
    assert (big.districts, big.streets_per_district, big.communities_per_street) == (16, 20, 25)


def test_closure_and_naive_walk_find_the_same_subtrees_on_a_small_tree():
    tree = build_tree(500)
    assert Unit.objects.count() == 500
    assert UnitClosure.objects.count() == sum(u.level + 1 for u in Unit.objects.all())
    for unit_id in [tree.city_id, *tree.district_ids, *tree.street_ids[:10]]:
        assert subtree_closure(unit_id) == subtree_naive([unit_id])
    for street_id in tree.street_ids[:10]:
        assert rows_in_subtree_closure(street_id) == rows_in_subtree_naive(street_id) > 0


def test_the_run_reports_every_case():
    lines: list[str] = []
    results = run(300, repeat=1, out=lines.append)
    assert len(results) == 3
    assert any("naive/closure" in line for line in lines)
