"""Catalog Excel imports and exports: upserts, one audit row, every error path, round trip."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from catalog.choices import HandlingLevel, LimitUnit
from catalog.excel import (
    CATALOG_SHEET,
    KNOWLEDGE_SHEET,
    RULES_SHEET,
    export_catalog,
    export_knowledge,
    export_rules,
    import_catalog,
    import_knowledge,
    import_rules,
)
from catalog.models import CatalogItem, Category, KnowledgeAnswer, ResponsibilityRule
from catalog.services import knowledge_create, rule_create
from catalog.tests.utils import last_audit
from core.excel import ExcelImportError, SheetOut, write_workbook
from core.models import AuditEvent
from orgs.choices import UnitKind

pytestmark = pytest.mark.django_db

CATALOG_HEADERS = [c.header for c in CATALOG_SHEET.columns]
RULE_HEADERS = [c.header for c in RULES_SHEET.columns]
KNOWLEDGE_HEADERS = [c.header for c in KNOWLEDGE_SHEET.columns]


def xlsx(title, headers, rows):
    return write_workbook([SheetOut(title, headers, rows)])


def catalog_file(rows, headers=CATALOG_HEADERS):
    return xlsx("事项清单", headers, rows)


def rules_file(rows, headers=RULE_HEADERS):
    return xlsx("责任清单", headers, rows)


def knowledge_file(rows, headers=KNOWLEDGE_HEADERS):
    return xlsx("知识库", headers, rows)


def issues(excinfo):
    return [(i.row, i.column, i.message) for i in excinfo.value.issues]


CATALOG_ROWS = [
    ["01", "城市管理", "0101", "环境卫生", "010101", "垃圾分类", "垃圾桶，分类投放"],
    ["01", "城市管理", "0101", "环境卫生", "010102", "道路清扫", "扫地"],
    ["01", "城市管理", "0102", "市容秩序", "010201", "占道经营", ""],
    ["02", "生态环境", "0201", "大气污染", "020101", "餐饮油烟", "油烟"],
]


def test_catalog_import_creates_the_tree_and_writes_one_audit_row(actor):
    before = AuditEvent.objects.count()
    counts = import_catalog(actor=actor, source=catalog_file(CATALOG_ROWS))
    assert counts == {
        "categories_created": 2,
        "categories_updated": 0,
        "subcategories_created": 3,
        "subcategories_updated": 0,
        "items_created": 4,
        "items_updated": 0,
        "rows": 4,
    }
    assert AuditEvent.objects.count() == before + 1
    event = last_audit()
    assert event.event_type == "catalog.import_catalog"
    assert event.extra["counts"]["items_created"] == 4
    item = CatalogItem.objects.get(code="010101")
    assert item.subcategory.code == "0101"
    assert item.subcategory.parent is not None
    assert item.subcategory.parent.code == "01"
    assert "ljfl" in item.search_pinyin


def test_reimporting_updates_by_code_and_counts_only_changes(actor):
    import_catalog(actor=actor, source=catalog_file(CATALOG_ROWS))
    assert import_catalog(actor=actor, source=catalog_file(CATALOG_ROWS))["items_updated"] == 0
    changed = [row[:] for row in CATALOG_ROWS]
    changed[1][5] = "道路保洁"
    changed[3][1] = "生态环保"
    counts = import_catalog(actor=actor, source=catalog_file(changed))
    assert (counts["items_updated"], counts["categories_updated"], counts["items_created"]) == (1, 1, 0)
    assert CatalogItem.objects.get(code="010102").name == "道路保洁"
    assert Category.objects.get(code="02").name == "生态环保"


def test_a_bad_catalog_file_imports_nothing_and_names_every_problem(actor):
    rows = [
        *CATALOG_ROWS,
        ["01", "城市管理X", "0101", "环境卫生", "010103", "甲", ""],  # row 6: category renamed
        ["02", "生态环境", "0101", "环境卫生", "010104", "乙", ""],  # row 7: subcategory moved
        ["01", "城市管理", "0102", "市容秩序", "010101", "丙", ""],  # row 8: duplicate item code
        ["01", "城市管理", "01", "重复", "010105", "丁", ""],  # row 9: code used as category
        ["01", "城市管理", "0103", "", "010106", "", ""],  # row 10: empty names
    ]
    before = AuditEvent.objects.count()
    with pytest.raises(ExcelImportError) as info:
        import_catalog(actor=actor, source=catalog_file(rows))
    found = issues(info)
    assert (6, "大类名称", "大类「01」在第2行名为「城市管理」，此处不一致") in found
    assert any(r == 7 and c == "小类编码" and "只能属于一个大类" in m for r, c, m in found)
    assert (8, "事项编码", "「事项编码」为「010101」的行重复，与第2行相同") in found
    assert (9, "小类编码", "编码「01」在本文件中已用作大类编码") in found
    assert (10, "小类名称", "不能为空") in found
    assert (10, "事项名称", "不能为空") in found
    assert not Category.objects.exists()
    assert AuditEvent.objects.count() == before
    assert "工作表「事项清单」第6行「大类名称」列" in str(info.value)


def test_catalog_codes_must_keep_their_level_in_the_database(catalog, actor):
    rows = [
        ["0101", "原是小类", "0199", "新小类", "019901", "甲", ""],
        ["09", "新大类", "01", "原是大类", "090101", "乙", ""],
    ]
    with pytest.raises(ExcelImportError) as info:
        import_catalog(actor=actor, source=catalog_file(rows))
    found = issues(info)
    assert (2, "大类编码", "编码「0101」在系统中是小类，不能用作大类编码") in found
    assert (3, "小类编码", "编码「01」在系统中是大类，不能用作小类编码") in found


def test_a_missing_column_is_reported(actor):
    headers = [h for h in CATALOG_HEADERS if h != "事项名称"]
    with pytest.raises(ExcelImportError) as info:
        import_catalog(actor=actor, source=catalog_file([["01", "甲", "0101", "乙", "010101", ""]], headers))
    assert issues(info) == [(1, "事项名称", "缺少必填列")]


def test_dry_run_checks_and_counts_but_writes_nothing(actor):
    before = AuditEvent.objects.count()
    counts = import_catalog(actor=actor, source=catalog_file(CATALOG_ROWS), dry_run=True)
    assert counts["items_created"] == 4
    assert not CatalogItem.objects.exists()
    assert AuditEvent.objects.count() == before


def rule_row(**overrides):
    row = {
        "事项编码": "010101",
        "适用区域编码": "",
        "主办单位编码": "",
        "主办单位类型": "街道",
        "办理层级": "街道级",
        "协办单位编码": "",
        "时限单位": "工作日",
        "签收时限": 1,
        "联系时限": 1,
        "答复时限": 10,
    }
    row.update(overrides)
    return [row[h] for h in RULE_HEADERS]


def test_rules_import_upserts_by_item_and_area(catalog, tree, actor):
    rows = [
        rule_row(),
        rule_row(
            **{
                "适用区域编码": "C0101",
                "主办单位类型": "",
                "主办单位编码": "D01",
                "办理层级": "市级",
                "协办单位编码": "D02；C0101",
            }
        ),
        rule_row(
            **{
                "事项编码": "010102",
                "主办单位类型": "",
                "主办单位编码": "D02",
                "办理层级": "市级",
                "时限单位": "小时",
                "签收时限": 1,
                "联系时限": 2,
                "答复时限": 24,
            }
        ),
    ]
    counts = import_rules(actor=actor, source=rules_file(rows))
    assert (counts["rules_created"], counts["rules_updated"]) == (3, 0)
    street_rule = ResponsibilityRule.objects.get(item=catalog.garbage, area=tree.street)
    assert street_rule.lead_unit == tree.water
    assert set(street_rule.assist_units.all()) == {tree.gas, tree.street}
    urgent = ResponsibilityRule.objects.get(item=catalog.noise)
    assert (urgent.limit_unit, urgent.reply_within) == (LimitUnit.HOURS, 24)
    rows[0] = rule_row(**{"答复时限": 7})
    counts = import_rules(actor=actor, source=rules_file(rows))
    assert (counts["rules_created"], counts["rules_updated"]) == (0, 1)
    assert ResponsibilityRule.objects.get(item=catalog.garbage, area=None).reply_within == 7
    assert last_audit().event_type == "catalog.import_rules"


def test_a_bad_rules_file_names_each_row_and_column(catalog, tree, actor):
    rows = [
        rule_row(**{"事项编码": "999999"}),  # 2 unknown item
        rule_row(**{"适用区域编码": "NOPE"}),  # 3 unknown area
        rule_row(
            **{"主办单位类型": "", "主办单位编码": "X9", "办理层级": "市级", "协办单位编码": "D02;Y8"}
        ),  # 4
        rule_row(**{"事项编码": "010102", "签收时限": 3, "联系时限": 2}),  # 5 bad order
        rule_row(**{"事项编码": "010102", "适用区域编码": "C0101"}),  # 6 fine
        rule_row(**{"事项编码": "010102", "适用区域编码": "C0101"}),  # 7 duplicate key
        rule_row(
            **{"事项编码": "010102", "适用区域编码": "C", "时限单位": "月", "签收时限": "一"}
        ),  # 8 cells
        rule_row(**{"事项编码": "010102", "适用区域编码": "C0102", "主办单位类型": ""}),  # 9
        rule_row(**{"事项编码": "010102", "适用区域编码": "C010101", "主办单位编码": "D01"}),  # 10 both
        rule_row(
            **{"事项编码": "010102", "适用区域编码": "C01", "时限单位": "自然小时", "答复时限": 100}
        ),  # 11
    ]
    with pytest.raises(ExcelImportError) as info:
        import_rules(actor=actor, source=rules_file(rows))
    found = issues(info)
    assert (2, "事项编码", "事项编码「999999」不存在") in found
    assert (3, "适用区域编码", "单位编码「NOPE」不存在") in found
    assert (4, "主办单位编码", "单位编码「X9」不存在") in found
    assert (4, "协办单位编码", "单位编码「Y8」不存在") in found
    assert any(r == 5 and c == "联系时限" and "签收时限 ≤ 联系时限 ≤ 答复时限" in m for r, c, m in found)
    assert not any(r == 6 for r, _c, _m in found)
    assert any(r == 7 and c == "事项编码" and "与第6行相同" in m for r, c, m in found)
    assert any(r == 8 and c == "时限单位" and "不是可选值" in m for r, c, m in found)
    assert any(r == 8 and c == "签收时限" and "整数" in m for r, c, m in found)
    assert (9, "主办单位编码", "主办单位与主办单位类型须填且只填一项") in found
    assert (10, "主办单位编码", "主办单位与主办单位类型须填且只填一项") in found
    assert any(r == 11 and c == "答复时限" and "紧急事项" in m for r, c, m in found)
    assert not ResponsibilityRule.objects.exists()


def test_an_area_that_is_not_territorial_is_refused(catalog, tree, actor):
    with pytest.raises(ExcelImportError) as info:
        import_rules(actor=actor, source=rules_file([rule_row(**{"适用区域编码": "D01"})]))
    assert any(c == "适用区域编码" and "适用区域应为" in m for _r, c, m in issues(info))


def knowledge_row(
    question="垃圾怎么分类？", answer="按四类投放。", keywords="垃圾", item="010101", start=None, end=None
):
    return [question, answer, keywords, item, start, end]


def test_knowledge_import_upserts_by_question(catalog, actor):
    rows = [
        knowledge_row(start=dt.date(2025, 1, 1), end="2025-12-31"),
        knowledge_row(question="没有事项的问题？", item=None, keywords="a b"),
    ]
    counts = import_knowledge(actor=actor, source=knowledge_file(rows))
    assert (counts["answers_created"], counts["answers_updated"]) == (2, 0)
    answer = KnowledgeAnswer.objects.get(question="垃圾怎么分类？")
    assert (answer.valid_from, answer.valid_until) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert answer.item == catalog.garbage
    assert KnowledgeAnswer.objects.get(question="没有事项的问题？").keywords == "a，b"
    rows[1] = knowledge_row(question="没有事项的问题？", item=None, answer="新的答复")
    counts = import_knowledge(actor=actor, source=knowledge_file(rows))
    assert (counts["answers_created"], counts["answers_updated"]) == (0, 1)


def test_a_bad_knowledge_file_names_each_problem(catalog, actor):
    rows = [
        knowledge_row(item="999999"),  # 2
        knowledge_row(question="乙？", start="2025-02-30"),  # 3 impossible date
        knowledge_row(question="丙？", start="2025-03-01", end="2025-02-01"),  # 4 reversed
        knowledge_row(question="乙？"),  # 5 duplicate question
        knowledge_row(question="丁？", answer=None),  # 6 empty answer
    ]
    with pytest.raises(ExcelImportError) as info:
        import_knowledge(actor=actor, source=knowledge_file(rows))
    found = issues(info)
    assert (2, "事项编码", "事项编码「999999」不存在") in found
    assert (3, "生效日期", "不存在的日期：「2025-02-30」") in found
    assert (4, "失效日期", "失效日期不能早于生效日期") in found
    assert any(r == 5 and c == "问题" and "与第3行相同" in m for r, c, m in found)
    assert (6, "答复", "不能为空") in found
    assert not KnowledgeAnswer.objects.exists()


def snapshot():
    return {
        "categories": sorted(Category.objects.values_list("code", "name", "parent__code")),
        "items": sorted(
            CatalogItem.objects.values_list("code", "name", "subcategory__code", "keywords", "search_pinyin")
        ),
        "rules": sorted(
            (
                r.item.code,
                r.area.code if r.area else "",
                r.lead_unit.code if r.lead_unit else "",
                r.lead_kind,
                r.handling_level,
                tuple(sorted(u.code for u in r.assist_units.all())),
                r.limit_unit,
                r.accept_within,
                r.contact_within,
                r.reply_within,
            )
            for r in ResponsibilityRule.objects.all()
        ),
        "knowledge": sorted(
            KnowledgeAnswer.objects.values_list(
                "question", "answer", "keywords", "item__code", "valid_from", "valid_until"
            ),
            key=lambda row: row[0],
        ),
    }


def test_export_then_import_gives_the_same_data(catalog, tree, actor):
    rule_create(
        actor=actor,
        item=catalog.garbage,
        lead_kind=UnitKind.STREET,
        handling_level=HandlingLevel.STREET,
        accept_within=1,
        contact_within=1,
        reply_within=10,
    )
    rule_create(
        actor=actor,
        item=catalog.garbage,
        area=tree.street,
        lead_unit=tree.water,
        handling_level=HandlingLevel.CITY,
        assist_units=[tree.gas, tree.community],
        accept_within=1,
        contact_within=2,
        reply_within=15,
    )
    rule_create(
        actor=actor,
        item=catalog.noise,
        lead_unit=tree.gas,
        handling_level=HandlingLevel.CITY,
        limit_unit=LimitUnit.HOURS,
        accept_within=1,
        contact_within=2,
        reply_within=24,
    )
    knowledge_create(
        actor=actor,
        question="垃圾怎么分？",
        answer="=按四类投放",
        keywords="垃圾，分类",
        item=catalog.garbage,
        valid_from=dt.date(2025, 1, 1),
        valid_until=dt.date(2026, 6, 30),
    )
    knowledge_create(actor=actor, question="没有事项？", answer="有的。")
    original = snapshot()
    files = (export_catalog(actor=actor), export_rules(actor=actor), export_knowledge(actor=actor))
    KnowledgeAnswer.objects.all().delete()
    ResponsibilityRule.objects.all().delete()
    CatalogItem.objects.all().delete()
    Category.objects.filter(parent__isnull=False).delete()
    Category.objects.all().delete()
    import_catalog(actor=actor, source=files[0])
    import_rules(actor=actor, source=files[1])
    import_knowledge(actor=actor, source=files[2])
    assert snapshot() == original
    # And importing the exports over identical data changes nothing.
    assert import_rules(actor=actor, source=files[1])["rules_updated"] == 0
    assert import_knowledge(actor=actor, source=files[2])["answers_updated"] == 0


def test_exports_are_audited(catalog, actor):
    export_catalog(actor=actor)
    event = last_audit()
    assert (event.event_type, event.extra) == ("catalog.export_catalog", {"rows": 2})


def test_commands_import_export_and_report_errors_in_chinese(catalog, tree, actor, tmp_path):
    path = tmp_path / "catalog.xlsx"
    call_command("export_catalog", str(path))
    CatalogItem.objects.filter(code="010102").update(name="改过的名称")
    call_command("import_catalog", str(path))
    assert CatalogItem.objects.get(code="010102").name == "施工噪音"
    bad = tmp_path / "rules.xlsx"
    bad.write_bytes(rules_file([rule_row(**{"事项编码": "999999"})]))
    with pytest.raises(CommandError) as info:
        call_command("import_rules", str(bad))
    assert "第2行「事项编码」列：事项编码「999999」不存在" in str(info.value)
    with pytest.raises(CommandError, match="只能导入 Excel .xlsx 文件"):
        call_command("import_knowledge", str(tmp_path / "x.csv"))
    call_command("export_rules", str(tmp_path / "r.xlsx"))
    call_command("export_knowledge", str(tmp_path / "k.xlsx"))
    call_command("import_knowledge", str(tmp_path / "k.xlsx"), "--dry-run")
