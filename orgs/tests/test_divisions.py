"""Real-division import: add, rename, reparent (refused with activity), missing reported, dry run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from core.models import AuditEvent
from orgs import divisions
from orgs.choices import Role, UnitKind
from orgs.divisions import (
    DivisionError,
    city_divisions,
    import_divisions,
    import_report_counts,
    read_divisions,
    subtrees_with_activity,
)
from orgs.models import Unit, UnitClosure
from orgs.services import membership_grant, unit_create

CITY = "990100000000"
BASE = [
    (CITY, "测试市", "", "city"),
    ("990101000000", "甲区", CITY, "district"),
    ("990102000000", "乙区", CITY, "district"),
    ("990101001000", "甲一街道", "990101000000", "street"),
    ("990101002000", "甲二街道", "990101000000", "street"),
    ("990102001000", "乙一街道", "990102000000", "street"),
    ("990101001001", "甲一社区居委会", "990101001000", "community"),
    ("990101001002", "甲二社区居委会", "990101001000", "community"),
    ("990101002001", "甲三村委会", "990101002000", "community"),
    ("990102001001", "乙一社区居委会", "990102001000", "community"),
    # another city in the same file, never touched by an import of 测试市
    ("880100000000", "别市", "", "city"),
    ("880101000000", "别区", "880100000000", "district"),
]


def write_csv(path, rows):
    lines = ["code,name,parent_code,level"] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def edited(replace=None, drop=(), add=()):
    replace = replace or {}
    rows = [replace.get(r[0], r) for r in BASE if r[0] not in drop]
    return rows + list(add)


@pytest.fixture
def source(tmp_path):
    return write_csv(tmp_path / "v1.csv", BASE)


def code_map():
    return {u.code: u for u in Unit.objects.select_related("parent")}


def audit_types_since(start):
    return [e.event_type for e in list(AuditEvent.objects.order_by("seq"))[start:]]


@pytest.mark.django_db
def test_a_first_import_builds_the_city_tree_with_official_codes_and_one_audit_row(source):
    start = AuditEvent.objects.count()
    report = import_divisions(actor=None, city_code="9901", path=source)
    assert report.created == {"city": 1, "district": 2, "street": 3, "community": 4}
    units = code_map()
    assert "880100000000" not in units
    assert units[CITY].kind == UnitKind.CITY
    assert units[CITY].parent is None
    community = units["990101002001"]
    assert (community.kind, community.level, community.name) == (UnitKind.COMMUNITY, 3, "甲三村委会")
    assert community.parent == units["990101002000"]
    ancestors = set(UnitClosure.objects.filter(descendant=community).values_list("ancestor__code", "depth"))
    assert ancestors == {
        ("990101002001", 0),
        ("990101002000", 1),
        ("990101000000", 2),
        (CITY, 3),
    }
    assert UnitClosure.objects.count() == 1 + 2 * 2 + 3 * 3 + 4 * 4
    assert audit_types_since(start) == ["orgs.divisions_import"]


@pytest.mark.django_db
def test_running_it_again_changes_nothing(source):
    import_divisions(actor=None, city_code=CITY, path=source)
    start = AuditEvent.objects.count()
    report = import_divisions(actor=None, city_code=CITY, path=source)
    assert report.created_total == 0
    assert (report.renamed, report.moved, report.move_refused, report.missing, report.skipped) == (
        [],
        [],
        [],
        [],
        [],
    )
    assert AuditEvent.objects.count() == start


@pytest.mark.django_db
def test_a_rerun_adds_new_units_and_renames_changed_names(source, tmp_path):
    import_divisions(actor=None, city_code=CITY, path=source)
    v2 = write_csv(
        tmp_path / "v2.csv",
        edited(
            replace={"990101001000": ("990101001000", "甲一街道办事处", "990101000000", "street")},
            add=[("990101001003", "新建社区居委会", "990101001000", "community")],
        ),
    )
    start = AuditEvent.objects.count()
    report = import_divisions(actor=None, city_code=CITY, path=v2)
    assert report.created == {"city": 0, "district": 0, "street": 0, "community": 1}
    assert report.renamed == [("990101001000", "甲一街道", "甲一街道办事处")]
    units = code_map()
    assert units["990101001000"].name == "甲一街道办事处"
    assert units["990101001003"].parent == units["990101001000"]
    assert UnitClosure.objects.filter(descendant=units["990101001003"]).count() == 4
    assert sorted(audit_types_since(start)) == ["orgs.divisions_import", "orgs.unit_rename"]


@pytest.fixture
def moved_source(tmp_path):
    """甲二社区 moves from 甲一街道 to 甲二街道."""
    return write_csv(
        tmp_path / "moved.csv",
        edited(replace={"990101001002": ("990101001002", "甲二社区居委会", "990101002000", "community")}),
    )


@pytest.mark.django_db
def test_a_unit_without_users_is_moved_to_its_new_parent(source, moved_source):
    import_divisions(actor=None, city_code=CITY, path=source)
    report = import_divisions(actor=None, city_code=CITY, path=moved_source)
    assert report.moved == [("990101001002", "990101001000", "990101002000")]
    community = code_map()["990101001002"]
    assert community.parent is not None
    assert community.parent.code == "990101002000"
    assert set(UnitClosure.objects.filter(descendant=community).values_list("ancestor__code", flat=True)) == {
        "990101001002",
        "990101002000",
        "990101000000",
        CITY,
    }


@pytest.mark.django_db
def test_a_unit_with_users_is_not_reparented_but_reported(source, moved_source, django_user_model):
    import_divisions(actor=None, city_code=CITY, path=source)
    user = django_user_model.objects.create_user(username="worker", password="x-Very-long-1")
    membership_grant(actor=None, user=user, unit=Unit.objects.get(code="990101001002"), role=Role.GRID_WORKER)
    report = import_divisions(actor=None, city_code=CITY, path=moved_source)
    assert report.moved == []
    assert report.move_refused == [("990101001002", "甲二社区居委会", "990101001000", "990101002000")]
    assert code_map()["990101001002"].parent.code == "990101001000"
    assert any("未调整上级" in line and "990101001002" in line for line in report.lines())


@pytest.mark.django_db
def test_a_unit_whose_subtree_has_users_is_not_reparented(source, tmp_path, django_user_model):
    import_divisions(actor=None, city_code=CITY, path=source)
    community = Unit.objects.get(code="990101001001")
    grid = unit_create(actor=None, code="990101001001G1", name="一网格", kind=UnitKind.GRID, parent=community)
    user = django_user_model.objects.create_user(username="worker", password="x-Very-long-1")
    membership_grant(actor=None, user=user, unit=grid, role=Role.GRID_WORKER)
    # the whole street 甲一街道 moves to 乙区
    v2 = write_csv(
        tmp_path / "v2.csv",
        edited(replace={"990101001000": ("990101001000", "甲一街道", "990102000000", "street")}),
    )
    report = import_divisions(actor=None, city_code=CITY, path=v2)
    assert [r[0] for r in report.move_refused] == ["990101001000"]
    assert code_map()["990101001000"].parent.code == "990101000000"


@pytest.mark.django_db
def test_a_registered_activity_check_also_blocks_a_move(source, moved_source, monkeypatch):
    import_divisions(actor=None, city_code=CITY, path=source)
    target = Unit.objects.get(code="990101001002").pk
    monkeypatch.setattr(divisions, "_activity_checks", [])
    divisions.register_unit_activity_check(lambda ids: {target} & set(ids))  # e.g. "has orders"
    report = import_divisions(actor=None, city_code=CITY, path=moved_source)
    assert [r[0] for r in report.move_refused] == ["990101001002"]
    assert subtrees_with_activity([Unit.objects.get(code="990101001000").pk]) == {
        Unit.objects.get(code="990101001000").pk
    }


@pytest.mark.django_db
def test_units_missing_from_the_source_are_reported_never_deleted(source, tmp_path, django_user_model):
    import_divisions(actor=None, city_code=CITY, path=source)
    user = django_user_model.objects.create_user(username="worker", password="x-Very-long-1")
    membership_grant(actor=None, user=user, unit=Unit.objects.get(code="990101002001"), role=Role.HANDLER)
    # a department under the city is not a division: never reported as missing
    unit_create(
        actor=None, code="D1", name="市城管局", kind=UnitKind.DEPARTMENT, parent=Unit.objects.get(code=CITY)
    )
    v2 = write_csv(tmp_path / "v2.csv", edited(drop={"990102001001", "990101002001"}))
    report = import_divisions(actor=None, city_code=CITY, path=v2)
    assert report.missing == [
        ("990101002001", "甲三村委会", True),
        ("990102001001", "乙一社区居委会", False),
    ]
    assert Unit.objects.filter(code__in=["990102001001", "990101002001"], is_active=True).count() == 2
    text = "\n".join(report.lines())
    assert "区划中已没有，未删除（已有人员或工单）：990101002001 甲三村委会" in text
    assert "区划中已没有，未删除：990102001001 乙一社区居委会" in text


@pytest.mark.django_db
def test_a_dry_run_reports_exactly_and_writes_nothing(source):
    start = AuditEvent.objects.count()
    report = import_divisions(actor=None, city_code=CITY, path=source, dry_run=True)
    assert report.created_total == 10
    assert report.dry_run
    assert not Unit.objects.exists()
    assert AuditEvent.objects.count() == start
    assert report.lines()[0].startswith("【试运行，未写入】")


@pytest.mark.django_db
def test_a_code_taken_by_another_kind_is_skipped_with_its_subtree(source):
    city = unit_create(actor=None, code=CITY, name="测试市", kind=UnitKind.CITY, parent=None)
    unit_create(actor=None, code="990102000000", name="市某局", kind=UnitKind.DEPARTMENT, parent=city)
    report = import_divisions(actor=None, city_code=CITY, path=source)
    assert report.created == {"city": 0, "district": 1, "street": 2, "community": 3}
    assert not Unit.objects.filter(code="990102001000").exists()
    assert any("990102000000" in line and "市某局" in line for line in report.skipped)


@pytest.mark.django_db
def test_nothing_is_created_under_an_inactive_parent(source, tmp_path):
    import_divisions(actor=None, city_code=CITY, path=source)
    Unit.objects.filter(code="990102001001").update(is_active=False)
    Unit.objects.filter(code="990102001000").update(is_active=False)
    v2 = write_csv(tmp_path / "v2.csv", edited(add=[("990102001009", "新社区", "990102001000", "community")]))
    report = import_divisions(actor=None, city_code=CITY, path=v2)
    assert report.created_total == 0
    assert any("已停用" in line for line in report.skipped)


def test_an_unknown_city_is_refused_listing_the_cities(source):
    with pytest.raises(DivisionError, match="990100000000 测试市"):
        city_divisions("7701", source)
    with pytest.raises(DivisionError, match="4位、6位或12位"):
        city_divisions("99", source)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("9901", "测试市", "", "city")], "不是12位数字"),
        ([(CITY, "测试市", "", "province")], "未知层级"),
        ([(CITY, "", "", "city")], "名称为空"),
        ([(CITY, "测试市", "990000000000", "city")], "只有城市没有上级代码"),
    ],
)
def test_a_malformed_source_row_is_refused(tmp_path, rows, message):
    with pytest.raises(DivisionError, match=message):
        read_divisions(write_csv(tmp_path / "bad.csv", rows))


def test_a_source_without_the_columns_or_file_is_refused(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("code,name\n1,2\n", encoding="utf-8")
    with pytest.raises(DivisionError, match="缺少列"):
        read_divisions(path)
    with pytest.raises(DivisionError, match="无法读取"):
        read_divisions(tmp_path / "absent.csv")


def test_a_level_that_skips_a_step_is_refused(tmp_path):
    path = write_csv(
        tmp_path / "skip.csv", [(CITY, "测试市", "", "city"), ("990101001000", "街道", CITY, "street")]
    )
    with pytest.raises(DivisionError, match="不相接"):
        city_divisions(CITY, path)


@pytest.mark.django_db
def test_the_command_imports_and_dry_runs(source):
    out = StringIO()
    call_command("import_divisions", "--city", "990100", "--file", str(source), "--dry-run", stdout=out)
    assert "试运行" in out.getvalue()
    assert not Unit.objects.exists()
    out = StringIO()
    call_command("import_divisions", "--city", "990100", "--file", str(source), stdout=out)
    assert "新建 10 个单位" in out.getvalue()
    with pytest.raises(CommandError, match="没有城市"):
        call_command("import_divisions", "--city", "770100", "--file", str(source))


# --- the vendored file --------------------------------------------------------------------------

EXPECTED = {
    "110100000000": ("北京市", {"city": 1, "district": 16, "street": 349, "community": 7535}),
    "130100000000": ("石家庄市", {"city": 1, "district": 24, "street": 280, "community": 5152}),
    "640100000000": ("银川市", {"city": 1, "district": 6, "street": 62, "community": 602}),
}


def test_the_vendored_file_parses_with_unique_official_codes():
    rows = read_divisions()
    codes = [r.code for r in rows]
    assert len(codes) == len(set(codes))
    assert all(len(c) == 12 and c.isdigit() for c in codes)
    known = set(codes)
    assert all(r.parent_code in known for r in rows if r.parent_code)


@pytest.mark.parametrize("city", sorted(EXPECTED))
def test_the_vendored_file_has_the_expected_counts_per_city(city):
    name, counts = EXPECTED[city]
    rows = city_divisions(city)
    assert rows[0].name == name
    assert import_report_counts(rows) == counts
    assert all(r.code.startswith(city[:4]) for r in rows)


def test_the_vendored_file_holds_well_known_units():
    by_code = {r.code: r for r in city_divisions("110100")}
    assert by_code["110101000000"].name == "东城区"
    assert by_code["110101001000"].name == "东华门街道"
    assert by_code["110101001001"].name == "多福巷社区居委会"
    assert by_code["110101001001"].parent_code == "110101001000"


@pytest.mark.django_db
def test_a_whole_real_city_imports(django_assert_max_num_queries):
    with django_assert_max_num_queries(60):
        report = import_divisions(actor=None, city_code="640100")
    assert report.created == EXPECTED["640100000000"][1]
    assert Unit.objects.filter(kind=UnitKind.COMMUNITY, code__startswith="6401").count() == 602
    again = import_divisions(actor=None, city_code="640100")
    assert again.created_total == 0
    assert again.missing == []


@pytest.mark.django_db
def test_an_actor_without_the_right_cannot_import_divisions(source, django_user_model):
    user = django_user_model.objects.create_user(username="nobody", password="x-Very-long-1")
    with pytest.raises(PermissionDenied):
        import_divisions(actor=user, city_code=CITY, path=source)
    assert not Unit.objects.exists()
