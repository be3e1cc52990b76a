"""Coordinates and grid geometry: coordinate systems, polygon checks, the point → grid index.

Coordinate systems
------------------
Minhu stores coordinates in WGS-84 only. CGCS2000 (China's national geodetic system) differs
from WGS-84 by centimetres, far below the accuracy of any address or phone location, so it is
treated as WGS-84 (``parse_coord_system`` accepts "CGCS2000" as an alias). Every input declares its
system and is converted on the way in:

- ``WGS84``: GPS, browsers' geolocation, 天地图 (Tianditu, CGCS2000).
- ``GCJ02``: the obfuscated "Mars" system of 国测局 used by AMap 高德 and Tencent 腾讯 maps.
- ``BD09``: Baidu's extra offset on top of GCJ-02.

The forward transforms (WGS-84 → GCJ-02 → BD-09) come from the ``coordTransform`` package
(MIT, PyPI ``coordtransform``), checked against published reference pairs in the tests. Its
inverses are one-step approximations with errors up to ~5 m, so the inverses here are our own:
a fixed-point iteration on the library's forward function until the residual is below
``_INVERSE_TOLERANCE`` degrees (≈ 1 mm), which converges in a handful of steps because the
offset field is smooth.

Points outside China are not shifted in any system. "Outside China" is the usual rectangle
(longitude 73.66–135.05, latitude 3.86–53.55) shared by the library and most GCJ-02 code;
Baidu also shows foreign places in WGS-84.

Grid geometry
-------------
``GridIndex`` is a shapely 2 STRtree over grid polygons (WGS-84). A point covered by several
grids (on a shared edge or vertex) goes to the grid with the lowest code: the polygons are
sorted by code when the index is built, so the smallest matching position wins.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import coordTransform
import numpy as np
import shapely
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity


class CoordSystem(models.TextChoices):
    WGS84 = "wgs84", gettext_lazy("WGS-84 / CGCS2000（GPS、浏览器、天地图）")
    GCJ02 = "gcj02", gettext_lazy("GCJ-02（高德、腾讯）")
    BD09 = "bd09", gettext_lazy("BD-09（百度）")


_SYSTEM_ALIASES: dict[str, CoordSystem] = {
    "wgs84": CoordSystem.WGS84,
    "wgs-84": CoordSystem.WGS84,
    "wgs": CoordSystem.WGS84,
    "cgcs2000": CoordSystem.WGS84,
    "gps": CoordSystem.WGS84,
    "天地图": CoordSystem.WGS84,
    "gcj02": CoordSystem.GCJ02,
    "gcj-02": CoordSystem.GCJ02,
    "gcj": CoordSystem.GCJ02,
    "火星坐标": CoordSystem.GCJ02,
    "高德": CoordSystem.GCJ02,
    "腾讯": CoordSystem.GCJ02,
    "bd09": CoordSystem.BD09,
    "bd-09": CoordSystem.BD09,
    "bd": CoordSystem.BD09,
    "百度": CoordSystem.BD09,
}


class CoordinatesError(ValueError):
    """Coordinates that are not numbers or out of range; the message is Chinese."""


def parse_coord_system(value: str | CoordSystem | None) -> CoordSystem:
    """A coordinate system from its code or a common name (case-insensitive); blank → WGS-84."""
    if isinstance(value, CoordSystem):
        return value
    raw = (value or "").strip().lower().replace("_", "").replace(" ", "")
    if not raw:
        return CoordSystem.WGS84
    found = _SYSTEM_ALIASES.get(raw)
    if found is None:
        raise CoordinatesError(_("未知的坐标系「%(v)s」，可选：WGS84、CGCS2000、GCJ02、BD09") % {"v": value})
    return found


def check_lon_lat(lon: float, lat: float) -> tuple[float, float]:
    """Both finite, longitude in [-180, 180], latitude in [-90, 90]; returns them as floats."""
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError):
        raise CoordinatesError(_("经纬度必须是数字")) from None
    if not (math.isfinite(lon_f) and math.isfinite(lat_f)):
        raise CoordinatesError(_("经纬度必须是有限的数字"))
    if not -180.0 <= lon_f <= 180.0:
        raise CoordinatesError(_("经度%(v)s超出范围（-180～180）") % {"v": lon})
    if not -90.0 <= lat_f <= 90.0:
        raise CoordinatesError(_("纬度%(v)s超出范围（-90～90）") % {"v": lat})
    return lon_f, lat_f


def out_of_china(lon: float, lat: float) -> bool:
    """The rectangle outside which no system is shifted."""
    return bool(coordTransform.out_of_china(lon, lat))


# ≈ 0.1 mm at China's latitudes; the iteration stops when the forward image is this close.
_INVERSE_TOLERANCE = 1e-9
_INVERSE_MAX_STEPS = 30


def _wgs_to_gcj(lon: float, lat: float) -> tuple[float, float]:
    out = coordTransform.wgs84_to_gcj02(lon, lat)
    return float(out[0]), float(out[1])


def _gcj_to_bd(lon: float, lat: float) -> tuple[float, float]:
    out = coordTransform.gcj02_to_bd09(lon, lat)
    return float(out[0]), float(out[1])


def _bd_to_gcj_rough(lon: float, lat: float) -> tuple[float, float]:
    out = coordTransform.bd09_to_gcj02(lon, lat)
    return float(out[0]), float(out[1])


def _invert(
    forward: Any, target_lon: float, target_lat: float, start: tuple[float, float]
) -> tuple[float, float]:
    """Solve ``forward(x) == target`` by fixed-point iteration from ``start``."""
    lon, lat = start
    for _step in range(_INVERSE_MAX_STEPS):
        f_lon, f_lat = forward(lon, lat)
        d_lon, d_lat = f_lon - target_lon, f_lat - target_lat
        if abs(d_lon) < _INVERSE_TOLERANCE and abs(d_lat) < _INVERSE_TOLERANCE:
            break
        lon, lat = lon - d_lon, lat - d_lat
    return lon, lat


def _gcj_to_wgs(lon: float, lat: float) -> tuple[float, float]:
    if out_of_china(lon, lat):
        return lon, lat
    return _invert(_wgs_to_gcj, lon, lat, start=(lon, lat))


def _bd_to_gcj(lon: float, lat: float) -> tuple[float, float]:
    return _invert(_gcj_to_bd, lon, lat, start=_bd_to_gcj_rough(lon, lat))


def to_wgs84(lon: float, lat: float, system: CoordSystem | str) -> tuple[float, float]:
    """Convert a point given in ``system`` to WGS-84 (lon, lat). Raises CoordinatesError."""
    system = parse_coord_system(system)
    lon, lat = check_lon_lat(lon, lat)
    if system == CoordSystem.WGS84 or out_of_china(lon, lat):
        return lon, lat
    if system == CoordSystem.BD09:
        lon, lat = _bd_to_gcj(lon, lat)
    return _gcj_to_wgs(lon, lat)


def from_wgs84(lon: float, lat: float, system: CoordSystem | str) -> tuple[float, float]:
    """Convert a WGS-84 point to ``system`` (for map tiles and exports)."""
    system = parse_coord_system(system)
    lon, lat = check_lon_lat(lon, lat)
    if system == CoordSystem.WGS84 or out_of_china(lon, lat):
        return lon, lat
    lon, lat = _wgs_to_gcj(lon, lat)
    if system == CoordSystem.BD09:
        lon, lat = _gcj_to_bd(lon, lat)
    return lon, lat


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


# --- polygons -----------------------------------------------------------------------------------


class GeometryError(ValueError):
    """A boundary that is not a valid Polygon/MultiPolygon; the message is Chinese."""


def geometry_from_geojson(data: object) -> Polygon | MultiPolygon:
    """Parse a GeoJSON geometry; only valid, non-empty Polygon or MultiPolygon pass."""
    if not isinstance(data, dict) or "type" not in data:
        raise GeometryError(_("缺少边界几何（geometry）"))
    kind = data.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeometryError(_("边界必须是 Polygon 或 MultiPolygon，不能是「%(t)s」") % {"t": kind})
    try:
        geom = shape(data)
    except Exception as exc:  # shapely raises several kinds on malformed coordinates
        raise GeometryError(_("边界坐标格式不正确：%(e)s") % {"e": exc}) from None
    if not isinstance(geom, Polygon | MultiPolygon) or geom.is_empty:
        raise GeometryError(_("边界为空"))
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise GeometryError(_("边界坐标必须是有限的数字"))
    if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        raise GeometryError(_("边界坐标超出经纬度范围"))
    if not geom.is_valid:
        raise GeometryError(_("边界多边形无效：%(why)s") % {"why": explain_validity(geom)})
    return geom


def geometry_to_wgs84(geom: Polygon | MultiPolygon, system: CoordSystem | str) -> Polygon | MultiPolygon:
    """Convert every vertex to WGS-84. The same input vertex always maps to the same output,
    so grids that share vertices in the source still share them after conversion."""
    system = parse_coord_system(system)
    if system == CoordSystem.WGS84:
        return geom

    def convert(coords: Any) -> Any:
        return np.array([to_wgs84(float(x), float(y), system) for x, y in coords], dtype=float)

    converted = shapely.transform(geom, convert)
    assert isinstance(converted, Polygon | MultiPolygon)
    return converted


def geometry_to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    """GeoJSON mapping with lists (not tuples), ready for a JSONField."""
    out: dict[str, Any] = json.loads(shapely.to_geojson(geom))
    return out


def area_m2(geom: BaseGeometry) -> float:
    """Approximate area in square metres of a small lon/lat geometry (equirectangular at its centre)."""
    if geom.is_empty:
        return 0.0
    lat = geom.centroid.y
    metres_per_degree = 111_320.0
    return float(geom.area) * metres_per_degree**2 * max(math.cos(math.radians(lat)), 1e-6)


# --- the point → grid index ---------------------------------------------------------------------

K = TypeVar("K")


@dataclass(frozen=True)
class GridEntry(Generic[K]):
    """One grid in the index: its code (for the tie rule), a key (e.g. the unit id), its polygon."""

    code: str
    key: K
    geometry: Polygon | MultiPolygon


class GridIndex(Generic[K]):
    """An STRtree over grid polygons answering "which grid covers this WGS-84 point?".

    Entries are sorted by code, so when several polygons cover a point (a shared edge or vertex)
    the lowest position, i.e. the lowest code, wins. Build it once and reuse it: construction is
    O(n log n), a lookup is O(log n) plus exact tests on the few candidates whose boxes match.
    """

    def __init__(self, entries: Iterable[GridEntry[K]]) -> None:
        ordered = sorted(entries, key=lambda e: e.code)
        self._keys: list[K] = [e.key for e in ordered]
        self._codes: list[str] = [e.code for e in ordered]
        geoms = np.array([e.geometry for e in ordered], dtype=object)
        shapely.prepare(geoms)
        self._geoms = geoms
        self._tree = shapely.STRtree(geoms)

    @classmethod
    def from_polygons(cls, items: Iterable[tuple[str, K, Polygon | MultiPolygon]]) -> GridIndex[K]:
        return cls(GridEntry(code=c, key=k, geometry=g) for c, k, g in items)

    def __len__(self) -> int:
        return len(self._keys)

    def lookup(self, lon: float, lat: float) -> K | None:
        """The key of the grid covering the point (lowest code on shared boundaries), or None."""
        if not self._keys:
            return None
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        return self._keys[int(hits.min())]

    def lookup_code(self, lon: float, lat: float) -> str | None:
        if not self._keys:
            return None
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        return self._codes[int(hits.min())] if len(hits) else None

    def lookup_many(self, points: Sequence[tuple[float, float]]) -> list[K | None]:
        """Vectorised lookups: one STRtree query for all points."""
        result: list[K | None] = [None] * len(points)
        if not self._keys or not points:
            return result
        pts = shapely.points(np.asarray(points, dtype=float))
        point_idx, tree_idx = self._tree.query(pts, predicate="intersects")
        best: dict[int, int] = {}
        for p, t in zip(point_idx.tolist(), tree_idx.tolist(), strict=True):
            if p not in best or t < best[p]:
                best[p] = t
        for p, t in best.items():
            result[p] = self._keys[t]
        return result


__all__ = [
    "CoordSystem",
    "GridEntry",
    "GridIndex",
    "CoordinatesError",
    "GeometryError",
    "area_m2",
    "check_lon_lat",
    "distance_m",
    "from_wgs84",
    "geometry_from_geojson",
    "geometry_to_geojson",
    "geometry_to_wgs84",
    "out_of_china",
    "parse_coord_system",
    "to_wgs84",
]
