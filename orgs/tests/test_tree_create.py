"""unit_create: kinds fit parents, codes are unique, stations sit in a street, one audit row each."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from core.models import AuditEvent
from orgs.choices import ALLOWED_PARENT_KINDS, UnitKind
from orgs.models import UnitClosure
from orgs.services import OrgError, unit_create
from orgs.tests.factories import UnitFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_writes_closure_rows_to_every_ancestor(tree):
    rows = set(UnitClosure.objects.filter(descendant=tree.grid).values_list("ancestor__code", "depth"))
    assert rows == {("T1111", 0), ("T111", 1), ("T11", 2), ("T1", 3), ("T0", 4)}
    assert [tree.city.level, tree.district.level, tree.grid.level] == [0, 1, 4]


def test_create_writes_one_audit_row_with_the_new_unit(tree, city_admin, audit):
    unit = unit_create(
        actor=city_admin, code="T12", name="东四街道", kind=UnitKind.STREET, parent=tree.district
    )
    events = audit.new()
    assert [e.event_type for e in events] == ["orgs.unit_create"]
    assert events[0].actor_id == city_admin.pk
    assert events[0].object_id == str(unit.pk)
    assert events[0].after["code"] == "T12" and events[0].after["parent"] == tree.district.pk


def test_system_import_may_create_without_an_actor(db):
    unit = unit_create(actor=None, code="C1", name="某市", kind=UnitKind.CITY, parent=None)
    assert AuditEvent.objects.get().actor_id is None
    assert unit.level == 0


@pytest.mark.parametrize(
    ("kind", "parent_kind"),
    [
        (kind, parent_kind)
        for kind in ALLOWED_PARENT_KINDS
        for parent_kind in UnitKind.values
        if parent_kind not in ALLOWED_PARENT_KINDS[kind]
    ],
)
def test_a_kind_under_a_parent_kind_it_does_not_allow_is_refused(tree, kind, parent_kind):
    parent = {
        UnitKind.CITY: tree.city,
        UnitKind.DISTRICT: tree.district,
        UnitKind.STREET: tree.street,
        UnitKind.COMMUNITY: tree.community,
        UnitKind.GRID: tree.grid,
        UnitKind.DEPARTMENT: tree.department,
        UnitKind.STATION: tree.station,
    }.get(parent_kind) or UnitFactory.create(parent=tree.grid)
    located_in = tree.street if kind == UnitKind.STATION else None
    before = AuditEvent.objects.count()
    with pytest.raises(OrgError, match="不能挂在"):
        unit_create(actor=None, code="X", name="某单位", kind=kind, parent=parent, located_in=located_in)
    assert AuditEvent.objects.count() == before


def test_only_a_city_may_be_a_root(db):
    with pytest.raises(OrgError, match="必须有上级"):
        unit_create(actor=None, code="X", name="孤立街道", kind=UnitKind.STREET, parent=None)


def test_an_unknown_kind_is_refused(tree):
    with pytest.raises(OrgError, match="未知的单位类型"):
        unit_create(actor=None, code="X", name="某单位", kind="planet", parent=tree.city)


def test_a_duplicate_code_is_refused(tree):
    with pytest.raises(OrgError, match="已被使用"):
        unit_create(actor=None, code="T11", name="重复街道", kind=UnitKind.STREET, parent=tree.district)


def test_an_empty_name_or_code_is_refused(tree):
    with pytest.raises(OrgError, match="名称不能为空"):
        unit_create(actor=None, code="T19", name="  ", kind=UnitKind.STREET, parent=tree.district)
    with pytest.raises(OrgError, match="编码不能为空"):
        unit_create(actor=None, code=" ", name="某街道", kind=UnitKind.STREET, parent=tree.district)


def test_nothing_is_created_under_an_inactive_parent(tree):
    grid = UnitFactory.create(parent=tree.community)
    grid.is_active = False
    grid.save()
    with pytest.raises(OrgError, match="已停用"):
        UnitFactory.create(parent=grid)


def test_located_in_is_only_for_stations(tree):
    with pytest.raises(OrgError, match="只有派出机构"):
        unit_create(
            actor=None,
            code="X",
            name="某社区",
            kind=UnitKind.COMMUNITY,
            parent=tree.street,
            located_in=tree.street,
        )


def test_a_station_needs_a_street(tree):
    with pytest.raises(OrgError, match="必须设置所在街道"):
        unit_create(actor=None, code="X", name="某所", kind=UnitKind.STATION, parent=tree.department)
    with pytest.raises(OrgError, match="不是街道"):
        unit_create(
            actor=None,
            code="X",
            name="某所",
            kind=UnitKind.STATION,
            parent=tree.department,
            located_in=tree.community,
        )


def test_a_district_departments_station_must_be_in_that_district(tree):
    district_dept = UnitFactory.create(parent=tree.district, kind=UnitKind.DEPARTMENT)
    ok = UnitFactory.create(parent=district_dept, kind=UnitKind.STATION, located_in=tree.street)
    assert ok.located_in == tree.street
    with pytest.raises(OrgError, match="不在部门"):
        UnitFactory.create(parent=district_dept, kind=UnitKind.STATION, located_in=tree.other_street)


def test_a_user_who_is_no_system_admin_may_not_create_units(tree, street_handler):
    with pytest.raises(PermissionDenied):
        unit_create(actor=street_handler, code="X", name="某街道", kind=UnitKind.STREET, parent=tree.district)
    security = UserFactory.create(admin_role="security")
    with pytest.raises(PermissionDenied):
        unit_create(actor=security, code="X", name="某街道", kind=UnitKind.STREET, parent=tree.district)
