"""Grid boundary import and point → grid lookup against the database."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from shapely.geometry import box, mapping

from core.models import AuditEvent
from orgs.choices import UnitKind
from orgs.geo import CoordinatesError, CoordSystem, from_wgs84
from orgs.grid_services import (
    GridImportError,
    grid_boundaries_import,
    grid_for_point,
    grid_index,
    grid_index_invalidate,
)
from orgs.models import Unit
from orgs.services import unit_create

pytestmark = pytest.mark.django_db

X0, Y0, STEP = 116.30, 39.90, 0.01


@pytest.fixture(autouse=True)
def _fresh_index():
    grid_index_invalidate()
    yield
    grid_index_invalidate()


@pytest.fixture
def community():
    city = unit_create(actor=None, code="C0", name="测试市", kind=UnitKind.CITY, parent=None)
    district = unit_create(actor=None, code="C01", name="测试区", kind=UnitKind.DISTRICT, parent=city)
    street = unit_create(actor=None, code="C011", name="测试街道", kind=UnitKind.STREET, parent=district)
    return unit_create(actor=None, code="C0111", name="测试社区", kind=UnitKind.COMMUNITY, parent=street)


def make_grids(community, codes):
    return {
        code: unit_create(actor=None, code=code, name=f"网格{code}", kind=UnitKind.GRID, parent=community)
        for code in codes
    }


def cell(col, row):
    """The square at column ``col``, row ``row`` of a 0.01° tiling near Beijing (WGS-84)."""
    return box(X0 + col * STEP, Y0 + row * STEP, X0 + (col + 1) * STEP, Y0 + (row + 1) * STEP)


def feature(code, geom, key="code"):
    return {"type": "Feature", "properties": {key: code}, "geometry": mapping(geom)}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


# Layout used below:  row 1: G3 G4   row 0: G1 G2 (columns 0 and 1).
LAYOUT = {"G1": (0, 0), "G2": (1, 0), "G3": (0, 1), "G4": (1, 1)}


def import_layout(codes=("G1", "G2", "G3", "G4"), system=CoordSystem.WGS84):
    feats = [feature(code, cell(*LAYOUT[code])) for code in codes]
    return grid_boundaries_import(actor=None, features=collection(*feats), system=system)


def test_import_stores_wgs84_boundaries_and_bounds_and_one_audit_row(community):
    grids = make_grids(community, ["G1", "G2", "G3", "G4"])
    before = AuditEvent.objects.count()
    result = import_layout()
    assert result.count == 4
    assert result.codes == ["G1", "G2", "G3", "G4"]
    g1 = Unit.objects.get(pk=grids["G1"].pk)
    assert g1.boundary is not None
    assert g1.boundary["type"] == "Polygon"
    assert (g1.min_lon, g1.min_lat) == pytest.approx((X0, Y0))
    assert (g1.max_lon, g1.max_lat) == pytest.approx((X0 + STEP, Y0 + STEP))
    events = list(AuditEvent.objects.filter(seq__gt=0).order_by("seq"))[before:]
    assert [e.event_type for e in events] == ["grid.boundaries_import"]
    assert events[0].extra["count"] == 4
    assert events[0].extra["codes"] == ["G1", "G2", "G3", "G4"]


def test_a_point_inside_a_grid_finds_it(community):
    grids = make_grids(community, ["G1", "G2", "G3", "G4"])
    import_layout()
    assert grid_for_point(X0 + 0.005, Y0 + 0.005) == grids["G1"]
    assert grid_for_point(X0 + 0.015, Y0 + 0.015) == grids["G4"]


def test_a_point_outside_every_grid_finds_none(community):
    make_grids(community, ["G1", "G2"])
    import_layout(codes=("G1", "G2"))
    assert grid_for_point(X0 + 0.5, Y0 + 0.5) is None
    assert grid_for_point(X0 + 0.005, Y0 + 0.015) is None  # where G3 would be


def test_no_grids_at_all_finds_none(community):
    make_grids(community, ["G1"])  # no boundary imported
    assert grid_for_point(X0, Y0) is None


@pytest.mark.parametrize("creation_order", [["G1", "G2", "G3", "G4"], ["G4", "G3", "G2", "G1"]])
@pytest.mark.parametrize("file_order", [("G1", "G2", "G3", "G4"), ("G4", "G3", "G2", "G1")])
def test_a_point_on_a_shared_edge_goes_to_the_lowest_code(community, creation_order, file_order):
    grids = make_grids(community, creation_order)
    import_layout(codes=file_order)
    assert grid_for_point(X0 + STEP, Y0 + 0.005) == grids["G1"]  # G1 | G2
    assert grid_for_point(X0 + 0.015, Y0 + STEP) == grids["G2"]  # G2 / G4
    assert grid_for_point(X0 + 0.005, Y0 + STEP) == grids["G1"]  # G1 / G3
    assert grid_for_point(X0 + STEP, Y0 + 0.015) == grids["G3"]  # G3 | G4


@pytest.mark.parametrize("creation_order", [["G1", "G2", "G3", "G4"], ["G4", "G2", "G3", "G1"]])
def test_a_vertex_shared_by_four_grids_goes_to_the_lowest_code(community, creation_order):
    grids = make_grids(community, creation_order)
    import_layout(codes=("G3", "G4", "G2", "G1"))
    assert grid_for_point(X0 + STEP, Y0 + STEP) == grids["G1"]


def test_the_tie_rule_compares_codes_not_ids(community):
    # Z9 created first (lower id) but A1 has the lower code.
    grids = make_grids(community, ["Z9", "A1"])
    grid_boundaries_import(
        actor=None, features=collection(feature("Z9", cell(0, 0)), feature("A1", cell(1, 0)))
    )
    assert grid_for_point(X0 + STEP, Y0 + 0.005) == grids["A1"]


def test_a_gcj02_point_is_converted_before_the_lookup(community):
    grids = make_grids(community, ["G1", "G2", "G3", "G4"])
    import_layout()
    wgs = (X0 + 0.008, Y0 + 0.005)  # in G1, near its east edge
    gcj = from_wgs84(wgs[0], wgs[1], CoordSystem.GCJ02)
    # read naively as WGS-84 the GCJ-02 point lies in G2 (the offset near Beijing is ~500 m east)
    assert grid_for_point(*gcj) == grids["G2"]
    assert grid_for_point(gcj[0], gcj[1], CoordSystem.GCJ02) == grids["G1"]
    assert grid_for_point(gcj[0], gcj[1], "GCJ-02") == grids["G1"]
    bd = from_wgs84(wgs[0], wgs[1], CoordSystem.BD09)
    assert grid_for_point(bd[0], bd[1], CoordSystem.BD09) == grids["G1"]


def test_bad_coordinates_in_a_lookup_are_refused(community):
    with pytest.raises(CoordinatesError):
        grid_for_point(200.0, 30.0)


def test_a_gcj02_boundary_file_is_stored_in_wgs84(community):
    grids = make_grids(community, ["G1"])
    gcj_square = cell(0, 0)
    grid_boundaries_import(actor=None, features=collection(feature("G1", gcj_square)), system="gcj02")
    stored = Unit.objects.get(pk=grids["G1"].pk)
    assert stored.min_lon is not None
    assert stored.min_lon < X0 - 0.004  # moved west by the GCJ-02 offset
    centre_gcj = (X0 + 0.005, Y0 + 0.005)
    assert grid_for_point(centre_gcj[0], centre_gcj[1], CoordSystem.GCJ02) == grids["G1"]


def test_the_index_is_rebuilt_after_a_reimport(community):
    grids = make_grids(community, ["G1", "G2"])
    import_layout(codes=("G1", "G2"))
    far = cell(5, 5)
    assert grid_for_point(far.centroid.x, far.centroid.y) is None
    grid_boundaries_import(actor=None, features=collection(feature("G2", far)))
    assert grid_for_point(far.centroid.x, far.centroid.y) == grids["G2"]
    assert grid_for_point(X0 + 0.015, Y0 + 0.005) is None


def test_the_index_is_reused_while_nothing_changes(community):
    make_grids(community, ["G1", "G2"])
    import_layout(codes=("G1", "G2"))
    assert grid_index() is grid_index()


def test_inactive_grids_are_not_found(community):
    grids = make_grids(community, ["G1", "G2"])
    import_layout(codes=("G1", "G2"))
    Unit.objects.filter(pk=grids["G1"].pk).update(is_active=False)
    assert grid_for_point(X0 + 0.005, Y0 + 0.005) is None
    assert grid_for_point(X0 + STEP, Y0 + 0.005) == grids["G2"]


def _refused(features, system=CoordSystem.WGS84):
    before_audit = AuditEvent.objects.count()
    before = list(Unit.objects.order_by("pk").values_list("boundary", "min_lon"))
    with pytest.raises(GridImportError) as info:
        grid_boundaries_import(actor=None, features=features, system=system)
    assert list(Unit.objects.order_by("pk").values_list("boundary", "min_lon")) == before
    assert AuditEvent.objects.count() == before_audit
    return info.value


def test_an_invalid_polygon_refuses_the_whole_file_naming_the_grid(community):
    make_grids(community, ["G1", "G2"])
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    error = _refused(
        collection(
            feature("G1", cell(0, 0)), {"type": "Feature", "properties": {"code": "G2"}, "geometry": bowtie}
        )
    )
    assert len(error.problems) == 1
    assert "网格「G2」" in error.problems[0]
    assert "无效" in error.problems[0]
    assert "未导入任何数据" in str(error)


def test_non_polygon_geometry_is_refused(community):
    make_grids(community, ["G1"])
    error = _refused(
        collection(
            {
                "type": "Feature",
                "properties": {"code": "G1"},
                "geometry": {"type": "Point", "coordinates": [116.3, 39.9]},
            }
        )
    )
    assert "网格「G1」" in error.problems[0]
    assert "Polygon" in error.problems[0]


def test_overlapping_grids_in_the_file_are_refused_naming_both(community):
    make_grids(community, ["G1", "G2", "G3"])
    shifted = box(X0 + 0.005, Y0, X0 + 0.015, Y0 + STEP)
    error = _refused(collection(feature("G1", cell(0, 0)), feature("G2", shifted), feature("G3", cell(0, 1))))
    assert len(error.problems) == 1
    assert "「G1」" in error.problems[0]
    assert "「G2」" in error.problems[0]
    assert "重叠" in error.problems[0]


def test_a_grid_overlapping_a_stored_grid_is_refused(community):
    make_grids(community, ["G1", "G2"])
    import_layout(codes=("G1",))
    error = _refused(collection(feature("G2", box(X0 + 0.009, Y0, X0 + 0.02, Y0 + STEP))))
    assert "已有网格「G1」" in error.problems[0]


def test_replacing_a_stored_boundary_does_not_count_as_overlapping_itself(community):
    grids = make_grids(community, ["G1"])
    import_layout(codes=("G1",))
    grid_boundaries_import(actor=None, features=collection(feature("G1", box(X0, Y0, X0 + 0.012, Y0 + STEP))))
    assert Unit.objects.get(pk=grids["G1"].pk).max_lon == pytest.approx(X0 + 0.012)


def test_grids_that_only_touch_are_accepted(community):
    make_grids(community, ["G1", "G2", "G3", "G4"])
    assert import_layout().count == 4


def test_every_problem_is_named_at_once(community):
    make_grids(community, ["G1", "G2"])
    unit_create(
        actor=None, code="B1", name="一号楼", kind=UnitKind.BUILDING, parent=Unit.objects.get(code="G1")
    )
    error = _refused(
        collection(
            feature("G1", cell(0, 0)),
            feature("G1", cell(3, 3)),
            feature("NOPE", cell(1, 0)),
            feature("C0111", cell(2, 0)),
            feature("B1", cell(4, 0)),
            {"type": "Feature", "properties": {}, "geometry": mapping(cell(5, 0))},
        )
    )
    text = str(error)
    assert "「G1」在文件中重复出现" in text
    assert "网格「NOPE」不存在" in text
    assert "「C0111」测试社区不是网格" in text
    assert "「B1」一号楼不是网格" in text
    assert "第6个要素缺少网格编码" in text
    assert len(error.problems) == 5


def test_the_chinese_code_property_is_accepted(community):
    grids = make_grids(community, ["G1"])
    grid_boundaries_import(actor=None, features=collection(feature("G1", cell(0, 0), key="网格编码")))
    assert grid_for_point(X0 + 0.005, Y0 + 0.005) == grids["G1"]


@pytest.mark.parametrize("data", [{"type": "Feature"}, "text", {"type": "FeatureCollection", "features": []}])
def test_a_file_that_is_not_a_feature_collection_is_refused(community, data):
    _refused(data)


def test_import_grids_command_reads_a_file_with_its_system(community, tmp_path):
    grids = make_grids(community, ["G1", "G2"])
    path = tmp_path / "grids.geojson"
    path.write_text(
        json.dumps(collection(feature("G1", cell(0, 0)), feature("G2", cell(1, 0)))), encoding="utf-8"
    )
    out = StringIO()
    call_command("import_grids", str(path), "--system", "gcj02", stdout=out)
    assert "2" in out.getvalue()
    centre_gcj = (X0 + 0.005, Y0 + 0.005)
    assert grid_for_point(centre_gcj[0], centre_gcj[1], "gcj02") == grids["G1"]


def test_import_grids_command_reports_a_refused_file(community, tmp_path):
    make_grids(community, ["G1"])
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(collection(feature("G9", cell(0, 0)))), encoding="utf-8")
    with pytest.raises(CommandError, match="网格「G9」不存在"):
        call_command("import_grids", str(path))
    bad_json = tmp_path / "bad.geojson"
    bad_json.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="JSON"):
        call_command("import_grids", str(bad_json))


def test_an_actor_without_the_right_cannot_import_boundaries(community, django_user_model):
    make_grids(community, ["G1"])
    user = django_user_model.objects.create_user(username="nobody", password="x-Very-long-1")
    with pytest.raises(PermissionDenied):
        grid_boundaries_import(actor=user, features=collection(feature("G1", cell(0, 0))))
    assert Unit.objects.get(code="G1").boundary is None


def test_a_system_administrator_may_import_boundaries(community, django_user_model):
    make_grids(community, ["G1"])
    admin = django_user_model.objects.create_user(
        username="sysadmin", password="x-Very-long-1", admin_role="system"
    )
    assert grid_boundaries_import(actor=admin, features=collection(feature("G1", cell(0, 0)))).count == 1
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert (event.event_type, event.actor_login) == ("grid.boundaries_import", "sysadmin")
