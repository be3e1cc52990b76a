"""Address Excel import (all or nothing, every error named) and export."""

from __future__ import annotations

import io
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook
from shapely.geometry import box, mapping

from core.excel import ExcelImportError
from core.models import AuditEvent
from orgs.addresses import HEADERS, address_create, addresses_export, addresses_import
from orgs.choices import UnitKind
from orgs.geo import CoordSystem, from_wgs84
from orgs.grid_services import grid_boundaries_import, grid_index_invalidate
from orgs.models import Address
from orgs.services import unit_create

pytestmark = pytest.mark.django_db

X0, Y0, STEP = 116.30, 39.90, 0.01
IN_G1 = (X0 + 0.004, Y0 + 0.005)
IN_G2 = (X0 + STEP + 0.004, Y0 + 0.005)


@pytest.fixture
def units(db):
    grid_index_invalidate()
    mk = unit_create
    city = mk(actor=None, code="A0", name="测试市", kind=UnitKind.CITY, parent=None)
    district = mk(actor=None, code="A01", name="测试区", kind=UnitKind.DISTRICT, parent=city)
    street = mk(actor=None, code="A011", name="测试街道", kind=UnitKind.STREET, parent=district)
    community = mk(actor=None, code="A0111", name="测试社区", kind=UnitKind.COMMUNITY, parent=street)
    g1 = mk(actor=None, code="G1", name="一网格", kind=UnitKind.GRID, parent=community)
    g2 = mk(actor=None, code="G2", name="二网格", kind=UnitKind.GRID, parent=community)
    b1 = mk(actor=None, code="B1", name="一号楼", kind=UnitKind.BUILDING, parent=g1)
    mk(actor=None, code="B2", name="二号楼", kind=UnitKind.BUILDING, parent=g2)
    feats = [
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
    ]
    grid_boundaries_import(actor=None, features={"type": "FeatureCollection", "features": feats})
    yield {"g1": g1, "g2": g2, "b1": b1}
    grid_index_invalidate()


def xlsx(rows, headers=HEADERS, title="地址库"):
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def refused(data):
    before_audit = AuditEvent.objects.count()
    before = Address.objects.count()
    with pytest.raises(ExcelImportError) as info:
        addresses_import(actor=None, source=data)
    assert Address.objects.count() == before
    assert AuditEvent.objects.count() == before_audit
    return {(i.row, i.column): i.message for i in info.value.issues}


def test_a_clean_file_imports_every_row_with_one_audit_row(units):
    gcj = from_wgs84(IN_G1[0], IN_G1[1], CoordSystem.GCJ02)
    data = xlsx(
        [
            ("中山路1号一号楼", "B1", None, None, None, None),
            ("中山路2号", None, "G2", None, None, None),
            ("中山路3号", None, None, IN_G2[0], IN_G2[1], "WGS84"),
            ("中山路4号", None, None, gcj[0], gcj[1], "GCJ-02"),
            ("中山路5号", None, None, None, None, None),
        ]
    )
    before = AuditEvent.objects.count()
    result = addresses_import(actor=None, source=data)
    assert result.created == 5
    got = {a.text: a for a in Address.objects.all()}
    assert got["中山路1号一号楼"].grid == units["g1"]
    assert got["中山路1号一号楼"].building == units["b1"]
    assert got["中山路2号"].grid == units["g2"]
    assert got["中山路3号"].grid == units["g2"]
    assert got["中山路4号"].grid == units["g1"]
    assert got["中山路4号"].lon == pytest.approx(IN_G1[0], abs=1e-7)
    assert got["中山路5号"].grid is None
    assert got["中山路1号一号楼"].normalized == "中山路1号1号楼"
    events = list(AuditEvent.objects.order_by("seq"))[before:]
    assert [e.event_type for e in events] == ["orgs.address_import"]
    assert events[0].extra == {"created": 5}


def test_unknown_codes_and_wrong_kinds_are_named_by_row_and_column(units):
    issues = refused(
        xlsx(
            [
                ("甲1号", "B9", None, None, None, None),
                ("甲2号", None, "G9", None, None, None),
                ("甲3号", "G1", None, None, None, None),
                ("甲4号", None, "B1", None, None, None),
                ("甲5号", "B1", "G2", None, None, None),
            ]
        )
    )
    assert issues == {
        (2, "楼院编码"): "楼院编码「B9」不存在",
        (3, "网格编码"): "网格编码「G9」不存在",
        (4, "楼院编码"): "「G1」一网格不是楼院",
        (5, "网格编码"): "「B1」一号楼不是网格",
        (6, "网格编码"): "楼院「B1」属于网格「G1」，与填写的网格「G2」不一致",
    }


def test_bad_coordinates_are_named(units):
    issues = refused(
        xlsx(
            [
                ("乙1号", None, None, "东经116", 39.9, "WGS84"),
                ("乙2号", None, None, 116.3, None, "WGS84"),
                ("乙3号", None, None, None, 39.9, "WGS84"),
                ("乙4号", None, None, 190, 39.9, "WGS84"),
                ("乙5号", None, None, 116.3, 39.9, "UTM"),
                ("乙6号", None, None, 116.3, 39.9, None),
            ]
        )
    )
    assert issues[(2, "经度")].startswith("应为数字")
    assert issues[(3, "纬度")] == "经度和纬度须同时填写或同时不填"
    assert issues[(4, "经度")] == "经度和纬度须同时填写或同时不填"
    assert "超出范围" in issues[(5, "经度")]
    assert "未知的坐标系" in issues[(6, "坐标系")]
    assert "必须注明坐标系" in issues[(7, "坐标系")]
    assert len(issues) == 6


def test_a_point_outside_its_declared_grid_is_named(units):
    issues = refused(
        xlsx(
            [
                ("丙1号", None, "G1", IN_G2[0], IN_G2[1], "WGS84"),
                ("丙2号", "B1", None, IN_G2[0], IN_G2[1], "WGS84"),
                # the GCJ-02 image of a G1 point, wrongly declared WGS-84, lies in G2
                ("丙3号", None, "G1", *from_wgs84(X0 + 0.008, Y0 + 0.005, CoordSystem.GCJ02), "WGS84"),
            ]
        )
    )
    assert "不在网格「G1」的范围内" in issues[(2, "经度")]
    assert "不在网格「G1」的范围内" in issues[(3, "经度")]
    assert "不在网格「G1」的范围内" in issues[(4, "经度")]


def test_duplicates_in_the_file_and_in_the_database_are_named(units):
    address_create(actor=None, text="丁路9号")
    issues = refused(
        xlsx(
            [
                ("丁路1号三号楼", None, None, None, None, None),
                ("丁路１号 3#楼", None, None, None, None, None),
                ("丁路九号", None, None, None, None, None),
                ("，。", None, None, None, None, None),
                ("十号" * 100, None, None, None, None, None),
            ]
        )
    )
    assert issues == {
        (3, "地址"): "与第2行是同一地址（规范化后相同）",
        (4, "地址"): "地址库中已有相同地址「丁路9号」",
        (5, "地址"): "地址去掉标点和空格后为空",
        (6, "地址"): "地址规范化后超过255个字符",
    }


def test_one_bad_row_refuses_the_good_ones_too(units):
    refused(xlsx([("戊1号", None, None, None, None, None), ("戊2号", None, "G9", None, None, None)]))
    assert not Address.objects.exists()


def test_missing_and_unknown_columns_and_empty_address_are_named(units):
    issues = refused(xlsx([("己1号",)], headers=["地址", "备注"]))
    assert (1, "备注") in issues
    assert (1, "网格编码") in issues
    issues = refused(xlsx([(None, "B1", None, None, None, None)]))
    assert issues == {(2, "地址"): "不能为空"}


def test_a_file_that_is_not_xlsx_is_refused(units):
    with pytest.raises(ExcelImportError, match="不是 Excel"):
        addresses_import(actor=None, source=b"not a workbook")


def test_export_writes_the_import_format_and_round_trips(units):
    address_create(actor=None, text="庚路1号", building=units["b1"])
    address_create(actor=None, text="庚路2号", lon=IN_G2[0], lat=IN_G2[1])
    before = AuditEvent.objects.count()
    data = addresses_export(actor=None)
    assert [e.event_type for e in list(AuditEvent.objects.order_by("seq"))[before:]] == [
        "orgs.address_export"
    ]
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == HEADERS
    assert rows[1] == ("庚路1号", "B1", "G1", None, None, None)
    assert rows[2][:3] == ("庚路2号", None, "G2")
    assert rows[2][5] == "WGS84"
    Address.objects.all().delete()
    assert addresses_import(actor=None, source=data).created == 2
    again = Address.objects.get(text="庚路2号")
    assert (again.lon, again.lat) == pytest.approx(IN_G2, abs=1e-7)


def test_export_in_gcj02_converts_the_points(units):
    address_create(actor=None, text="辛路1号", lon=IN_G1[0], lat=IN_G1[1])
    ws = load_workbook(io.BytesIO(addresses_export(actor=None, system="gcj02"))).active
    assert ws is not None
    row = list(ws.iter_rows(values_only=True))[1]
    gcj = from_wgs84(IN_G1[0], IN_G1[1], CoordSystem.GCJ02)
    assert (row[3], row[4]) == pytest.approx(gcj, abs=1e-6)
    assert row[5] == "GCJ02"


def test_the_commands_import_and_export(units, tmp_path):
    path = tmp_path / "in.xlsx"
    path.write_bytes(xlsx([("壬路1号", "B1", None, None, None, None)]))
    out = StringIO()
    call_command("import_addresses", str(path), stdout=out)
    assert "1" in out.getvalue()
    target = tmp_path / "out.xlsx"
    call_command("export_addresses", str(target), "--system", "bd09", stdout=StringIO())
    ws = load_workbook(target).active
    assert ws is not None
    assert list(ws.iter_rows(values_only=True))[1][0] == "壬路1号"
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx([("癸路1号", "B9", None, None, None, None)]))
    with pytest.raises(CommandError, match="楼院编码「B9」不存在"):
        call_command("import_addresses", str(bad))
