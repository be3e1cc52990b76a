"""unit_move keeps the closure table and levels right; rename, deactivate, delete are guarded and audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from orgs.choices import Role, UnitKind
from orgs.models import Address, Unit, UnitClosure
from orgs.selectors import unit_subtree
from orgs.services import (
    OrgError,
    closure_rebuild,
    membership_grant,
    unit_activate,
    unit_deactivate,
    unit_delete,
    unit_move,
    unit_rename,
    unit_update,
)
from orgs.tests.factories import UnitFactory, UserFactory

pytestmark = pytest.mark.django_db


def closure_set() -> set[tuple[int, int, int]]:
    return set(UnitClosure.objects.values_list("ancestor_id", "descendant_id", "depth"))


def assert_closure_matches_parents() -> None:
    """The incrementally kept closure equals one rebuilt from parent links, and levels agree."""
    kept = closure_set()
    closure_rebuild()
    assert kept == closure_set()
    for unit in Unit.objects.all():
        assert unit.level == UnitClosure.objects.filter(descendant=unit).count() - 1


def test_moving_a_street_relinks_its_subtree_to_the_new_district(tree, city_admin, audit):
    unit_move(actor=city_admin, unit=tree.street, new_parent=tree.other_district)
    tree.grid.refresh_from_db()
    assert tree.street.parent == tree.other_district
    assert set(unit_subtree(tree.other_district).values_list("code", flat=True)) == {
        "T2",
        "T21",
        "T211",
        "T2111",
        "T11",
        "T111",
        "T1111",
    }
    assert set(unit_subtree(tree.district).values_list("code", flat=True)) == {"T1"}
    assert tree.grid.level == 4
    assert_closure_matches_parents()
    events = audit.new()
    assert [e.event_type for e in events] == ["orgs.unit_move"]
    assert events[0].before["parent"] == tree.district.pk
    assert events[0].after["parent"] == tree.other_district.pk
    assert events[0].extra == {"subtree_size": 3}  # street, community, grid


def test_moving_a_department_under_a_district_changes_levels_of_its_subtree(tree, city_admin):
    unit_move(actor=city_admin, unit=tree.department, new_parent=tree.district)
    tree.station.refresh_from_db()
    assert (tree.department.level, tree.station.level) == (2, 3)
    assert_closure_matches_parents()


def test_a_department_cannot_move_where_its_stations_lie_outside_the_territory(tree, city_admin, audit):
    with pytest.raises(OrgError, match="不在新上级的辖区内"):
        unit_move(actor=city_admin, unit=tree.department, new_parent=tree.other_district)
    tree.department.refresh_from_db()
    assert tree.department.parent == tree.city
    assert audit.new() == []


def test_a_station_moves_to_another_department_of_the_same_territory(tree, city_admin):
    other_dept = UnitFactory.create(parent=tree.district, kind=UnitKind.DEPARTMENT)
    unit_move(actor=city_admin, unit=tree.station, new_parent=other_dept)
    assert UnitClosure.objects.filter(ancestor=other_dept, descendant=tree.station, depth=1).exists()
    assert not UnitClosure.objects.filter(ancestor=tree.department, descendant=tree.station).exists()
    assert_closure_matches_parents()


def test_moving_under_its_own_descendant_is_refused(tree, city_admin, audit):
    with pytest.raises(OrgError, match="下级单位之下"):
        unit_move(actor=city_admin, unit=tree.district, new_parent=tree.community)
    with pytest.raises(OrgError, match="下级单位之下"):
        unit_move(actor=city_admin, unit=tree.district, new_parent=tree.district)
    assert audit.new() == []
    assert_closure_matches_parents()


def test_moving_under_a_parent_of_the_wrong_kind_is_refused(tree, city_admin):
    with pytest.raises(OrgError, match="不能挂在"):
        unit_move(actor=city_admin, unit=tree.street, new_parent=tree.city)
    with pytest.raises(OrgError, match="必须有上级"):
        unit_move(actor=city_admin, unit=tree.street, new_parent=None)
    tree.street.refresh_from_db()
    assert tree.street.parent == tree.district


def test_moving_under_an_inactive_parent_is_refused(tree, city_admin):
    empty = UnitFactory.create(parent=tree.city)
    unit_deactivate(actor=city_admin, unit=empty)
    with pytest.raises(OrgError, match="已停用"):
        unit_move(actor=city_admin, unit=tree.street, new_parent=empty)


def test_moving_to_the_current_parent_changes_nothing(tree, city_admin, audit):
    unit_move(actor=city_admin, unit=tree.street, new_parent=tree.district)
    assert audit.new() == []


def test_a_user_without_the_system_role_cannot_move(tree, district_dispatcher):
    with pytest.raises(PermissionDenied):
        unit_move(actor=district_dispatcher, unit=tree.street, new_parent=tree.other_district)


def test_move_is_a_bounded_number_of_queries(tree, city_admin):
    for _ in range(20):
        UnitFactory.create(parent=tree.community)
    with CaptureQueriesContext(connection) as ctx:
        unit_move(actor=city_admin, unit=tree.street, new_parent=tree.other_district)
    small = len(ctx.captured_queries)
    for _ in range(40):
        UnitFactory.create(parent=tree.other_community)
    with CaptureQueriesContext(connection) as ctx:
        unit_move(actor=city_admin, unit=tree.other_street, new_parent=tree.district)
    assert len(ctx.captured_queries) == small


def test_rename_writes_one_audit_row(tree, city_admin, audit):
    unit_rename(actor=city_admin, unit=tree.street, name="东华门街道")
    tree.street.refresh_from_db()
    assert tree.street.name == "东华门街道"
    event = audit.new()[0]
    assert (event.event_type, event.before["name"], event.after["name"]) == (
        "orgs.unit_rename",
        "东华街道",
        "东华门街道",
    )
    assert len(audit.new()) == 1


def test_rename_to_an_empty_name_is_refused(tree, city_admin):
    with pytest.raises(OrgError, match="名称不能为空"):
        unit_rename(actor=city_admin, unit=tree.street, name=" ")


def test_update_changes_code_parent_and_name_in_one_audit_row(tree, city_admin, audit):
    unit_update(actor=city_admin, unit=tree.street, code="T22", name="西华街道", parent=tree.other_district)
    assert [e.event_type for e in audit.new()] == ["orgs.unit_update"]
    tree.street.refresh_from_db()
    assert (tree.street.code, tree.street.parent_id) == ("T22", tree.other_district.pk)
    assert_closure_matches_parents()


def test_update_refuses_a_taken_code_and_rolls_back_the_move(tree, city_admin, audit):
    with pytest.raises(OrgError, match="已被使用"):
        unit_update(actor=city_admin, unit=tree.street, code="T21", parent=tree.other_district)
    tree.street.refresh_from_db()
    assert tree.street.parent == tree.district
    assert audit.new() == []
    assert_closure_matches_parents()


def test_relocating_a_station_must_stay_a_street(tree, city_admin):
    unit_update(actor=city_admin, unit=tree.station, located_in=tree.other_street)
    tree.station.refresh_from_db()
    assert tree.station.located_in == tree.other_street
    with pytest.raises(OrgError, match="不是街道"):
        unit_update(actor=city_admin, unit=tree.station, located_in=tree.grid)


def test_deactivating_a_unit_with_active_children_is_refused(tree, city_admin):
    with pytest.raises(OrgError, match="还有启用的下级单位"):
        unit_deactivate(actor=city_admin, unit=tree.community)


def test_deactivate_and_reactivate_a_leaf(tree, city_admin, audit):
    unit_deactivate(actor=city_admin, unit=tree.grid)
    unit_deactivate(actor=city_admin, unit=tree.community)
    with pytest.raises(OrgError, match="不能启用"):
        unit_activate(actor=city_admin, unit=tree.grid)
    unit_activate(actor=city_admin, unit=tree.community)
    unit_activate(actor=city_admin, unit=tree.grid)
    assert audit.types() == [
        "orgs.unit_deactivate",
        "orgs.unit_deactivate",
        "orgs.unit_activate",
        "orgs.unit_activate",
    ]


def test_deleting_a_unit_with_children_members_or_stations_is_refused(tree, city_admin):
    with pytest.raises(OrgError, match="还有下级单位"):
        unit_delete(actor=city_admin, unit=tree.community)
    membership_grant(actor=None, user=UserFactory.create(), unit=tree.grid, role=Role.GRID_WORKER)
    with pytest.raises(OrgError, match="还有人员岗位"):
        unit_delete(actor=city_admin, unit=tree.grid)
    lonely = UnitFactory.create(parent=tree.district, kind=UnitKind.STREET)
    UnitFactory.create(parent=tree.department, kind=UnitKind.STATION, located_in=lonely)
    with pytest.raises(OrgError, match="派出机构"):
        unit_delete(actor=city_admin, unit=lonely)


def test_deleting_a_unit_that_addresses_point_at_is_refused(tree, city_admin):
    grid = UnitFactory.create(parent=tree.community)
    Address.objects.create(text="东华路1号", normalized="东华路1号", grid=grid)
    with pytest.raises(OrgError, match="请改为停用"):
        unit_delete(actor=city_admin, unit=grid)
    assert Unit.objects.filter(pk=grid.pk).exists()


def test_deleting_a_free_leaf_removes_its_closure_rows_and_audits(tree, city_admin, audit):
    leaf = UnitFactory.create(parent=tree.grid)
    pk = leaf.pk
    unit_delete(actor=city_admin, unit=leaf)
    assert not UnitClosure.objects.filter(descendant_id=pk).exists()
    assert audit.types()[-1] == "orgs.unit_delete"


# --- property: any sequence of legal moves keeps the closure equal to a rebuild ----------------

KIND_AT_DEPTH = [UnitKind.CITY, UnitKind.DISTRICT, UnitKind.STREET, UnitKind.COMMUNITY, UnitKind.GRID]


@settings(max_examples=25)
@given(
    parents=st.lists(st.integers(min_value=0, max_value=30), min_size=3, max_size=14),
    moves=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=6),
)
def test_random_moves_keep_the_closure_equal_to_a_rebuild(django_db_blocker, parents, moves):
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        units = [UnitFactory.create(kind=UnitKind.CITY)]
        for raw in parents:
            candidates = [u for u in units if u.level < len(KIND_AT_DEPTH) - 1]
            parent = candidates[raw % len(candidates)]
            units.append(UnitFactory.create(parent=parent))
        for a, b in moves:
            unit = units[a % len(units)]
            unit.refresh_from_db()
            targets = [u for u in Unit.objects.filter(level=unit.level - 1) if u.pk != unit.parent_id]
            if unit.level == 0 or not targets:
                continue
            unit_move(actor=None, unit=unit, new_parent=targets[b % len(targets)])
            assert_closure_matches_parents()
        assert_closure_matches_parents()
        transaction.set_rollback(True)
