"""Coordinate systems and polygon helpers (no database)."""

from __future__ import annotations

import random

import pytest
from shapely.geometry import Polygon, box

from orgs.geo import (
    CoordinatesError,
    CoordSystem,
    GeometryError,
    GridIndex,
    area_m2,
    distance_m,
    from_wgs84,
    geometry_from_geojson,
    geometry_to_geojson,
    geometry_to_wgs84,
    parse_coord_system,
    to_wgs84,
)

# Published reference pairs (the eviltransform project's test vectors, MIT): (wgs lon, lat) → gcj.
GCJ_PAIRS = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
]
# GCJ-02 → BD-09, published to five decimals.
BD_PAIR = ((116.42703, 39.90245), (116.43351, 39.90851))


@pytest.mark.parametrize(("wgs", "gcj"), GCJ_PAIRS)
def test_wgs84_to_gcj02_matches_the_published_reference_pairs(wgs, gcj):
    lon, lat = from_wgs84(wgs[0], wgs[1], CoordSystem.GCJ02)
    assert lon == pytest.approx(gcj[0], abs=1e-8)
    assert lat == pytest.approx(gcj[1], abs=1e-8)


@pytest.mark.parametrize(("wgs", "gcj"), GCJ_PAIRS)
def test_gcj02_to_wgs84_recovers_the_reference_point_within_a_centimetre(wgs, gcj):
    lon, lat = to_wgs84(gcj[0], gcj[1], CoordSystem.GCJ02)
    assert distance_m(lon, lat, wgs[0], wgs[1]) < 0.01


def test_bd09_matches_the_published_reference_pair():
    gcj, bd = BD_PAIR
    wgs = to_wgs84(*gcj, CoordSystem.GCJ02)
    lon, lat = from_wgs84(*wgs, CoordSystem.BD09)
    assert lon == pytest.approx(bd[0], abs=1e-5)
    assert lat == pytest.approx(bd[1], abs=1e-5)
    back = to_wgs84(*bd, CoordSystem.BD09)
    assert distance_m(*back, *wgs) < 2.0  # the reference is rounded to 1e-5 degrees (≈ 1 m)


@pytest.mark.parametrize("system", [CoordSystem.GCJ02, CoordSystem.BD09])
def test_round_trip_through_each_system_is_under_one_metre_everywhere_in_china(system):
    rng = random.Random(20240601)
    worst = 0.0
    for _ in range(500):
        lon, lat = rng.uniform(74.0, 134.9), rng.uniform(18.0, 53.4)
        back = to_wgs84(*from_wgs84(lon, lat, system), system)
        worst = max(worst, distance_m(lon, lat, *back))
    assert worst < 1.0
    assert worst < 0.01  # in fact the iteration is exact to millimetres


def test_conversion_actually_moves_points_in_china_by_hundreds_of_metres():
    lon, lat = 116.3975, 39.9087
    gcj = from_wgs84(lon, lat, CoordSystem.GCJ02)
    bd = from_wgs84(lon, lat, CoordSystem.BD09)
    assert 100 < distance_m(lon, lat, *gcj) < 1000
    assert distance_m(*gcj, *bd) > 500


@pytest.mark.parametrize(
    "point", [(-104.9903, 39.7392), (153.0251, -27.4698), (-43.1729, -22.9068), (2.3522, 48.8566)]
)
@pytest.mark.parametrize("system", list(CoordSystem))
def test_points_outside_china_are_not_shifted(point, system):
    assert from_wgs84(point[0], point[1], system) == point
    assert to_wgs84(point[0], point[1], system) == point


def test_wgs84_is_the_identity():
    assert to_wgs84(116.1, 39.2, CoordSystem.WGS84) == (116.1, 39.2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WGS84", CoordSystem.WGS84),
        ("wgs-84", CoordSystem.WGS84),
        ("CGCS2000", CoordSystem.WGS84),
        ("", CoordSystem.WGS84),
        (None, CoordSystem.WGS84),
        ("GCJ-02", CoordSystem.GCJ02),
        ("高德", CoordSystem.GCJ02),
        ("bd09", CoordSystem.BD09),
        ("百度", CoordSystem.BD09),
    ],
)
def test_coordinate_systems_are_parsed_from_codes_and_common_names(text, expected):
    assert parse_coord_system(text) == expected


def test_an_unknown_coordinate_system_is_refused_in_chinese():
    with pytest.raises(CoordinatesError, match="未知的坐标系「UTM」"):
        parse_coord_system("UTM")


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        (181, 30, "经度"),
        (116, 91, "纬度"),
        (float("nan"), 30, "有限"),
        ("abc", 30, "数字"),
    ],
)
def test_out_of_range_or_non_numeric_coordinates_are_refused(lon, lat, message):
    with pytest.raises(CoordinatesError, match=message):
        to_wgs84(lon, lat, CoordSystem.GCJ02)


def test_geojson_polygon_parses_and_round_trips():
    data = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    geom = geometry_from_geojson(data)
    assert geom.area == 1
    out = geometry_to_geojson(geom)
    assert out["type"] == "Polygon"
    assert geometry_from_geojson(out).equals(geom)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "缺少边界"),
        ({"type": "Point", "coordinates": [1, 2]}, "Polygon 或 MultiPolygon"),
        ({"type": "Polygon", "coordinates": "nonsense"}, "格式不正确"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "无效"),
        ({"type": "Polygon", "coordinates": []}, "为空"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [200, 1], [0, 0]]]}, "超出"),
    ],
)
def test_bad_geometries_are_refused_with_a_reason(data, message):
    with pytest.raises(GeometryError, match=message):
        geometry_from_geojson(data)


def test_polygon_conversion_keeps_shared_vertices_shared():
    a = box(116.30, 39.90, 116.31, 39.91)
    b = box(116.31, 39.90, 116.32, 39.91)
    wa, wb = geometry_to_wgs84(a, CoordSystem.GCJ02), geometry_to_wgs84(b, CoordSystem.GCJ02)
    assert wa.touches(wb)
    assert wa.intersection(wb).area == 0
    # ... and moved by the GCJ-02 offset
    assert distance_m(a.centroid.x, a.centroid.y, wa.centroid.x, wa.centroid.y) > 100


def test_area_in_square_metres_is_roughly_right():
    one_km = Polygon([(116.0, 40.0), (116.0117, 40.0), (116.0117, 40.009), (116.0, 40.009)])
    assert 950_000 < area_m2(one_km) < 1_050_000


def _grid_2x2() -> list[tuple[str, str, Polygon]]:
    return [
        ("G2", "b", box(1, 0, 2, 1)),
        ("G1", "a", box(0, 0, 1, 1)),
        ("G4", "d", box(1, 1, 2, 2)),
        ("G3", "c", box(0, 1, 1, 2)),
    ]


def test_grid_index_finds_the_covering_grid_and_applies_the_lowest_code_rule():
    items = _grid_2x2()
    for order in (items, list(reversed(items))):
        index = GridIndex.from_polygons(order)
        assert index.lookup(0.5, 0.5) == "a"
        assert index.lookup(1.5, 1.5) == "d"
        assert index.lookup(1.0, 0.5) == "a"  # edge G1|G2
        assert index.lookup(1.5, 1.0) == "b"  # edge G2|G4
        assert index.lookup(1.0, 1.0) == "a"  # vertex shared by all four
        assert index.lookup(2.5, 0.5) is None
        assert index.lookup_code(1.0, 1.5) == "G3"
        assert index.lookup_many([(0.5, 0.5), (1.0, 1.0), (9, 9), (1.5, 1.0)]) == ["a", "a", None, "b"]


def test_an_empty_grid_index_finds_nothing():
    index: GridIndex[int] = GridIndex([])
    assert len(index) == 0
    assert index.lookup(1, 1) is None
    assert index.lookup_many([(1, 1)]) == [None]
