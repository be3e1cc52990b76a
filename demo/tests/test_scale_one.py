"""The full-size demo city (scale 1): counts and an exact tiling. Heavy, so it runs once."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from demo.geometry import plan_city
from demo.services import DEFAULT_SEED, demo_city_seed
from orgs.choices import UnitKind
from orgs.models import Unit

pytestmark = [pytest.mark.django_db, pytest.mark.once]


def _polygon(boundary):
    """A stored GeoJSON Polygon as shapely (exterior ring only: the demo grids have no holes)."""
    return Polygon(boundary["coordinates"][0])


def test_scale_one_city_has_the_issue_counts_and_its_grids_tile_it_exactly():
    counts = demo_city_seed(scale=1, seed=DEFAULT_SEED)
    assert counts["districts"] == 6
    assert counts["streets"] == 60
    assert counts["communities"] == 600
    assert 5900 <= counts["grids"] <= 6100
    assert counts["catalog_categories"] == 11
    assert counts["catalog_subcategories"] == 114
    assert counts["catalog_items"] == 235

    grids = list(Unit.objects.filter(kind=UnitKind.GRID).values_list("pk", "parent_id", "boundary"))
    assert len(grids) == counts["grids"]
    assert all(boundary is not None for _pk, _parent, boundary in grids)
    polygons = [_polygon(boundary) for _pk, _parent, boundary in grids]
    assert all(p.is_valid for p in polygons)

    # No gaps: the union is the city's outline (walked independently along the lattice's edge).
    outline = Polygon(plan_city(scale=1, seed=DEFAULT_SEED).outline())
    union = shapely.union_all(polygons)
    assert isinstance(union, Polygon)
    assert len(union.interiors) == 0
    assert abs(union.area - outline.area) <= 1e-9 * outline.area
    assert union.symmetric_difference(outline).area <= 1e-9 * outline.area
    # No overlaps: the areas add up, and no two grids share interior.
    assert abs(sum(p.area for p in polygons) - union.area) <= 1e-9 * union.area
    array = np.array(polygons, dtype=object)
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    pairs = left < right
    shared = shapely.area(shapely.intersection(array[left[pairs]], array[right[pairs]]))
    assert float(shared.max()) <= 1e-12 * union.area / len(polygons)

    # Each community is one hole-free polygon: the union of its grids, within its stored bounds.
    by_community: dict[int, list[Polygon]] = defaultdict(list)
    for (_pk, parent_id, _boundary), polygon in zip(grids, polygons, strict=True):
        by_community[parent_id].append(polygon)
    for community in Unit.objects.filter(kind=UnitKind.COMMUNITY):
        merged = shapely.union_all(by_community[community.pk])
        assert isinstance(merged, Polygon) and not merged.interiors
        assert merged.bounds == (community.min_lon, community.min_lat, community.max_lon, community.max_lat)

    assert not Unit.objects.filter(kind=UnitKind.STATION, located_in__isnull=True).exists()
    assert not Unit.objects.filter(kind=UnitKind.STATION).exclude(located_in__kind=UnitKind.STREET).exists()
