"""The unified address list 统一地址库: normalisation, services, lookup, Excel import and export.

Normalisation (``normalize_address``), in this order:

1. Unicode NFKC: full-width letters, digits, punctuation and the ideographic space become their
   half-width forms; circled digits become digits.
2. Latin letters are upper-cased (``a座`` = ``A座``).
3. Whitespace and control characters are removed.
4. ``#`` right after a number means 号 (``3#楼`` = ``3号楼``).
5. A dash between two numbers (any dash, ``~`` or ``～``) is kept as ``-`` so ``3-2-101`` never
   collides with ``32-101``; all other punctuation and symbols are removed.
6. A Chinese numeral directly before 号 / 栋 / 幢 / 座 / 单元 / 室 / 层 / 楼 becomes Arabic digits,
   and a 第 before such a number is dropped: ``第三单元`` = ``3单元``, ``十二号楼`` = ``12号楼``,
   ``一〇一室`` = ``一百零一室`` = ``101室``. Numerals elsewhere stay (``五道口`` is a name).
7. The configured province and city prefixes are optional: with
   ``settings.ADDRESS_CITY_PREFIXES = ["河北省", "石家庄市"]``, ``河北省石家庄市长安区…``,
   ``石家庄市长安区…`` and ``长安区…`` normalise alike. Only the full forms (with 省/市) are
   stripped, never a bare name such as 石家庄 that could begin a road's name.

The function is idempotent: ``normalize_address(normalize_address(x)) == normalize_address(x)``.

Lookup is by exact text, then by normalised text (fuzzy matching comes later).

Grid of an address: the grid given, else the building's grid, else the grid whose boundary holds
the address's point (``grid_for_point``). A point must lie inside the grid given or the building's
grid (when that grid has a boundary). Points are stored in WGS-84; every input declares its
system.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from shapely.geometry import Point, shape

from core import excel
from core.audit import audit_record
from core.excel import CellError, CellValue, Column, Issues, SheetOut, SheetSpec, WorkbookData
from orgs import permissions
from orgs.choices import UnitKind
from orgs.geo import CoordinatesError, CoordSystem, from_wgs84, parse_coord_system, to_wgs84
from orgs.grid_services import grid_for_point, grid_index
from orgs.models import Address, Unit

TEXT_MAX_LENGTH = 255

# --- normalisation ------------------------------------------------------------------------------

_DASHES = "-‐‑‒–—―−~～﹣－"
_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千"
_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_SUFFIX = "(?:号|栋|幢|座|单元|室|层|楼)"
_NUMERAL_RE = re.compile(rf"第*([{_NUMERAL_CHARS}]+)(?={_SUFFIX})")
_ORDINAL_DIGITS_RE = re.compile(rf"第+(\d+)(?={_SUFFIX})")
_HASH_RE = re.compile(r"(\d)#")
_DASH_RE = re.compile(rf"(?<=\d)[{re.escape(_DASHES)}]+(?=\d)")
_KEEP_DASH = "\ue000"  # a private-use placeholder that survives the punctuation sweep


def chinese_numeral_to_int(text: str) -> int:
    """``十二`` → 12, ``一百零一`` → 101, ``两千`` → 2000; digit strings (``一〇一``) read digit by digit."""
    if not any(ch in _UNITS for ch in text):
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        else:
            total += (current or 1) * _UNITS[ch]
            current = 0
    return total + current


def _numerals(match: re.Match[str]) -> str:
    return str(chinese_numeral_to_int(match.group(1)))


def _city_prefixes() -> list[str]:
    value = getattr(settings, "ADDRESS_CITY_PREFIXES", ()) or ()
    if isinstance(value, str):
        value = [p for p in re.split(r"[,，;；\s]+", value) if p]
    return [unicodedata.normalize("NFKC", str(p)).strip() for p in value if str(p).strip()]


def normalize_address(text: str) -> str:
    """The normalised form used for uniqueness and lookup (rules in the module docstring)."""
    s = unicodedata.normalize("NFKC", text or "")
    s = s.upper()
    s = "".join(ch for ch in s if not (ch.isspace() or unicodedata.category(ch)[0] in "CZ"))
    s = _HASH_RE.sub(r"\1号", s)
    s = _DASH_RE.sub(_KEEP_DASH, s)
    s = "".join(ch for ch in s if unicodedata.category(ch)[0] not in "PS")
    s = s.replace(_KEEP_DASH, "-")
    s = _NUMERAL_RE.sub(_numerals, s)
    s = _ORDINAL_DIGITS_RE.sub(r"\1", s)
    prefixes = _city_prefixes()
    stripped = True
    while stripped:
        stripped = False
        for prefix in prefixes:
            if s.startswith(prefix) and len(s) > len(prefix):
                s = s[len(prefix) :]
                stripped = True
    return s


# --- services -----------------------------------------------------------------------------------


class AddressError(ValueError):
    """A refused address change; the message is Chinese and names the field."""


def _require_manager(actor: Any | None) -> None:
    if actor is not None and not permissions.can_manage_units(actor):
        raise PermissionDenied(_("没有维护地址库的权限。"))


def address_snapshot(address: Address) -> dict[str, Any]:
    return {
        "text": address.text,
        "normalized": address.normalized,
        "building_id": address.building_id,
        "grid_id": address.grid_id,
        "lon": address.lon,
        "lat": address.lat,
    }


def _building_grid(building: Unit) -> Unit | None:
    parent = building.parent
    return parent if parent is not None and parent.kind == UnitKind.GRID else None


def grid_covers(grid: Unit, lon: float, lat: float, *, fresh: bool = True) -> bool | None:
    """Whether the grid's stored boundary covers the WGS-84 point; None when it has no boundary.

    ``fresh`` reads the boundary from the database (the caller's instance may predate an import).
    """
    boundary = (
        Unit.objects.filter(pk=grid.pk).values_list("boundary", flat=True).first() if fresh else grid.boundary
    )
    if not boundary:
        return None
    return bool(shape(boundary).covers(Point(lon, lat)))


@dataclass(frozen=True)
class _Resolved:
    text: str
    normalized: str
    building: Unit | None
    grid: Unit | None
    lon: float | None
    lat: float | None


def _resolve(
    *,
    text: str,
    building: Unit | None,
    grid: Unit | None,
    lon: float | None,
    lat: float | None,
    system: CoordSystem | str,
    exclude_pk: int | None,
) -> _Resolved:
    text = (text or "").strip()
    if not text:
        raise AddressError(_("地址不能为空。"))
    if len(text) > TEXT_MAX_LENGTH:
        raise AddressError(_("地址不能超过%(n)d个字符。") % {"n": TEXT_MAX_LENGTH})
    normalized = normalize_address(text)
    if not normalized:
        raise AddressError(_("地址「%(t)s」去掉标点和空格后为空。") % {"t": text})
    if len(normalized) > TEXT_MAX_LENGTH:
        raise AddressError(_("地址规范化后超过%(n)d个字符。") % {"n": TEXT_MAX_LENGTH})
    others = Address.objects.filter(normalized=normalized)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    clash = others.first()
    if clash is not None:
        raise AddressError(_("地址库中已有相同地址「%(t)s」。") % {"t": clash.text})
    if building is not None and building.kind != UnitKind.BUILDING:
        raise AddressError(_("「%(n)s」不是楼院。") % {"n": building.name})
    if grid is not None and grid.kind != UnitKind.GRID:
        raise AddressError(_("「%(n)s」不是网格。") % {"n": grid.name})
    if building is not None:
        own = _building_grid(building)
        if grid is not None and own is not None and own.pk != grid.pk:
            raise AddressError(
                _("楼院「%(b)s」属于网格「%(own)s」，不属于「%(g)s」。")
                % {"b": building.name, "own": own.name, "g": grid.name}
            )
        grid = grid or own
    if (lon is None) != (lat is None):
        raise AddressError(_("经度和纬度须同时填写或同时不填。"))
    if lon is not None and lat is not None:
        try:
            lon, lat = to_wgs84(lon, lat, system)
        except CoordinatesError as exc:
            raise AddressError(str(exc)) from None
        if grid is not None:
            if grid_covers(grid, lon, lat) is False:
                raise AddressError(_("坐标不在网格「%(g)s」的范围内。") % {"g": grid.name})
        else:
            grid = grid_for_point(lon, lat)
    return _Resolved(text=text, normalized=normalized, building=building, grid=grid, lon=lon, lat=lat)


@transaction.atomic
def address_create(
    *,
    actor: Any | None,
    text: str,
    building: Unit | None = None,
    grid: Unit | None = None,
    lon: float | None = None,
    lat: float | None = None,
    system: CoordSystem | str = CoordSystem.WGS84,
) -> Address:
    """Add an address; its grid is filled from the building or the point when not given.

    Audited (``orgs.address_create``). Raises AddressError or PermissionDenied.
    """
    _require_manager(actor)
    r = _resolve(text=text, building=building, grid=grid, lon=lon, lat=lat, system=system, exclude_pk=None)
    address = Address.objects.create(
        text=r.text, normalized=r.normalized, building=r.building, grid=r.grid, lon=r.lon, lat=r.lat
    )
    audit_record(
        event_type="orgs.address_create",
        actor=actor,
        object_type="orgs.Address",
        object_id=address.pk,
        after=address_snapshot(address),
    )
    return address


_UNSET: Any = object()


@transaction.atomic
def address_update(
    *,
    actor: Any | None,
    address: Address,
    text: str | None = None,
    building: Unit | None = _UNSET,
    grid: Unit | None = _UNSET,
    lon: float | None = _UNSET,
    lat: float | None = _UNSET,
    system: CoordSystem | str = CoordSystem.WGS84,
) -> Address:
    """Change an address; omitted fields keep their value (the stored point is WGS-84, so a new
    point must come with its ``system``). When the building or point changes and no grid is
    given, the grid is derived again. Audited (``orgs.address_update``) when anything changed.
    """
    _require_manager(actor)
    current = Address.objects.select_for_update().get(pk=address.pk)
    before = address_snapshot(current)
    point_given = lon is not _UNSET or lat is not _UNSET
    new_building = current.building if building is _UNSET else building
    if grid is not _UNSET:
        new_grid = grid
    elif building is not _UNSET or point_given:
        new_grid = None  # derive again from the new building or point
    else:
        new_grid = current.grid
    if point_given:
        new_lon = None if lon is _UNSET else lon
        new_lat = None if lat is _UNSET else lat
        new_system: CoordSystem | str = system
    else:
        new_lon, new_lat, new_system = current.lon, current.lat, CoordSystem.WGS84
    r = _resolve(
        text=current.text if text is None else text,
        building=new_building,
        grid=new_grid,
        lon=new_lon,
        lat=new_lat,
        system=new_system,
        exclude_pk=current.pk,
    )
    current.text, current.normalized = r.text, r.normalized
    current.building, current.grid, current.lon, current.lat = r.building, r.grid, r.lon, r.lat
    after = address_snapshot(current)
    if after != before:
        current.save()
        audit_record(
            event_type="orgs.address_update",
            actor=actor,
            object_type="orgs.Address",
            object_id=current.pk,
            before=before,
            after=after,
        )
    return current


@transaction.atomic
def address_delete(*, actor: Any | None, address: Address) -> None:
    """Remove an address; audited (``orgs.address_delete``)."""
    _require_manager(actor)
    before = address_snapshot(address)
    pk = address.pk
    address.delete()
    audit_record(
        event_type="orgs.address_delete",
        actor=actor,
        object_type="orgs.Address",
        object_id=pk,
        before=before,
    )


# --- selectors ----------------------------------------------------------------------------------


def address_lookup(text: str) -> Address | None:
    """The address with exactly this text, else the one with the same normalised text, else None."""
    return addresses_lookup([text]).get((text or "").strip())


def addresses_lookup(texts: Iterable[str]) -> dict[str, Address]:
    """``address_lookup`` for many typed texts in two queries at most: {stripped text: address}
    for those found (the exact text first, the lowest id among equals; else the normalised one)."""
    raw = {t.strip() for t in texts if t and t.strip()}
    if not raw:
        return {}
    # the units come without their boundaries: a registration needs the grid, not its polygon
    with_units = Address.objects.select_related("grid", "building").defer(
        "grid__boundary", "building__boundary"
    )
    found: dict[str, Address] = {}
    for address in with_units.filter(text__in=raw).order_by("-pk"):
        found[address.text] = address  # the lowest id is written last
    wanted = {normalize_address(t): t for t in raw if t not in found}
    wanted.pop("", None)
    if wanted:
        by_normalized = {a.normalized: a for a in with_units.filter(normalized__in=wanted)}
        for normalized, text in wanted.items():
            if normalized in by_normalized:
                found[text] = by_normalized[normalized]
    return found


def address_list(*, grid: Unit | None = None) -> Any:
    """Addresses for listing and export, optionally those of one grid, by text."""
    qs = Address.objects.select_related("grid", "building").order_by("text", "pk")
    if grid is not None:
        qs = qs.filter(grid=grid)
    return qs


# --- Excel import and export --------------------------------------------------------------------

SHEET_TITLE = "地址库"
H_TEXT, H_BUILDING, H_GRID, H_LON, H_LAT, H_SYSTEM = "地址", "楼院编码", "网格编码", "经度", "纬度", "坐标系"
HEADERS = (H_TEXT, H_BUILDING, H_GRID, H_LON, H_LAT, H_SYSTEM)
IMPORT_BATCH = 1000


def _number() -> excel.Parser:
    def parse(value: CellValue) -> float:
        if isinstance(value, bool):
            raise CellError(_("应为数字"))
        if isinstance(value, int | float):
            return float(value)
        raw = str(value).strip()
        try:
            return float(raw)
        except ValueError:
            raise CellError(_("应为数字，不能是「%(v)s」") % {"v": raw}) from None

    return parse


def _system() -> excel.Parser:
    def parse(value: CellValue) -> CoordSystem:
        try:
            return parse_coord_system(str(value))
        except CoordinatesError as exc:
            raise CellError(str(exc)) from None

    return parse


ADDRESS_SHEET = SheetSpec(
    title=SHEET_TITLE,
    columns=(
        Column(H_TEXT, "text", excel.text(max_length=TEXT_MAX_LENGTH)),
        Column(H_BUILDING, "building", excel.text(max_length=32), required=False, default=""),
        Column(H_GRID, "grid", excel.text(max_length=32), required=False, default=""),
        Column(H_LON, "lon", _number(), required=False),
        Column(H_LAT, "lat", _number(), required=False),
        Column(H_SYSTEM, "system", _system(), required=False),
    ),
)


@dataclass(frozen=True)
class AddressImportResult:
    created: int


def _plan_rows(data: WorkbookData, issues: Issues, plan: list[Address]) -> None:
    """The cross-row and database checks; fills ``plan`` with the addresses to create."""
    rows = data.rows(SHEET_TITLE)

    def bad(row: int, column: str, message: str) -> None:
        issues.add(sheet=SHEET_TITLE, row=row, column=column, message=message)

    index = grid_index()
    found_grid_ids: dict[int, int] = {}  # row → grid id found from the point
    codes = {r["building"] for r in rows if r["building"]} | {r["grid"] for r in rows if r["grid"]}
    units = {u.code: u for u in Unit.objects.select_related("parent").filter(code__in=codes)}
    seen: dict[str, int] = {}
    normalized_rows: dict[str, list[int]] = {}
    for r in rows:
        normalized = normalize_address(r["text"])
        if not normalized:
            bad(r.row, H_TEXT, _("地址去掉标点和空格后为空"))
            continue
        if len(normalized) > TEXT_MAX_LENGTH:
            bad(r.row, H_TEXT, _("地址规范化后超过%(n)d个字符") % {"n": TEXT_MAX_LENGTH})
            continue
        normalized_rows.setdefault(normalized, []).append(r.row)
    existing = {
        n: t
        for n, t in Address.objects.filter(normalized__in=list(normalized_rows)).values_list(
            "normalized", "text"
        )
    }

    for r in rows:
        ok = True
        normalized = normalize_address(r["text"])
        if not normalized or len(normalized) > TEXT_MAX_LENGTH:
            continue
        first = seen.setdefault(normalized, r.row)
        if first != r.row:
            bad(r.row, H_TEXT, _("与第%(first)d行是同一地址（规范化后相同）") % {"first": first})
            ok = False
        if normalized in existing:
            bad(r.row, H_TEXT, _("地址库中已有相同地址「%(t)s」") % {"t": existing[normalized]})
            ok = False

        building: Unit | None = None
        if r["building"]:
            building = units.get(r["building"])
            if building is None:
                bad(r.row, H_BUILDING, _("楼院编码「%(c)s」不存在") % {"c": r["building"]})
                ok = False
            elif building.kind != UnitKind.BUILDING:
                bad(
                    r.row,
                    H_BUILDING,
                    _("「%(c)s」%(n)s不是楼院") % {"c": r["building"], "n": building.name},
                )
                ok = False
                building = None
        grid: Unit | None = None
        if r["grid"]:
            grid = units.get(r["grid"])
            if grid is None:
                bad(r.row, H_GRID, _("网格编码「%(c)s」不存在") % {"c": r["grid"]})
                ok = False
            elif grid.kind != UnitKind.GRID:
                bad(r.row, H_GRID, _("「%(c)s」%(n)s不是网格") % {"c": r["grid"], "n": grid.name})
                ok = False
                grid = None
        if building is not None:
            own = _building_grid(building)
            if grid is not None and own is not None and own.pk != grid.pk:
                bad(
                    r.row,
                    H_GRID,
                    _("楼院「%(b)s」属于网格「%(own)s」，与填写的网格「%(g)s」不一致")
                    % {"b": r["building"], "own": own.code, "g": grid.code},
                )
                ok = False
            grid = grid or own

        lon, lat = r["lon"], r["lat"]
        if (lon is None) != (lat is None):
            bad(r.row, H_LAT if lat is None else H_LON, _("经度和纬度须同时填写或同时不填"))
            ok = False
            lon = lat = None
        if lon is not None and lat is not None:
            if r["system"] is None:
                bad(r.row, H_SYSTEM, _("填写了经纬度时必须注明坐标系（WGS84、GCJ02或BD09）"))
                ok = False
            else:
                try:
                    lon, lat = to_wgs84(lon, lat, r["system"])
                except CoordinatesError as exc:
                    bad(r.row, H_LON, str(exc))
                    ok = False
                else:
                    if grid is not None:
                        if grid_covers(grid, lon, lat, fresh=False) is False:
                            bad(
                                r.row,
                                H_LON,
                                _("坐标（%(lon).6f, %(lat).6f）不在网格「%(g)s」的范围内")
                                % {"lon": r["lon"], "lat": r["lat"], "g": grid.code},
                            )
                            ok = False
                    else:
                        grid_id = index.lookup(lon, lat)
                        if grid_id is not None:
                            found_grid_ids[r.row] = grid_id
        if ok:
            plan.append(
                Address(
                    text=r["text"].strip(),
                    normalized=normalized,
                    building=building,
                    grid_id=grid.pk if grid is not None else found_grid_ids.get(r.row),
                    lon=lon,
                    lat=lat,
                )
            )


@transaction.atomic
def addresses_import(*, actor: Any | None, source: excel.Source) -> AddressImportResult:
    """Import an address workbook (sheet 地址库; columns 地址, 楼院编码, 网格编码, 经度, 纬度, 坐标系).

    All or nothing: any bad row refuses the whole file with every problem named
    (``core.excel.ExcelImportError``). One audit row (``orgs.address_import``) for the import.
    """
    _require_manager(actor)
    plan: list[Address] = []
    excel.read_workbook(source, [ADDRESS_SHEET], checks=[lambda data, issues: _plan_rows(data, issues, plan)])
    Address.objects.bulk_create(plan, batch_size=IMPORT_BATCH)
    audit_record(
        event_type="orgs.address_import",
        actor=actor,
        object_type="orgs.Address",
        extra={"created": len(plan)},
    )
    return AddressImportResult(created=len(plan))


def _export_rows(system: CoordSystem) -> Iterator[list[Any]]:
    for a in address_list().iterator(chunk_size=2000):
        lon: float | None = a.lon
        lat: float | None = a.lat
        if lon is not None and lat is not None:
            lon, lat = from_wgs84(lon, lat, system)
        yield [
            a.text,
            a.building.code if a.building else "",
            a.grid.code if a.grid else "",
            round(lon, 7) if lon is not None else None,
            round(lat, 7) if lat is not None else None,
            system.name if lon is not None else "",
        ]


def addresses_export(*, actor: Any | None, system: CoordSystem | str = CoordSystem.WGS84) -> bytes:
    """The whole address list as an .xlsx in the import's format; audited (``orgs.address_export``)."""
    _require_manager(actor)
    coord = parse_coord_system(system)
    data = excel.write_workbook([SheetOut(title=SHEET_TITLE, headers=HEADERS, rows=_export_rows(coord))])
    audit_record(
        event_type="orgs.address_export",
        actor=actor,
        object_type="orgs.Address",
        extra={"count": Address.objects.count(), "system": str(coord)},
    )
    return data


def addresses_export_to(path: str | Path, *, actor: Any | None, system: CoordSystem | str) -> int:
    """Write the export to a file; returns the number of addresses."""
    Path(path).write_bytes(addresses_export(actor=actor, system=system))
    return Address.objects.count()


__all__: Sequence[str] = [
    "ADDRESS_SHEET",
    "AddressError",
    "AddressImportResult",
    "address_create",
    "address_delete",
    "address_list",
    "address_lookup",
    "address_update",
    "addresses_export",
    "addresses_import",
    "chinese_numeral_to_int",
    "normalize_address",
]
