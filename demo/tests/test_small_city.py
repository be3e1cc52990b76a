"""Read-only checks on one small demo city, seeded once for the module (rolled back at the end)."""

from __future__ import annotations

from collections import Counter

import pytest
import shapely
from django.contrib.auth import get_user_model
from django.db import transaction
from shapely.geometry import Point, Polygon

from core.models.user import AdminRole
from demo.geometry import planned_counts
from demo.services import (
    CITY_CODE,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    demo_accounts,
    demo_accounts_text,
    demo_city_seed,
)
from orgs.choices import Role, UnitKind
from orgs.grid_services import grid_index_invalidate
from orgs.models import Address, Membership, Unit, UnitClosure

pytestmark = pytest.mark.django_db

SMALL = 0.05


@pytest.fixture(scope="module")
def small_city(django_db_setup, django_db_blocker):
    """Seed once; every test runs in a savepoint inside this transaction, rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        counts = demo_city_seed(scale=SMALL)
        yield counts
        transaction.set_rollback(True)
    grid_index_invalidate()  # the rolled-back grids must not linger in the cached point index


@pytest.fixture(autouse=True)
def _city(small_city):
    return small_city


def _kind_counts():
    return Counter(Unit.objects.values_list("kind", flat=True))


def _polygon(boundary):
    """A stored GeoJSON Polygon as shapely (exterior ring only: the demo grids have no holes)."""
    return Polygon(boundary["coordinates"][0])


def _f(value):
    assert value is not None
    return float(value)


def test_small_scale_counts_follow_the_scale(small_city):
    counts = small_city
    planned = planned_counts(SMALL)
    kinds = _kind_counts()
    assert kinds[UnitKind.CITY] == 1
    assert kinds[UnitKind.DISTRICT] == counts["districts"] == 6
    assert kinds[UnitKind.STREET] == counts["streets"] == planned.streets == 6
    assert kinds[UnitKind.COMMUNITY] == counts["communities"] == 30
    assert kinds[UnitKind.GRID] == counts["grids"] == planned.grids
    assert 280 <= planned.grids <= 320
    assert 1.6 * planned.grids <= kinds[UnitKind.BUILDING] <= 2.4 * planned.grids
    assert Address.objects.count() == kinds[UnitKind.BUILDING]


def test_departments_carry_the_names_the_catalog_resolves_and_district_departments():
    city = Unit.objects.get(code=CITY_CODE)
    city_depts = set(
        Unit.objects.filter(parent=city, kind=UnitKind.DEPARTMENT).values_list("name", flat=True)
    )
    assert len(city_depts) == 41
    for name in ("市城市管理委员会", "市公安局", "市住房公积金管理中心", "市民热线服务中心"):
        assert name in city_depts
    district_depts = Unit.objects.filter(parent__kind=UnitKind.DISTRICT, kind=UnitKind.DEPARTMENT)
    assert district_depts.count() == 12
    assert district_depts.filter(name__endswith="城市管理委员会").count() == 6


def test_every_station_hangs_under_its_department_and_is_located_in_a_street():
    streets = Unit.objects.filter(kind=UnitKind.STREET).count()
    stations = Unit.objects.filter(kind=UnitKind.STATION).select_related("parent", "located_in")
    assert stations.count() == 3 * streets
    for station in stations:
        assert station.located_in is not None
        assert station.located_in.kind == UnitKind.STREET
        assert station.parent is not None
        assert station.parent.kind == UnitKind.DEPARTMENT
    by_dept = Counter(s.parent.name for s in stations if s.parent is not None)
    assert by_dept == {"市公安局": streets, "市市场监督管理局": streets, "市城管执法局": streets}


def test_codes_follow_the_documented_scheme():
    for unit in Unit.objects.select_related("parent"):
        parent = unit.parent
        if unit.kind == UnitKind.CITY:
            assert unit.code == CITY_CODE
        elif unit.kind in (UnitKind.DISTRICT, UnitKind.STREET, UnitKind.COMMUNITY):
            assert len(unit.code) == 12 and unit.code.isdigit() and unit.code.startswith("9901")
        elif unit.kind == UnitKind.GRID:
            assert parent is not None
            assert len(unit.code) == 15 and unit.code.startswith(parent.code)
        elif unit.kind == UnitKind.BUILDING:
            assert parent is not None
            assert len(unit.code) == 17 and unit.code.startswith(parent.code)
        elif unit.kind == UnitKind.STATION:
            assert parent is not None
            assert unit.code.startswith(parent.code + "S")
    districts = Unit.objects.filter(kind=UnitKind.DISTRICT).order_by("code")
    assert [d.code for d in districts] == [f"9901{n:02d}000000" for n in range(1, 7)]
    for street in Unit.objects.filter(kind=UnitKind.STREET).select_related("parent"):
        assert street.parent is not None
        assert street.code[:6] == street.parent.code[:6] and street.code.endswith("000")


def test_levels_and_closure_rows_match_the_parent_links():
    units = {u.pk: u for u in Unit.objects.all()}
    for unit in units.values():
        expected = 0 if unit.parent_id is None else units[unit.parent_id].level + 1
        assert unit.level == expected
    assert UnitClosure.objects.count() == sum(u.level + 1 for u in units.values())
    grid = Unit.objects.filter(kind=UnitKind.GRID).first()
    assert grid is not None
    ancestors = UnitClosure.objects.filter(descendant=grid).order_by("depth")
    assert [a.ancestor.kind for a in ancestors] == ["grid", "community", "street", "district", "city"]


def test_every_grid_has_a_valid_boundary_and_bounds_and_parents_have_bounds():
    for grid in Unit.objects.filter(kind=UnitKind.GRID):
        assert grid.boundary is not None
        assert grid.boundary["type"] == "Polygon"
        polygon = _polygon(grid.boundary)
        assert polygon.is_valid
        assert polygon.bounds == (grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat)
        assert 116.0 < polygon.centroid.x < 116.9 and 39.6 < polygon.centroid.y < 40.1
    territorial = Unit.objects.filter(kind__in=[UnitKind.CITY, UnitKind.DISTRICT, UnitKind.STREET])
    assert all(u.min_lon is not None and u.max_lat is not None for u in territorial)
    assert not Unit.objects.exclude(kind=UnitKind.GRID).filter(boundary__isnull=False).exists()


def test_each_community_is_exactly_the_union_of_its_grids():
    grids_by_community: dict[int, list[Polygon]] = {}
    for parent_id, boundary in Unit.objects.filter(kind=UnitKind.GRID).values_list("parent_id", "boundary"):
        grids_by_community.setdefault(parent_id, []).append(_polygon(boundary))
    for community in Unit.objects.filter(kind=UnitKind.COMMUNITY):
        union = shapely.union_all(grids_by_community[community.pk])
        assert isinstance(union, Polygon)
        assert len(union.interiors) == 0
        assert union.bounds == (community.min_lon, community.min_lat, community.max_lon, community.max_lat)


def test_addresses_point_into_their_building_grid_and_are_found_by_point():
    from orgs.grid_services import grid_for_point

    addresses = Address.objects.select_related("building", "grid")
    assert addresses.count() > 0
    for address in addresses:
        assert address.building is not None and address.grid is not None
        assert address.building.parent_id == address.grid_id
        assert address.building.kind == UnitKind.BUILDING
        assert address.text.startswith("民安市")
        assert address.normalized
        polygon = _polygon(address.grid.boundary)
        assert polygon.contains(Point(_f(address.lon), _f(address.lat)))
    for address in addresses[:50]:
        found = grid_for_point(_f(address.lon), _f(address.lat))
        assert found is not None and found.pk == address.grid_id


def test_demo_accounts_cover_every_role_and_the_three_administrators():
    users = get_user_model().objects.filter(username__in=[s.username for s in DEMO_ACCOUNTS])
    assert users.count() == len(DEMO_ACCOUNTS)
    for user in users:
        assert user.is_demo
        assert not user.must_change_password
        assert not user.is_superuser
        assert user.check_password(DEMO_PASSWORD)
    roles = set(Membership.objects.filter(user__in=users).values_list("role", flat=True))
    assert roles == set(Role.values)
    admins = users.exclude(admin_role=AdminRole.NONE)
    assert sorted(admins.values_list("admin_role", flat=True)) == sorted(
        [AdminRole.AUDIT, AdminRole.SECURITY, AdminRole.SYSTEM]
    )
    assert all(a.is_staff for a in admins)


def test_demo_accounts_sit_at_sensible_units():
    where = {
        (m.user.username, m.role): m.unit
        for m in Membership.objects.select_related("user", "unit").filter(user__is_demo=True)
    }
    # The hotline agent, city dispatcher and callback agent act at the city, where orders from
    # every channel are dispatched (the orders dispatch level), not inside the 12345 department.
    assert where[("demo_agent", Role.AGENT)].kind == UnitKind.CITY
    assert where[("demo_dispatcher", Role.DISPATCHER)].kind == UnitKind.CITY
    assert where[("demo_callback", Role.CALLBACK_AGENT)].kind == UnitKind.CITY
    assert where[("demo_district_dispatcher", Role.DISPATCHER)].kind == UnitKind.DISTRICT
    assert where[("demo_street_handler", Role.HANDLER)].kind == UnitKind.STREET
    assert where[("demo_secretary", Role.SECRETARY)].kind == UnitKind.COMMUNITY
    assert where[("demo_grid_worker", Role.GRID_WORKER)].kind == UnitKind.GRID
    assert where[("demo_dept_handler", Role.HANDLER)].name == "市城市管理委员会"
    assert where[("demo_leader", Role.LEADER)].kind == UnitKind.CITY
    grid = where[("demo_grid_worker", Role.GRID_WORKER)]
    community = where[("demo_secretary", Role.SECRETARY)]
    street = where[("demo_street_handler", Role.HANDLER)]
    assert grid.parent_id == community.pk and community.parent_id == street.pk


def test_demo_accounts_text_lists_every_account_with_the_password():
    text = demo_accounts_text()
    assert DEMO_PASSWORD in text
    for spec in DEMO_ACCOUNTS:
        assert spec.username in text
    assert [a.username for a in demo_accounts()] == [s.username for s in DEMO_ACCOUNTS]


def test_the_catalog_rules_lead_to_the_seeded_city_departments():
    from catalog.models import CatalogItem, ResponsibilityRule

    assert CatalogItem.objects.count() == 235
    rules = ResponsibilityRule.objects.select_related("lead_unit")
    assert rules.count() == 235
    leads = [r.lead_unit for r in rules if r.lead_unit is not None]
    assert leads
    assert all(u.kind == UnitKind.DEPARTMENT and u.code.startswith("990100B") for u in leads)
