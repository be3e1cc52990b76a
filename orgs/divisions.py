"""Real administrative divisions: build a city's districts, streets and communities from the
vendored 统计用区划代码 (``orgs/data/divisions_2023.csv``, see ``orgs/data/README.md``).

The official 12-digit codes become ``Unit.code``. Update rules when the import is run again:

- a code not yet in the tree is created under its parent (in bulk: one query per level, closure
  rows from ``orgs.services.closure_rows_for``, one summary audit row ``orgs.divisions_import``);
- a unit whose name changed is renamed (``orgs.services.unit_rename``, audited);
- a unit whose parent changed is moved (``orgs.services.unit_move``, audited) only when neither it
  nor anything below it has activity (users today; orders once the orders app registers its
  check with ``register_unit_activity_check``); otherwise the move is refused and reported;
- a district, street or community under the city whose code is no longer in the source is never
  deleted or deactivated: it is reported, with whether it has activity, for an administrator to
  decide;
- a code already used by a unit of another kind, or a row whose parent is inactive, is reported
  and skipped (with everything below it).

``--dry-run`` runs the same code in a transaction that is rolled back, so its report is exact.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record
from orgs import permissions
from orgs.choices import UnitKind
from orgs.models import Membership, Unit, UnitClosure
from orgs.services import OrgError, closure_rows_for, unit_move, unit_rename

DIVISIONS_CSV = Path(__file__).resolve().parent / "data" / "divisions_2023.csv"
LEVEL_KINDS: dict[str, str] = {
    "city": UnitKind.CITY,
    "district": UnitKind.DISTRICT,
    "street": UnitKind.STREET,
    "community": UnitKind.COMMUNITY,
}
LEVEL_ORDER = ("city", "district", "street", "community")
DIVISION_KINDS = (UnitKind.DISTRICT, UnitKind.STREET, UnitKind.COMMUNITY)
CREATE_BATCH = 2000


class DivisionError(ValueError):
    """A source file or city code that cannot be imported; the message is Chinese."""


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    parent_code: str
    level: str

    @property
    def kind(self) -> str:
        return LEVEL_KINDS[self.level]


def normalize_city_code(code: str) -> str:
    """A city's code given with 4, 6 or 12 digits → the 12-digit form."""
    digits = (code or "").strip()
    if not digits.isdigit() or len(digits) not in (4, 6, 12):
        raise DivisionError(_("城市代码「%(c)s」应为4位、6位或12位数字") % {"c": code})
    return digits.ljust(12, "0")


def read_divisions(path: Path | str = DIVISIONS_CSV) -> list[Division]:
    """Every row of a divisions CSV (code, name, parent_code, level), checked for shape."""
    rows: list[Division] = []
    problems: list[str] = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DivisionError(_("无法读取区划文件：%(e)s") % {"e": exc}) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = {"code", "name", "parent_code", "level"} - set(reader.fieldnames or [])
    if missing:
        raise DivisionError(_("区划文件缺少列：%(c)s") % {"c": "、".join(sorted(missing))})
    for number, raw in enumerate(reader, start=2):
        code, name = (raw["code"] or "").strip(), (raw["name"] or "").strip()
        parent, level = (raw["parent_code"] or "").strip(), (raw["level"] or "").strip()
        if len(code) != 12 or not code.isdigit():
            problems.append(_("第%(n)d行：代码「%(c)s」不是12位数字") % {"n": number, "c": code})
        elif level not in LEVEL_KINDS:
            problems.append(_("第%(n)d行：未知层级「%(l)s」") % {"n": number, "l": level})
        elif not name:
            problems.append(_("第%(n)d行：名称为空") % {"n": number})
        elif (level == "city") != (parent == ""):
            problems.append(_("第%(n)d行：只有城市没有上级代码") % {"n": number})
        else:
            rows.append(Division(code=code, name=name, parent_code=parent, level=level))
    if problems:
        raise DivisionError("\n".join(problems))
    return rows


def city_divisions(city_code: str, path: Path | str = DIVISIONS_CSV) -> list[Division]:
    """The city's row and everything below it, parents first."""
    code = normalize_city_code(city_code)
    rows = read_divisions(path)
    children: dict[str, list[Division]] = {}
    city: Division | None = None
    for row in rows:
        if row.code == code and row.level == "city":
            city = row
        children.setdefault(row.parent_code, []).append(row)
    if city is None:
        cities = "、".join(f"{r.code} {r.name}" for r in rows if r.level == "city")
        raise DivisionError(
            _("区划文件中没有城市「%(c)s」；可导入的城市：%(all)s") % {"c": city_code, "all": cities}
        )
    result = [city]
    frontier = [city]
    while frontier:
        nxt: list[Division] = []
        for parent in frontier:
            for child in children.get(parent.code, []):
                if LEVEL_ORDER.index(child.level) != LEVEL_ORDER.index(parent.level) + 1:
                    raise DivisionError(
                        _("「%(c)s」%(n)s的层级与上级「%(p)s」不相接")
                        % {"c": child.code, "n": child.name, "p": parent.code}
                    )
                nxt.append(child)
        result.extend(nxt)
        frontier = nxt
    return result


# --- activity: the hook for "has orders or users" -----------------------------------------------

UnitActivityCheck = Callable[[Collection[int]], set[int]]
_activity_checks: list[UnitActivityCheck] = []


def register_unit_activity_check(check: UnitActivityCheck) -> None:
    """Let a higher app (orders) say which of the given unit ids have its records.

    ``orgs`` cannot import ``orders`` (STYLE.md §10), so the orders app registers, e.g. in its
    ``AppConfig.ready``: ``register_unit_activity_check(units_with_orders)``.
    """
    if check not in _activity_checks:
        _activity_checks.append(check)


def units_with_memberships(unit_ids: Collection[int]) -> set[int]:
    return set(Membership.objects.filter(unit_id__in=list(unit_ids)).values_list("unit_id", flat=True))


def units_with_activity(unit_ids: Collection[int]) -> set[int]:
    """The units among ``unit_ids`` that have users, or records of any registered app (orders)."""
    found = units_with_memberships(unit_ids)
    for check in _activity_checks:
        found |= check(unit_ids)
    return found


def subtrees_with_activity(unit_ids: Collection[int]) -> set[int]:
    """The units among ``unit_ids`` that have activity themselves or anywhere below them."""
    pairs = list(
        UnitClosure.objects.filter(ancestor_id__in=list(unit_ids)).values_list("ancestor_id", "descendant_id")
    )
    active = units_with_activity({d for _a, d in pairs})
    return {a for a, d in pairs if d in active}


# --- the import ---------------------------------------------------------------------------------


@dataclass
class DivisionReport:
    city_code: str
    dry_run: bool = False
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVEL_ORDER, 0))
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # code, old, new
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # code, old parent, new parent
    move_refused: list[tuple[str, str, str, str]] = field(default_factory=list)  # code, name, old, new
    missing: list[tuple[str, str, bool]] = field(default_factory=list)  # code, name, has activity
    skipped: list[str] = field(default_factory=list)  # Chinese explanations

    @property
    def created_total(self) -> int:
        return sum(self.created.values())

    def lines(self) -> list[str]:
        labels = {
            "city": _("城市"),
            "district": _("区县"),
            "street": _("街道/乡镇"),
            "community": _("社区/村"),
        }
        out = [
            (_("【试运行，未写入】") if self.dry_run else "")
            + _("城市 %(c)s：新建 %(n)d 个单位（%(detail)s），改名 %(r)d 个，调整上级 %(m)d 个。")
            % {
                "c": self.city_code,
                "n": self.created_total,
                "detail": "，".join(f"{labels[k]} {v}" for k, v in self.created.items()),
                "r": len(self.renamed),
                "m": len(self.moved),
            }
        ]
        out += [_("改名：%(c)s「%(o)s」→「%(n)s」") % {"c": c, "o": o, "n": n} for c, o, n in self.renamed]
        out += [_("调整上级：%(c)s 由 %(o)s 改到 %(n)s") % {"c": c, "o": o, "n": n} for c, o, n in self.moved]
        out += [
            _("未调整上级（该单位或其下级已有人员或工单）：%(c)s %(name)s 应由 %(o)s 改到 %(n)s")
            % {"c": c, "name": name, "o": o, "n": n}
            for c, name, o, n in self.move_refused
        ]
        out += [
            (
                _("区划中已没有，未删除（已有人员或工单）：%(c)s %(n)s")
                if active
                else _("区划中已没有，未删除：%(c)s %(n)s")
            )
            % {"c": c, "n": n}
            for c, n, active in self.missing
        ]
        out += self.skipped
        return out


class _DryRunRollbackError(Exception):
    pass


def import_divisions(
    *, actor: Any | None, city_code: str, dry_run: bool = False, path: Path | str = DIVISIONS_CSV
) -> DivisionReport:
    """Create or update a city's division tree from the vendored CSV; see the module docstring.

    ``actor`` is the acting user (must be allowed to manage units) or None for system work.
    """
    if actor is not None and not permissions.can_manage_units(actor):
        raise PermissionDenied(_("没有维护组织机构的权限。"))
    rows = city_divisions(city_code, path)
    report = DivisionReport(city_code=rows[0].code, dry_run=dry_run)
    try:
        with transaction.atomic():
            _apply(actor=actor, rows=rows, report=report, source=Path(path).name)
            if dry_run:
                raise _DryRunRollbackError
    except _DryRunRollbackError:
        pass
    return report


def _apply(*, actor: Any | None, rows: list[Division], report: DivisionReport, source: str) -> None:
    source_codes = {r.code for r in rows}
    units: dict[str, Unit] = {
        u.code: u for u in Unit.objects.select_related("parent").filter(code__in=list(source_codes))
    }
    skipped_codes: set[str] = set()
    to_create: dict[str, list[Division]] = {level: [] for level in LEVEL_ORDER}
    renames: list[tuple[Unit, str]] = []
    moves: list[tuple[Unit, Division]] = []

    for row in rows:
        if row.parent_code in skipped_codes:
            skipped_codes.add(row.code)
            continue
        unit = units.get(row.code)
        parent = units.get(row.parent_code) if row.parent_code else None
        if parent is not None and not parent.is_active and unit is None:
            report.skipped.append(
                _("未新建 %(c)s %(n)s：上级 %(p)s 已停用")
                % {"c": row.code, "n": row.name, "p": row.parent_code}
            )
            skipped_codes.add(row.code)
            continue
        if unit is None:
            to_create[row.level].append(row)
            continue
        if unit.kind != row.kind:
            report.skipped.append(
                _("未处理 %(c)s %(n)s：该编码已被「%(u)s」（%(k)s）使用")
                % {"c": row.code, "n": row.name, "u": unit.name, "k": unit.get_kind_display()}
            )
            skipped_codes.add(row.code)
            continue
        if unit.name != row.name:
            renames.append((unit, row.name))
        current_parent_code = unit.parent.code if unit.parent_id and unit.parent else ""
        if current_parent_code != row.parent_code:
            moves.append((unit, row))

    created: list[Unit] = []
    for level in LEVEL_ORDER:
        batch = [
            Unit(
                code=row.code,
                name=row.name,
                kind=row.kind,
                parent=units[row.parent_code] if row.parent_code else None,
                level=units[row.parent_code].level + 1 if row.parent_code else 0,
            )
            for row in to_create[level]
        ]
        made = Unit.objects.bulk_create(batch, batch_size=CREATE_BATCH)
        for unit in made:
            units[unit.code] = unit
        created.extend(made)
        report.created[level] = len(made)
    if created:
        UnitClosure.objects.bulk_create(closure_rows_for(created), batch_size=5000)

    for unit, name in renames:
        old = unit.name
        unit_rename(actor=actor, unit=unit, name=name)
        report.renamed.append((unit.code, old, name))

    if moves:
        busy = subtrees_with_activity([u.pk for u, _row in moves])
        for unit, row in moves:
            old_parent = unit.parent.code if unit.parent else ""
            if unit.pk in busy:
                report.move_refused.append((unit.code, unit.name, old_parent, row.parent_code))
                continue
            try:
                unit_move(
                    actor=actor, unit=unit, new_parent=units[row.parent_code] if row.parent_code else None
                )
            except OrgError as exc:
                report.skipped.append(
                    _("未调整上级 %(c)s %(n)s：%(e)s") % {"c": unit.code, "n": unit.name, "e": exc}
                )
                continue
            report.moved.append((unit.code, old_parent, row.parent_code))

    city = units[rows[0].code]
    below = list(
        Unit.objects.filter(
            pk__in=UnitClosure.objects.filter(ancestor_id=city.pk, depth__gt=0).values("descendant_id"),
            kind__in=DIVISION_KINDS,
        )
        .exclude(code__in=list(source_codes))
        .order_by("code")
        .values_list("pk", "code", "name")
    )
    active = subtrees_with_activity([pk for pk, _c, _n in below]) if below else set()
    report.missing = [(code, name, pk in active) for pk, code, name in below]

    if report.created_total:
        audit_record(
            event_type="orgs.divisions_import",
            actor=actor,
            object_type="orgs.Unit",
            object_id=city.pk,
            extra={
                "city": city.code,
                "created": report.created,
                "source": source,
            },
        )


def import_report_counts(rows: Iterable[Division]) -> dict[str, int]:
    """How many rows of each level (for checks and the command's summary)."""
    counts = dict.fromkeys(LEVEL_ORDER, 0)
    for row in rows:
        counts[row.level] += 1
    return counts
