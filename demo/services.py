"""Build the seeded, deterministic demo city 民安市 (``demo_city_seed``) and list its demo accounts.

Unit code scheme (12-digit 统计用区划代码 style in the unused province range 99, so it never clashes
with a real division import):

==============  ==========================  =====================================
unit            code                        example
==============  ==========================  =====================================
city            ``990100000000``            民安市
district        ``9901DD000000``            990101000000 (DD = 01..06)
street / town   ``9901DDSSS000``            990101001000 (SSS = 001..)
community       ``9901DDSSSCCC``            990101001001 (CCC = 001..)
grid            community + ``NNN``         990101001001001 (15 digits)
building        grid + ``BB``               99010100100100101 (17 digits)
city dept.      ``990100B0NN``              990100B001 (市民热线服务中心 = 990100B000)
district dept.  ``9901DDB00N``              990101B001 (区城管委), 990101B002 (区住建委)
station         dept + ``S`` + ``DDSSS``    990100B009S01001 (派出所 of street 01/001)
==============  ==========================  =====================================

Everything is written in ONE transaction: a failed seed leaves nothing behind, so "the city
exists" (``--if-empty``) always means "the whole city exists". Rows go in with ``bulk_create`` in
batches, parents first, then the closure rows; one audit row ``demo.seed`` summarises the seed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import Polygon

from core.audit import audit_record
from core.models.user import AdminRole
from demo import names
from demo.geometry import CityPlan, GridPlan, plan_city, point_in_cell
from orgs.addresses import normalize_address
from orgs.choices import Role, UnitKind
from orgs.models import Address, Membership, Unit, UnitClosure
from orgs.services import closure_rows_for, membership_grant

CITY_CODE = "990100000000"
DEFAULT_SEED = 20250101
DEMO_PASSWORD = "Demo@12345"  # noqa: S105 - documented demo password; demo accounts log in only with DEMO=True
BATCH_SIZE = 2000

ProgressFn = Callable[[str, int], None]
M = TypeVar("M", bound=models.Model)


class DemoCityExistsError(Exception):
    """The demo city is already in the database."""


@dataclass(frozen=True)
class DemoAccountSpec:
    username: str
    display_name: str
    title: str  # what the account is for, shown when the accounts are printed
    unit_key: str  # "city", "hotline", "district", "street", "community", "grid" or "dept:<name>"
    role: str = ""  # orgs.choices.Role; empty for the three administrators
    admin_role: str = AdminRole.NONE


# One account per role at a sensible unit, plus the three administrators (SECURITY.md AC-3).
DEMO_ACCOUNTS: tuple[DemoAccountSpec, ...] = (
    DemoAccountSpec("demo_agent", "王敏", "话务员", "city", Role.AGENT),
    DemoAccountSpec("demo_dispatcher", "李强", "市级派单员", "city", Role.DISPATCHER),
    DemoAccountSpec("demo_callback", "赵丽", "回访员", "city", Role.CALLBACK_AGENT),
    DemoAccountSpec("demo_district_dispatcher", "张伟", "区级派单员", "district", Role.DISPATCHER),
    DemoAccountSpec("demo_street_handler", "刘洋", "街道承办人", "street", Role.HANDLER),
    DemoAccountSpec("demo_street_secretary", "陈静", "街道书记", "street", Role.SECRETARY),
    DemoAccountSpec("demo_secretary", "杨芳", "社区书记", "community", Role.SECRETARY),
    DemoAccountSpec("demo_grid_worker", "黄磊", "网格员", "grid", Role.GRID_WORKER),
    DemoAccountSpec("demo_volunteer", "周娜", "党员/志愿者", "community", Role.VOLUNTEER),
    DemoAccountSpec("demo_dept_handler", "吴涛", "部门承办人", "dept:市城市管理委员会", Role.HANDLER),
    DemoAccountSpec("demo_supervisor", "徐勇", "督办员", "city", Role.SUPERVISOR),
    DemoAccountSpec("demo_leader", "孙建国", "领导", "city", Role.LEADER),
    DemoAccountSpec("demo_display", "大屏", "指挥中心大屏", "city", Role.DISPLAY),
    DemoAccountSpec("demo_admin", "马秀英", "业务管理员", "city", Role.ADMINISTRATOR),
    DemoAccountSpec("demo_sysadmin", "系统管理员", "系统管理员", "", admin_role=AdminRole.SYSTEM),
    DemoAccountSpec("demo_secadmin", "安全管理员", "安全管理员", "", admin_role=AdminRole.SECURITY),
    DemoAccountSpec("demo_auditadmin", "审计管理员", "审计管理员", "", admin_role=AdminRole.AUDIT),
)

# The account insight's automatic dispatch acts as (``settings.INSIGHT_DISPATCHER_USERNAME``,
# which points here when DEMO is on): a dispatcher at the city, where orders wait for their first
# dispatch. A system account, not a person's: its password is unusable, so nobody logs in as it.
DEMO_AUTODISPATCH_USERNAME = "demo_autodispatch"
DEMO_SYSTEM_ACCOUNTS: tuple[DemoAccountSpec, ...] = (
    DemoAccountSpec(DEMO_AUTODISPATCH_USERNAME, "自动派单", "自动派单系统账号", "city", Role.DISPATCHER),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    display_name: str
    title: str
    unit_name: str


def demo_city_exists() -> bool:
    return Unit.objects.filter(code=CITY_CODE).exists()


def demo_accounts() -> list[DemoAccount]:
    """The demo accounts that exist, in the documented order, with the unit each one works in."""
    user_model = get_user_model()
    by_name = {
        u.username: u
        for u in user_model.objects.filter(
            username__in=[s.username for s in DEMO_ACCOUNTS], is_demo=True
        ).prefetch_related("memberships__unit")
    }
    out = []
    for spec in DEMO_ACCOUNTS:
        user = by_name.get(spec.username)
        if user is None:
            continue
        units = sorted(m.unit.name for m in user.memberships.all())
        out.append(
            DemoAccount(
                username=spec.username,
                password=DEMO_PASSWORD,
                display_name=spec.display_name,
                title=spec.title,
                unit_name="、".join(units) or _("管理后台"),
            )
        )
    return out


def demo_accounts_text() -> str:
    """The demo accounts as a printable table (the run command prints it)."""
    accounts = demo_accounts()
    if not accounts:
        return _("尚未生成演示城市：运行 python manage.py seed_demo")
    lines = [_("演示账号（仅在 DEMO=True 时可登录，密码均为 %(pw)s）：") % {"pw": DEMO_PASSWORD}]
    width = max(len(a.username) for a in accounts)
    lines.extend(f"  {a.username:<{width}}  {a.title}  {a.display_name}  @ {a.unit_name}" for a in accounts)
    system = set(
        get_user_model()
        .objects.filter(username__in=[s.username for s in DEMO_SYSTEM_ACCOUNTS], is_demo=True)
        .values_list("username", flat=True)
    )
    if system:
        lines.append(_("系统账号（不可登录，供自动派单等后台任务使用）："))
        lines.extend(
            f"  {spec.username:<{width}}  {spec.title}  {spec.display_name}"
            for spec in DEMO_SYSTEM_ACCOUNTS
            if spec.username in system
        )
    return "\n".join(lines)


def demo_system_accounts_ensure(*, now: datetime | None = None) -> list[str]:
    """Create the system accounts a demo city seeded before they existed lacks (at the city;
    unusable password). Returns the usernames created; nothing when the city is not there."""
    city = Unit.objects.filter(code=CITY_CODE).first()
    if city is None:
        return []
    user_model = get_user_model()
    existing = set(
        user_model.objects.filter(username__in=[s.username for s in DEMO_SYSTEM_ACCOUNTS]).values_list(
            "username", flat=True
        )
    )
    created = []
    with transaction.atomic():
        for spec in DEMO_SYSTEM_ACCOUNTS:
            if spec.username in existing or spec.unit_key != "city":
                continue
            user = user_model.objects.create(
                username=spec.username,
                display_name=spec.display_name,
                password=make_password(None),
                is_demo=True,
                must_change_password=False,
                password_changed_at=now or timezone.now(),
            )
            membership_grant(actor=None, user=user, unit=city, role=spec.role)  # audited
            created.append(spec.username)
    return created


# --- building the city -----------------------------------------------------------------------------


class _Stages:
    """Progress reporting: stage name and count, to whoever listens."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self._progress = progress

    def done(self, stage: str, count: int) -> None:
        if self._progress is not None:
            self._progress(stage, count)


def _bulk(model: type[M], objs: list[M]) -> list[M]:
    return model._default_manager.bulk_create(objs, batch_size=BATCH_SIZE)


def _bounds(boxes: Iterable[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    boxes = list(boxes)
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _unit(
    *,
    code: str,
    name: str,
    kind: str,
    parent: Unit | None,
    bounds: tuple[float, float, float, float] | None = None,
    boundary: dict[str, object] | None = None,
    located_in: Unit | None = None,
) -> Unit:
    unit = Unit(
        code=code,
        name=name,
        kind=kind,
        parent=parent,
        level=0 if parent is None else parent.level + 1,
        located_in=located_in,
        boundary=boundary,
    )
    if bounds is not None:
        unit.min_lon, unit.min_lat, unit.max_lon, unit.max_lat = bounds
    return unit


def _grid_points(grid: GridPlan, n: int, rng: random.Random) -> list[tuple[float, float]]:
    """n distinct points strictly inside the grid cell (a few tries each, then a fixed fallback)."""
    polygon = Polygon(grid.ring)
    points: list[tuple[float, float]] = []
    for _i in range(n):
        for _try in range(8):
            point = point_in_cell(grid.ring, rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8))
            if point not in points and polygon.contains(ShapelyPoint(point)):
                break
        else:  # pragma: no cover - needs eight misses in a row on a strongly concave cell
            inner = polygon.buffer(-1e-5).representative_point()
            point = (round(inner.x, 7), round(inner.y, 7))
        points.append(point)
    return points


@dataclass
class _Territory:
    city: Unit
    districts: list[Unit]
    streets: list[Unit]
    communities: list[Unit]
    grids: list[Unit]
    street_rural: dict[int, bool]


def _build_territory(plan: CityPlan, rng: random.Random, stages: _Stages) -> _Territory:
    all_grids = plan.grids()
    city = _unit(
        code=CITY_CODE,
        name=names.CITY_NAME,
        kind=UnitKind.CITY,
        parent=None,
        bounds=_bounds(g.bounds for g in all_grids),
    )
    city.save(force_insert=True)
    stages.done(_("市"), 1)

    districts: list[Unit] = []
    for d_no, d_plan in enumerate(plan.districts, start=1):
        grids = [g for s in d_plan.streets for c in s.communities for g in c.grids]
        districts.append(
            _unit(
                code=f"9901{d_no:02d}000000",
                name=names.DISTRICT_NAMES[d_no - 1],
                kind=UnitKind.DISTRICT,
                parent=city,
                bounds=_bounds(g.bounds for g in grids),
            )
        )
    _bulk(Unit, districts)
    stages.done(_("区县"), len(districts))

    words = names.two_char_words()
    street_pool = names.NamePool(words, rng)
    streets: list[Unit] = []
    street_rural: dict[int, bool] = {}
    for district, d_plan in zip(districts, plan.districts, strict=True):
        for s_no, s_plan in enumerate(d_plan.streets, start=1):
            grids = [g for c in s_plan.communities for g in c.grids]
            street = _unit(
                code=f"{district.code[:6]}{s_no:03d}000",
                name=street_pool.take("镇" if s_plan.rural else "街道"),
                kind=UnitKind.STREET,
                parent=district,
                bounds=_bounds(g.bounds for g in grids),
            )
            streets.append(street)
    _bulk(Unit, streets)
    street_plans = plan.streets()
    for street, s_plan in zip(streets, street_plans, strict=True):
        street_rural[street.pk] = s_plan.rural
    stages.done(_("街道/镇"), len(streets))

    community_pool = names.NamePool(words, rng)
    communities: list[Unit] = []
    for street, s_plan in zip(streets, street_plans, strict=True):
        for c_no, c_plan in enumerate(s_plan.communities, start=1):
            suffix = names.community_suffix(rng, rural=c_plan.rural)
            communities.append(
                _unit(
                    code=f"{street.code[:9]}{c_no:03d}",
                    name=community_pool.take(suffix),
                    kind=UnitKind.COMMUNITY,
                    parent=street,
                    bounds=_bounds(g.bounds for g in c_plan.grids),
                )
            )
    _bulk(Unit, communities)
    stages.done(_("社区/村"), len(communities))

    grids_units: list[Unit] = []
    for community, c_plan in zip(communities, plan.communities(), strict=True):
        for g_no, g_plan in enumerate(c_plan.grids, start=1):
            grids_units.append(
                _unit(
                    code=f"{community.code}{g_no:03d}",
                    name=f"{community.name}第{g_no}网格",
                    kind=UnitKind.GRID,
                    parent=community,
                    bounds=g_plan.bounds,
                    boundary=g_plan.geojson(),
                )
            )
    _bulk(Unit, grids_units)
    stages.done(_("网格"), len(grids_units))
    return _Territory(city, districts, streets, communities, grids_units, street_rural)


def _build_buildings(
    plan: CityPlan, territory: _Territory, rng: random.Random, stages: _Stages
) -> tuple[list[Unit], int]:
    """Buildings (1–3 per grid, ~2 on average) and one address for each."""
    words = names.two_char_words()
    road_pool = names.NamePool(words, rng)
    grid_plans = plan.grids()
    community_of = {c.pk: c for c in territory.communities}
    street_of = {s.pk: s for s in territory.streets}
    district_of = {d.pk: d for d in territory.districts}

    buildings: list[Unit] = []
    pending: list[tuple[str, int, float, float]] = []  # text, index into buildings, lon, lat
    roads: dict[int, list[str]] = {}
    estates: dict[int, list[str]] = {}
    house_no: dict[str, int] = {}
    for grid, g_plan in zip(territory.grids, grid_plans, strict=True):
        community = community_of[grid.parent_id]  # type: ignore[index]
        street = street_of[community.parent_id]  # type: ignore[index]
        district = district_of[street.parent_id]  # type: ignore[index]
        if street.pk not in roads:
            roads[street.pk] = [names.road_name(road_pool.take(""), rng) for _i in range(rng.randint(3, 6))]
            estates[street.pk] = [names.estate_name(w, rng) for w in rng.sample(words, 150)]
        road = rng.choice(roads[street.pk])
        house_no[road] = house_no.get(road, 0) + rng.randint(1, 12)
        estate_list = estates[street.pk]
        estate = estate_list.pop() if estate_list else f"{road}{house_no[road]}号院"
        count = rng.choice((1, 2, 2, 3))
        for b_no, (lon, lat) in enumerate(_grid_points(g_plan, count, rng), start=1):
            building = _unit(
                code=f"{grid.code}{b_no:02d}",
                name=f"{estate}{b_no}号楼",
                kind=UnitKind.BUILDING,
                parent=grid,
                bounds=(lon, lat, lon, lat),
            )
            text = f"{names.CITY_NAME}{district.name}{street.name}{road}{house_no[road]}号{estate}{b_no}号楼"
            pending.append((text, len(buildings), lon, lat))
            buildings.append(building)
    _bulk(Unit, buildings)
    stages.done(_("楼院"), len(buildings))

    addresses: list[Address] = []
    seen: set[str] = set()
    for text, index, lon, lat in pending:
        building = buildings[index]
        normalized = normalize_address(text)
        if normalized in seen:
            raise ValueError(f"duplicate demo address {text!r}")
        seen.add(normalized)
        addresses.append(
            Address(
                text=text,
                normalized=normalized,
                building=building,
                grid_id=building.parent_id,
                lon=lon,
                lat=lat,
            )
        )
    _bulk(Address, addresses)
    stages.done(_("地址"), len(addresses))
    return buildings, len(addresses)


def _build_departments(territory: _Territory, stages: _Stages) -> tuple[list[Unit], list[Unit], Unit]:
    city = territory.city
    hotline = _unit(code="990100B000", name=names.HOTLINE_CENTRE, kind=UnitKind.DEPARTMENT, parent=city)
    departments = [hotline] + [
        _unit(code=f"990100B{n:03d}", name=name, kind=UnitKind.DEPARTMENT, parent=city)
        for n, name in enumerate(names.CITY_DEPARTMENTS, start=1)
    ]
    departments += [
        _unit(
            code=f"{district.code[:6]}{tag}",
            name=f"{district.name}{suffix}",
            kind=UnitKind.DEPARTMENT,
            parent=district,
        )
        for district in territory.districts
        for tag, suffix in names.DISTRICT_DEPARTMENTS
    ]
    _bulk(Unit, departments)
    stages.done(_("部门"), len(departments))

    by_name = {d.name: d for d in departments}
    stations = []
    for dept_name, suffix in names.STATION_KINDS:
        dept = by_name[dept_name]
        for street in territory.streets:
            base = street.name.removesuffix("街道")
            stations.append(
                _unit(
                    code=f"{dept.code}S{street.code[4:9]}",
                    name=f"{base}{suffix}",
                    kind=UnitKind.STATION,
                    parent=dept,
                    located_in=street,
                )
            )
    _bulk(Unit, stations)
    stages.done(_("派出机构"), len(stations))
    return departments, stations, hotline


def _build_accounts(
    territory: _Territory, departments: list[Unit], hotline: Unit, now: datetime, stages: _Stages
) -> list[dict[str, str]]:
    """The fixed demo accounts and their memberships (bulk: the seed's one audit row lists them)."""
    # The first urban street (by code) of the city, its first community and grid.
    street = next((s for s in territory.streets if not territory.street_rural[s.pk]), territory.streets[0])
    community = next(c for c in territory.communities if c.parent_id == street.pk)
    grid = next(g for g in territory.grids if g.parent_id == community.pk)
    district = next(d for d in territory.districts if d.pk == street.parent_id)
    units = {
        "city": territory.city,
        "hotline": hotline,
        "district": district,
        "street": street,
        "community": community,
        "grid": grid,
    }
    units.update({f"dept:{d.name}": d for d in departments})

    user_model = get_user_model()
    password = make_password(DEMO_PASSWORD)  # hashed once: every demo account shares it
    users = [
        user_model(
            username=spec.username,
            display_name=spec.display_name,
            password=password,
            admin_role=spec.admin_role,
            is_staff=bool(spec.admin_role),
            is_demo=True,
            must_change_password=False,
            password_changed_at=now,
        )
        for spec in DEMO_ACCOUNTS
    ]
    unusable = make_password(None)  # system accounts: no password logs in
    users += [
        user_model(
            username=spec.username,
            display_name=spec.display_name,
            password=unusable,
            is_demo=True,
            must_change_password=False,
            password_changed_at=now,
        )
        for spec in DEMO_SYSTEM_ACCOUNTS
    ]
    users = _bulk(user_model, users)
    specs = (*DEMO_ACCOUNTS, *DEMO_SYSTEM_ACCOUNTS)
    memberships = [
        Membership(user=user, unit=units[spec.unit_key], role=spec.role)
        for user, spec in zip(users, specs, strict=True)
        if spec.role
    ]
    _bulk(Membership, memberships)
    stages.done(_("演示账号"), len(users))
    unit_of = {(m.user.username): m.unit for m in memberships}
    return [
        {
            "username": spec.username,
            "role": spec.role,
            "admin_role": spec.admin_role,
            "unit": unit_of[spec.username].code if spec.role else "",
        }
        for spec in specs
    ]


def _load_catalog(actor: Any) -> dict[str, int]:
    from catalog.services import catalog_load_demo

    return catalog_load_demo(actor=actor)


def demo_city_seed(
    *,
    actor: Any = None,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: ProgressFn | None = None,
    with_catalog: bool = True,
) -> dict[str, int]:
    """Build the whole demo city in one transaction and return what was created, by kind.

    Raises ``DemoCityExistsError`` when the city is already there and ``ValueError`` for a scale
    outside (0, 50]. The same scale and seed always give the same codes, names and boundaries.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    stages = _Stages(progress)
    plan = plan_city(scale=scale, seed=seed)
    stages.done(_("规划"), len(plan.grids()))
    rng = random.Random(seed + 1)  # noqa: S311 - deterministic demo data, not security
    with transaction.atomic():
        if demo_city_exists():
            raise DemoCityExistsError(_("演示城市已存在"))
        territory = _build_territory(plan, rng, stages)
        buildings, n_addresses = _build_buildings(plan, territory, rng, stages)
        departments, stations, hotline = _build_departments(territory, stages)

        ordered = [
            territory.city,
            *territory.districts,
            *territory.streets,
            *territory.communities,
            *territory.grids,
            *buildings,
            *departments,
            *stations,
        ]
        closure = closure_rows_for(sorted(ordered, key=lambda u: u.level))
        _bulk(UnitClosure, closure)
        stages.done(_("闭包表"), len(closure))

        accounts = _build_accounts(territory, departments, hotline, now, stages)
        counts: dict[str, int] = {
            "districts": len(territory.districts),
            "streets": len(territory.streets),
            "communities": len(territory.communities),
            "grids": len(territory.grids),
            "buildings": len(buildings),
            "addresses": n_addresses,
            "departments": len(departments),
            "stations": len(stations),
            "closure_rows": len(closure),
            "users": len(accounts),
            "memberships": sum(1 for a in accounts if a["role"]),
        }
        if with_catalog:
            catalog_counts = _load_catalog(actor)
            counts.update({f"catalog_{k}": v for k, v in catalog_counts.items()})
            stages.done(_("事项清单"), sum(catalog_counts.values()))
        audit_record(
            event_type="demo.seed",
            actor=actor,
            object_type="orgs.unit",
            object_id=territory.city.pk,
            after={"counts": counts, "accounts": accounts},
            extra={"scale": scale, "seed": seed, "seconds": round(time.perf_counter() - started, 2)},
            now=now,
        )
    return counts
