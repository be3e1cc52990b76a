from __future__ import annotations

import random

import pytest
import shapely
from shapely.geometry import Polygon

from demo.geometry import CellRect, apportion, partition, plan_city, planned_counts, point_in_cell


def _polygons(plan):
    return [Polygon(g.ring) for g in plan.grids()]


def test_planned_counts_keep_six_districts_and_scale_the_rest_linearly():
    one = planned_counts(1)
    two = planned_counts(2)
    assert (one.districts, one.streets, one.communities) == (6, 60, 600)
    assert 5900 <= one.grids <= 6100
    assert (two.districts, two.streets, two.communities) == (6, 120, 1200)
    assert 11800 <= two.grids <= 12200


def test_planned_counts_give_every_parent_a_child_at_tiny_scales():
    tiny = planned_counts(0.01)
    assert tiny.districts == 6
    assert tiny.streets >= tiny.districts
    assert tiny.communities >= tiny.streets
    assert tiny.grids >= tiny.communities


@pytest.mark.parametrize("scale", [0, -1, 51])
def test_planned_counts_refuse_a_scale_out_of_range(scale):
    with pytest.raises(ValueError, match="scale"):
        planned_counts(scale)


def test_plan_is_the_same_for_the_same_seed_and_differs_for_another():
    a = plan_city(scale=0.05, seed=7)
    b = plan_city(scale=0.05, seed=7)
    c = plan_city(scale=0.05, seed=8)
    assert [g.ring for g in a.grids()] == [g.ring for g in b.grids()]
    assert [g.ring for g in a.grids()] != [g.ring for g in c.grids()]


def test_plan_matches_the_planned_counts():
    plan = plan_city(scale=0.05, seed=1)
    counts = planned_counts(0.05)
    assert len(plan.districts) == 6
    assert len(plan.streets()) == counts.streets
    assert len(plan.communities()) == counts.communities
    assert len(plan.grids()) == counts.grids == plan.cols * plan.rows


def test_small_plan_grids_are_valid_and_tile_the_outline_without_gaps_or_overlaps():
    plan = plan_city(scale=0.05, seed=3)
    polys = _polygons(plan)
    assert all(p.is_valid and p.area > 0 for p in polys)
    union = shapely.union_all(polys)
    outline = Polygon(plan.outline())
    assert outline.is_valid
    assert union.geom_type == "Polygon"
    assert abs(union.area - outline.area) <= 1e-9 * outline.area
    assert union.symmetric_difference(outline).area <= 1e-9 * outline.area
    assert abs(sum(p.area for p in polys) - union.area) <= 1e-9 * union.area


def test_every_level_is_a_connected_union_of_its_children():
    plan = plan_city(scale=0.05, seed=5)
    for street in plan.streets():
        parts = [Polygon(g.ring) for c in street.communities for g in c.grids]
        union = shapely.union_all(parts)
        assert isinstance(union, Polygon)
        assert len(union.interiors) == 0
        assert street.rect.cells == len(parts)


def test_grid_rings_are_closed_and_counter_clockwise():
    plan = plan_city(scale=0.05, seed=2)
    for grid in plan.grids():
        assert grid.ring[0] == grid.ring[-1]
        assert Polygon(grid.ring).exterior.is_ccw


def test_points_in_cells_fall_inside_the_cell():
    plan = plan_city(scale=0.05, seed=2)
    rng = random.Random(1)
    for grid in plan.grids()[:100]:
        lon, lat = point_in_cell(grid.ring, rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8))
        assert Polygon(grid.ring).contains(shapely.Point(lon, lat))


def test_partition_covers_the_rectangle_exactly():
    rect = CellRect(0, 7, 0, 5)
    parts = partition(rect, 6, random.Random(0))
    assert len(parts) == 6
    cells = [(c, r) for p in parts for c in range(p.c0, p.c1) for r in range(p.r0, p.r1)]
    assert sorted(cells) == [(c, r) for c in range(7) for r in range(5)]


def test_partition_refuses_more_parts_than_cells():
    with pytest.raises(ValueError, match="cannot cut"):
        partition(CellRect(0, 2, 0, 2), 5, random.Random(0))


def test_partition_into_as_many_parts_as_cells_gives_single_cells():
    parts = partition(CellRect(0, 3, 0, 3), 9, random.Random(0))
    assert all(p.cells == 1 for p in parts)


def test_apportion_gives_each_part_at_least_one_and_at_most_its_weight():
    alloc = apportion(10, [1, 50, 20, 29])
    assert sum(alloc) == 10
    assert alloc[0] == 1
    assert all(1 <= a <= w for a, w in zip(alloc, [1, 50, 20, 29], strict=True))


def test_apportion_refuses_an_impossible_total():
    with pytest.raises(ValueError, match="cannot apportion"):
        apportion(2, [1, 1, 1])
    with pytest.raises(ValueError, match="cannot apportion"):
        apportion(4, [1, 1, 1])
