"""Grid boundaries: the all-or-nothing GeoJSON import and the point → grid lookup.

Import matching rule: each GeoJSON feature names its grid in ``properties.code`` (``网格编码`` is
accepted too); that code must be the ``Unit.code`` of an existing unit of kind grid. The import
sets the boundaries of the grids it names and leaves every other grid as it is.

A file is refused whole, naming each bad grid, when any feature lacks a code or names an unknown
unit or a unit that is not a grid, names a grid twice, has a geometry that is not a valid
Polygon/MultiPolygon (before or after conversion to WGS-84), or when two grids overlap — two
grids of the file, or a grid of the file and a stored active grid it does not replace. Grids may
touch: an overlap counts only when the intersection is larger than ``OVERLAP_EPSILON_M2``, which
absorbs the sub-millimetre slivers that converting T-junctions from GCJ-02 can leave.

The index: ``grid_for_point`` answers from a process-wide ``GridIndex`` over every active grid
with a boundary, rebuilt when its version changes. The version is (number of such grids, their
highest id, a generation counter in the shared cache that every import bumps); any other code that
changes grids' boundaries, codes or activity should call ``grid_index_invalidate``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Max
from django.utils.translation import gettext as _
from shapely.geometry import MultiPolygon, Polygon, shape

from core.audit import audit_record
from orgs import permissions
from orgs.choices import UnitKind
from orgs.geo import (
    CoordSystem,
    GeometryError,
    GridIndex,
    area_m2,
    geometry_from_geojson,
    geometry_to_geojson,
    geometry_to_wgs84,
    parse_coord_system,
    to_wgs84,
)
from orgs.models import Unit

OVERLAP_EPSILON_M2 = 1.0
GENERATION_CACHE_KEY = "orgs:grid_index_generation"
CODE_PROPERTIES = ("code", "网格编码")
AUDIT_CODES_LIMIT = 500


class GridImportError(Exception):
    """The list of problems in a boundary file; nothing was stored."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(self.report())

    def report(self) -> str:
        head = _("网格边界导入失败，共%(n)d处错误，未导入任何数据：") % {"n": len(self.problems)}
        return "\n".join([head, *(f"{i}. {p}" for i, p in enumerate(self.problems, start=1))])


@dataclass(frozen=True)
class GridImportResult:
    count: int
    codes: list[str]
    system: str


def _feature_code(feature: Mapping[str, Any]) -> str:
    props = feature.get("properties") or {}
    if not isinstance(props, Mapping):
        return ""
    for key in CODE_PROPERTIES:
        value = props.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def _features_of(data: object) -> list[Mapping[str, Any]]:
    if isinstance(data, Mapping):
        if data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
            raise GridImportError([_("文件不是 GeoJSON FeatureCollection（缺少 features 列表）")])
        raw = data["features"]
    elif isinstance(data, list):
        raw = data
    else:
        raise GridImportError([_("文件不是 GeoJSON FeatureCollection（缺少 features 列表）")])
    if not raw:
        raise GridImportError([_("文件中没有任何网格")])
    bad = [i for i, f in enumerate(raw, start=1) if not isinstance(f, Mapping)]
    if bad:
        raise GridImportError([_("第%(i)d个要素不是 GeoJSON Feature") % {"i": i} for i in bad])
    return list(raw)


def _stored_geometry(boundary: Any) -> Polygon | MultiPolygon:
    """A boundary as stored by the import (validated then, so not re-validated here)."""
    geom = shape(boundary)
    assert isinstance(geom, Polygon | MultiPolygon)
    return geom


def _overlaps(geoms: dict[str, Polygon | MultiPolygon], fixed: Sequence[str]) -> list[tuple[str, str, float]]:
    """Pairs (a, b, m²) with a < b that overlap, where at least one of them is in ``fixed``."""
    codes = list(geoms)
    tree = shapely.STRtree([geoms[c] for c in codes])
    fixed_set = set(fixed)
    found: dict[tuple[str, str], float] = {}
    for code in fixed:
        for j in tree.query(geoms[code], predicate="intersects").tolist():
            other = codes[j]
            if other == code:
                continue
            pair = (min(code, other), max(code, other))
            if pair in found or (pair[0] not in fixed_set and pair[1] not in fixed_set):
                continue
            area = area_m2(geoms[code].intersection(geoms[other]))
            if area > OVERLAP_EPSILON_M2:
                found[pair] = area
    return sorted((a, b, m2) for (a, b), m2 in found.items())


@transaction.atomic
def grid_boundaries_import(
    *, actor: Any, features: object, system: CoordSystem | str = CoordSystem.WGS84
) -> GridImportResult:
    """Set the boundaries of the grids a GeoJSON FeatureCollection names; all or nothing.

    ``actor`` is the acting user (must be allowed to manage units) or None for system work.
    """
    if actor is not None and not permissions.can_manage_units(actor):
        raise PermissionDenied(_("没有维护网格边界的权限。"))
    system = parse_coord_system(system)
    items = _features_of(features)
    problems: list[str] = []

    coded: list[tuple[int, str, Mapping[str, Any]]] = []
    first_seen: dict[str, int] = {}
    for i, feature in enumerate(items, start=1):
        code = _feature_code(feature)
        if not code:
            problems.append(_("第%(i)d个要素缺少网格编码（properties.code）") % {"i": i})
            continue
        if code in first_seen:
            problems.append(
                _("网格「%(code)s」在文件中重复出现（第%(a)d个和第%(b)d个要素）")
                % {"code": code, "a": first_seen[code], "b": i}
            )
            continue
        first_seen[code] = i
        coded.append((i, code, feature))

    units = {u.code: u for u in Unit.objects.filter(code__in=[c for _i, c, _f in coded])}
    converted: dict[str, Polygon | MultiPolygon] = {}
    for i, code, feature in coded:
        unit = units.get(code)
        if unit is None:
            problems.append(_("网格「%(code)s」不存在（第%(i)d个要素）") % {"code": code, "i": i})
            continue
        if unit.kind != UnitKind.GRID:
            problems.append(
                _("「%(code)s」%(name)s不是网格，而是%(kind)s（第%(i)d个要素）")
                % {"code": code, "name": unit.name, "kind": unit.get_kind_display(), "i": i}
            )
            continue
        try:
            geom = geometry_from_geojson(feature.get("geometry"))
            wgs = geometry_to_wgs84(geom, system)
            if not wgs.is_valid:
                raise GeometryError(_("转换为WGS-84后边界多边形无效"))
        except GeometryError as exc:
            problems.append(_("网格「%(code)s」：%(why)s") % {"code": code, "why": exc})
            continue
        converted[code] = wgs

    if converted:
        others = {
            code: _stored_geometry(boundary)
            for code, boundary in Unit.objects.filter(
                kind=UnitKind.GRID, is_active=True, boundary__isnull=False
            )
            .exclude(code__in=list(first_seen))
            .values_list("code", "boundary")
        }
        everything: dict[str, Polygon | MultiPolygon] = {**others, **converted}
        for a, b, m2 in _overlaps(everything, fixed=list(converted)):
            if a in converted and b in converted:
                problems.append(
                    _("网格「%(a)s」与网格「%(b)s」重叠（约%(m2).0f平方米）") % {"a": a, "b": b, "m2": m2}
                )
            else:
                new, old = (a, b) if a in converted else (b, a)
                problems.append(
                    _("网格「%(a)s」与已有网格「%(b)s」重叠（约%(m2).0f平方米）")
                    % {"a": new, "b": old, "m2": m2}
                )

    if problems:
        raise GridImportError(problems)

    changed: list[Unit] = []
    for code, geom in converted.items():
        unit = units[code]
        min_lon, min_lat, max_lon, max_lat = geom.bounds
        unit.boundary = geometry_to_geojson(geom)
        unit.min_lon, unit.min_lat, unit.max_lon, unit.max_lat = min_lon, min_lat, max_lon, max_lat
        changed.append(unit)
    Unit.objects.bulk_update(
        changed, ["boundary", "min_lon", "min_lat", "max_lon", "max_lat"], batch_size=500
    )
    codes = sorted(converted)
    audit_record(
        event_type="grid.boundaries_import",
        actor=actor,
        object_type="orgs.Unit",
        extra={
            "system": str(system),
            "count": len(codes),
            "codes": codes[:AUDIT_CODES_LIMIT],
            "codes_truncated": len(codes) > AUDIT_CODES_LIMIT,
        },
    )
    grid_index_invalidate()
    transaction.on_commit(grid_index_invalidate)
    return GridImportResult(count=len(codes), codes=codes, system=str(system))


# --- the process-wide index ---------------------------------------------------------------------

_lock = threading.Lock()
_cached: tuple[tuple[int, int, int], GridIndex[int]] | None = None


def grid_index_invalidate() -> None:
    """Make every process rebuild its index on the next lookup."""
    global _cached
    try:
        cache.incr(GENERATION_CACHE_KEY)
    except ValueError:
        cache.set(GENERATION_CACHE_KEY, 1, timeout=None)
    with _lock:
        _cached = None


def _active_grids() -> Any:
    return Unit.objects.filter(kind=UnitKind.GRID, is_active=True, boundary__isnull=False)


def _index_version() -> tuple[int, int, int]:
    agg = _active_grids().aggregate(n=Count("pk"), top=Max("pk"))
    return (int(agg["n"] or 0), int(agg["top"] or 0), int(cache.get(GENERATION_CACHE_KEY, 0)))


def grid_index_build() -> GridIndex[int]:
    """A fresh index over all active grids with boundaries, keyed by unit id."""
    rows = _active_grids().values_list("pk", "code", "boundary").iterator(chunk_size=2000)
    return GridIndex.from_polygons((code, pk, _stored_geometry(boundary)) for pk, code, boundary in rows)


def grid_index() -> GridIndex[int]:
    """The cached index, rebuilt when the grids' version changed."""
    global _cached
    version = _index_version()
    cached = _cached
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:
        if _cached is not None and _cached[0] == version:
            return _cached[1]
        index = grid_index_build()
        _cached = (version, index)
        return index


def grid_for_point(lon: float, lat: float, system: CoordSystem | str = CoordSystem.WGS84) -> Unit | None:
    """The grid containing the point (lowest code on a shared boundary), or None outside every grid.

    Raises ``orgs.geo.CoordinatesError`` for coordinates that are not numbers or out of range.
    """
    wgs_lon, wgs_lat = to_wgs84(lon, lat, system)
    unit_id = grid_index().lookup(wgs_lon, wgs_lat)
    if unit_id is None:
        return None
    return Unit.objects.filter(pk=unit_id).first()
