"""Address services and lookup; the grid is filled from the building or the point."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied
from shapely.geometry import box, mapping

from core.models import AuditEvent
from orgs.addresses import (
    AddressError,
    address_create,
    address_delete,
    address_lookup,
    address_update,
)
from orgs.choices import UnitKind
from orgs.geo import CoordSystem, from_wgs84
from orgs.grid_services import grid_boundaries_import, grid_index_invalidate
from orgs.models import Address, Unit
from orgs.services import unit_create

pytestmark = pytest.mark.django_db

X0, Y0, STEP = 116.30, 39.90, 0.01


@dataclass(frozen=True)
class Place:
    community: Unit
    g1: Unit  # [X0, X0+STEP] × [Y0, Y0+STEP]
    g2: Unit  # the square east of g1
    g3: Unit  # no boundary
    b1: Unit  # building in g1
    b2: Unit  # building in g2


def inside(col):
    """A WGS-84 point inside the square at column ``col``."""
    return X0 + col * STEP + 0.004, Y0 + 0.005


@pytest.fixture
def place(db):
    grid_index_invalidate()
    mk = unit_create
    city = mk(actor=None, code="A0", name="测试市", kind=UnitKind.CITY, parent=None)
    district = mk(actor=None, code="A01", name="测试区", kind=UnitKind.DISTRICT, parent=city)
    street = mk(actor=None, code="A011", name="测试街道", kind=UnitKind.STREET, parent=district)
    community = mk(actor=None, code="A0111", name="测试社区", kind=UnitKind.COMMUNITY, parent=street)
    g1 = mk(actor=None, code="G1", name="一网格", kind=UnitKind.GRID, parent=community)
    g2 = mk(actor=None, code="G2", name="二网格", kind=UnitKind.GRID, parent=community)
    g3 = mk(actor=None, code="G3", name="三网格", kind=UnitKind.GRID, parent=community)
    b1 = mk(actor=None, code="B1", name="一号楼", kind=UnitKind.BUILDING, parent=g1)
    b2 = mk(actor=None, code="B2", name="二号楼", kind=UnitKind.BUILDING, parent=g2)
    grid_boundaries_import(
        actor=None,
        features={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "G1"},
                    "geometry": mapping(box(X0, Y0, X0 + STEP, Y0 + STEP)),
                },
                {
                    "type": "Feature",
                    "properties": {"code": "G2"},
                    "geometry": mapping(box(X0 + STEP, Y0, X0 + 2 * STEP, Y0 + STEP)),
                },
            ],
        },
    )
    yield Place(community=community, g1=g1, g2=g2, g3=g3, b1=b1, b2=b2)
    grid_index_invalidate()


def test_create_stores_text_normalised_form_and_one_audit_row(place):
    before = AuditEvent.objects.count()
    a = address_create(actor=None, text=" 中山路１２号 三号楼 ", grid=place.g3)
    assert a.text == "中山路１２号 三号楼"
    assert a.normalized == "中山路12号3号楼"
    assert a.grid == place.g3
    events = list(AuditEvent.objects.order_by("seq"))[before:]
    assert [e.event_type for e in events] == ["orgs.address_create"]
    after = events[0].after
    assert after is not None
    assert after["normalized"] == "中山路12号3号楼"


def test_the_grid_comes_from_the_building(place):
    a = address_create(actor=None, text="中山路1号一号楼", building=place.b1)
    assert a.grid == place.g1


def test_the_grid_comes_from_the_point_when_missing(place):
    a = address_create(actor=None, text="中山路2号", lon=inside(1)[0], lat=inside(1)[1])
    assert a.grid == place.g2


def test_a_gcj02_point_is_stored_in_wgs84_and_finds_its_grid(place):
    wgs = (X0 + 0.008, Y0 + 0.005)  # in G1; read as WGS-84 its GCJ-02 image lies in G2
    gcj = from_wgs84(wgs[0], wgs[1], CoordSystem.GCJ02)
    a = address_create(actor=None, text="中山路3号", lon=gcj[0], lat=gcj[1], system=CoordSystem.GCJ02)
    assert a.grid == place.g1
    assert a.lon == pytest.approx(wgs[0], abs=1e-7)
    assert a.lat == pytest.approx(wgs[1], abs=1e-7)


def test_a_point_outside_every_grid_leaves_the_grid_empty(place):
    a = address_create(actor=None, text="远郊1号", lon=X0 + 1, lat=Y0 + 1)
    assert a.grid is None


def test_an_address_without_building_grid_or_point_is_allowed(place):
    assert address_create(actor=None, text="某处").grid is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": "  "}, "地址不能为空"),
        ({"text": "，。"}, "为空"),
        ({"text": "长" * 256}, "不能超过255"),
        ({"text": "十号" * 100}, "规范化后超过255"),
        ({"text": "甲", "lon": 116.3}, "同时填写"),
        ({"text": "甲", "lon": 190.0, "lat": 39.9}, "经度"),
        ({"text": "甲", "lon": 116.3, "lat": 39.9, "system": "UTM"}, "未知的坐标系"),
    ],
)
def test_bad_input_is_refused_in_chinese(place, kwargs, message):
    with pytest.raises(AddressError, match=message):
        address_create(actor=None, **kwargs)
    assert not Address.objects.exists()


def test_a_duplicate_normalised_address_is_refused(place):
    address_create(actor=None, text="中山路12号三号楼")
    with pytest.raises(AddressError, match="已有相同地址「中山路12号三号楼」"):
        address_create(actor=None, text="中山路１２号 3#楼")


def test_a_building_that_is_not_a_building_or_a_grid_that_is_not_a_grid_is_refused(place):
    with pytest.raises(AddressError, match="不是楼院"):
        address_create(actor=None, text="甲", building=place.g1)
    with pytest.raises(AddressError, match="不是网格"):
        address_create(actor=None, text="甲", grid=place.b1)


def test_a_building_in_another_grid_is_refused(place):
    with pytest.raises(AddressError, match="楼院「二号楼」属于网格「二网格」"):
        address_create(actor=None, text="甲", building=place.b2, grid=place.g1)


def test_a_point_outside_the_declared_grid_is_refused(place):
    with pytest.raises(AddressError, match="坐标不在网格「一网格」"):
        address_create(actor=None, text="甲", grid=place.g1, lon=inside(1)[0], lat=inside(1)[1])
    with pytest.raises(AddressError, match="坐标不在网格「一网格」"):
        address_create(actor=None, text="甲", building=place.b1, lon=inside(1)[0], lat=inside(1)[1])


def test_a_point_on_the_declared_grids_edge_is_accepted_even_if_the_tie_rule_picks_another(place):
    a = address_create(actor=None, text="界1号", grid=place.g2, lon=X0 + STEP, lat=Y0 + 0.005)
    assert a.grid == place.g2


def test_a_grid_without_boundary_accepts_any_point(place):
    a = address_create(actor=None, text="甲", grid=place.g3, lon=X0 + 5, lat=Y0)
    assert a.grid == place.g3


def test_update_changes_text_and_derives_the_grid_again_from_a_new_point(place):
    a = address_create(actor=None, text="中山路1号", lon=inside(0)[0], lat=inside(0)[1])
    assert a.grid == place.g1
    before = AuditEvent.objects.count()
    a = address_update(actor=None, address=a, text="中山路一号", lon=inside(1)[0], lat=inside(1)[1])
    assert a.text == "中山路一号"
    assert a.grid == place.g2
    assert Address.objects.get(pk=a.pk).grid == place.g2
    assert [e.event_type for e in list(AuditEvent.objects.order_by("seq"))[before:]] == [
        "orgs.address_update"
    ]


def test_update_keeps_omitted_fields_and_a_no_op_writes_no_audit_row(place):
    a = address_create(actor=None, text="中山路1号", building=place.b1, lon=inside(0)[0], lat=inside(0)[1])
    before = AuditEvent.objects.count()
    same = address_update(actor=None, address=a, text="中山路1号")
    assert (same.building, same.grid, same.lon) == (place.b1, place.g1, a.lon)
    assert AuditEvent.objects.count() == before


def test_update_may_clear_the_point(place):
    a = address_create(actor=None, text="中山路1号", lon=inside(0)[0], lat=inside(0)[1])
    a = address_update(actor=None, address=a, lon=None, lat=None)
    assert (a.lon, a.lat, a.grid) == (None, None, None)


def test_update_refuses_a_duplicate_of_another_address_but_not_of_itself(place):
    address_create(actor=None, text="中山路1号")
    b = address_create(actor=None, text="中山路2号")
    address_update(actor=None, address=b, text="中山路 2 号")
    with pytest.raises(AddressError, match="已有相同地址"):
        address_update(actor=None, address=b, text="中山路一号")


def test_delete_is_audited(place):
    a = address_create(actor=None, text="中山路1号")
    before = AuditEvent.objects.count()
    address_delete(actor=None, address=a)
    assert not Address.objects.exists()
    assert [e.event_type for e in list(AuditEvent.objects.order_by("seq"))[before:]] == [
        "orgs.address_delete"
    ]


def test_an_actor_without_the_right_is_refused(place, django_user_model):
    user = django_user_model.objects.create_user(username="nobody", password="x-Very-long-1")
    with pytest.raises(PermissionDenied):
        address_create(actor=user, text="中山路1号")
    assert not Address.objects.exists()


def test_lookup_finds_exact_text_then_normalised_text(place):
    a = address_create(actor=None, text="中山路12号三号楼")
    assert address_lookup("中山路12号三号楼") == a
    assert address_lookup(" 中山路１２号 3#楼 ") == a
    assert address_lookup("中山路12号四号楼") is None
    assert address_lookup("") is None
    assert address_lookup("，") is None


def test_lookup_prefers_the_exact_text(place):
    # Two different normalised forms; the exact text of the second equals nothing else.
    first = address_create(actor=None, text="中山路1-2号")
    second = address_create(actor=None, text="中山路12号")
    assert address_lookup("中山路1-2号") == first
    assert address_lookup("中山路12号") == second
