"""core.excel: every error path of the all-or-nothing reader, and the writer."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from core import excel
from core.excel import (
    Column,
    ExcelImportError,
    Issues,
    SheetOut,
    SheetSpec,
    WorkbookData,
    read_workbook,
    write_workbook,
)

SPEC = SheetSpec(
    title="事项",
    columns=(
        Column("事项编码", "code", excel.code(max_length=8)),
        Column("事项名称", "name", excel.text(max_length=10)),
        Column("数量", "count", excel.integer(min_value=0, max_value=100), required=False),
        Column("日期", "day", excel.date(), required=False),
        Column("级别", "level", excel.choice({"市级": "city", "区级": "district"}), required=False),
        Column("协办", "assist", excel.text_list(), required=False, default=[]),
    ),
    unique=(("code",),),
)
HEADERS = ["事项编码", "事项名称", "数量", "日期", "级别", "协办"]


def book(rows, headers=HEADERS, title="事项", extra_sheets=()):
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    for name in extra_sheets:
        wb.create_sheet(name)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def issues_of(data, specs=(SPEC,), **kwargs):
    with pytest.raises(ExcelImportError) as info:
        read_workbook(data, specs, **kwargs)
    return [(i.row, i.column, i.message) for i in info.value.issues]


def test_a_clean_file_parses_every_column():
    data = book(
        [
            ["A1", "垃圾分类", 3, dt.date(2025, 1, 31), "市级", "X1; X2；X3"],
            [101, "噪音", "4", "2025/2/1", "区级", None],
        ]
    )
    result = read_workbook(data, [SPEC])
    rows = result.rows("事项")
    assert [r.row for r in rows] == [2, 3]
    assert rows[0].values == {
        "code": "A1",
        "name": "垃圾分类",
        "count": 3,
        "day": dt.date(2025, 1, 31),
        "level": "city",
        "assist": ["X1", "X2", "X3"],
    }
    # A code typed as a number becomes its digits; an empty optional cell takes the default.
    assert rows[1]["code"] == "101"
    assert rows[1]["count"] == 4
    assert rows[1]["day"] == dt.date(2025, 2, 1)
    assert rows[1]["assist"] == []


def test_blank_rows_are_skipped_and_row_numbers_stay_excels_own():
    data = book([["A1", "甲"], [None, None, None], ["A2", "乙"]])
    rows = read_workbook(data, [SPEC]).rows("事项")
    assert [(r.row, r["code"]) for r in rows] == [(2, "A1"), (4, "A2")]


def test_every_cell_error_is_reported_at_once_with_row_and_column():
    data = book(
        [
            [None, "甲", "x", "2025-13-01", "省级", None],
            ["A 2", "这个名称显然太长了超过十个字", -1, "明天", "市级", None],
            ["A3", "丙", 1.5, dt.datetime.combine(dt.date(2025, 1, 1), dt.time(9, 30)), None, None],
        ]
    )
    found = issues_of(data)
    assert (2, "事项编码", "不能为空") in found
    assert any(r == 2 and c == "数量" and "整数" in m for r, c, m in found)
    assert any(r == 2 and c == "日期" and "不存在的日期" in m for r, c, m in found)
    assert any(r == 2 and c == "级别" and "不是可选值" in m and "市级" in m for r, c, m in found)
    assert any(r == 3 and c == "事项编码" and "只能包含" in m for r, c, m in found)
    assert any(r == 3 and c == "事项名称" and "不能超过10个字符" in m for r, c, m in found)
    assert any(r == 3 and c == "数量" and "不能小于0" in m for r, c, m in found)
    assert any(r == 3 and c == "日期" and "格式不正确" in m for r, c, m in found)
    assert any(r == 4 and c == "数量" and "整数" in m for r, c, m in found)
    assert any(r == 4 and c == "日期" and "不应包含时间" in m for r, c, m in found)
    assert len(found) == 10


def test_a_key_repeated_in_the_file_names_both_rows():
    data = book([["A1", "甲"], ["A2", "乙"], ["A1", "丙"]])
    found = issues_of(data)
    assert len(found) == 1
    row, column, message = found[0]
    assert (row, column) == (4, "事项编码")
    assert "A1" in message and "第2行" in message


def test_missing_headers_are_reported_before_any_row_is_read():
    data = book([[None, None]], headers=["事项名称", "数量", "日期", "级别"])
    found = issues_of(data)
    assert (1, "事项编码", "缺少必填列") in found
    assert any(c == "协办" and "缺少列" in m for _r, c, m in found)
    assert len(found) == 2


def test_unknown_extra_columns_are_errors_unless_the_spec_allows_them():
    data = book([["A1", "甲"]], headers=[*HEADERS, "事项编号"])
    found = issues_of(data)
    assert found == [(1, "事项编号", "未知的列，请删除或改为模板中的列名")]
    lenient = SheetSpec(title=SPEC.title, columns=SPEC.columns, allow_extra_columns=True)
    assert read_workbook(data, [lenient]).rows("事项")[0]["code"] == "A1"


def test_a_repeated_header_is_an_error():
    data = book([], headers=[*HEADERS, "数量"])
    assert issues_of(data) == [(1, "数量", "表头重复")]


def test_an_empty_sheet_is_an_error():
    data = book([], headers=[])
    found = issues_of(data)
    assert found == [(1, None, "第一行应为表头，但工作表是空的")]


def test_a_missing_sheet_is_named():
    other = SheetSpec(title="规则", columns=(Column("编码", "code", excel.text()),))
    data = book([["A1", "甲"]])
    with pytest.raises(ExcelImportError) as info:
        read_workbook(data, [SPEC, other])
    assert [(i.sheet, i.message) for i in info.value.issues] == [("规则", "缺少工作表「规则」")]


def test_a_single_sheet_import_reads_the_only_sheet_whatever_its_title():
    data = book([["A1", "甲"]], title="Sheet1")
    assert read_workbook(data, [SPEC]).rows("事项")[0]["code"] == "A1"
    two = book([["A1", "甲"]], title="Sheet1", extra_sheets=["Sheet2"])
    assert issues_of(two) == [(None, None, "缺少工作表「事项」")]


def test_callers_checks_add_issues_even_when_cells_failed():
    data = book([["A1", "甲"], ["B2", "乙"], [None, "丙"]])

    def unknown_codes(result: WorkbookData, issues: Issues) -> None:
        for row in result.rows("事项"):
            if row["code"].startswith("B"):
                issues.add(sheet="事项", row=row.row, column="事项编码", message="事项不存在")

    found = issues_of(data, checks=[unknown_codes])
    assert found == [(4, "事项编码", "不能为空"), (3, "事项编码", "事项不存在")]


def test_too_many_rows_are_refused():
    data = book([[f"A{i}", "甲"] for i in range(6)])
    found = issues_of(data, max_rows=5)
    assert found == [(None, None, "数据超过5行的上限，请拆分为多个文件导入")]
    assert len(read_workbook(data, [SPEC], max_rows=6).rows("事项")) == 6


def test_the_row_limit_comes_from_settings(settings):
    settings.EXCEL_IMPORT_MAX_ROWS = 1
    found = issues_of(book([["A1", "甲"], ["A2", "乙"]]))
    assert "上限" in found[0][2]


def test_an_oversized_file_is_refused():
    data = book([["A1", "甲"]])
    with pytest.raises(ExcelImportError) as info:
        read_workbook(data, [SPEC], max_bytes=len(data) - 1)
    assert "文件过大" in str(info.value)


def test_a_zip_that_unpacks_too_large_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "0" * 2_000_000)
    with pytest.raises(ExcelImportError) as info:
        read_workbook(buf.getvalue(), [SPEC], max_bytes=100_000)
    assert "文件过大" in str(info.value)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "旧版 .xls"),
        ("事项编码,事项名称\nA1,甲\n".encode(), "不是 Excel .xlsx 格式"),
        (b"PK\x03\x04 this is not really a zip", "文件已损坏"),
    ],
)
def test_non_xlsx_and_corrupt_files_are_refused_in_chinese(payload, expected):
    with pytest.raises(ExcelImportError) as info:
        read_workbook(payload, [SPEC])
    assert expected in str(info.value)


def test_a_zip_that_is_not_a_workbook_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("word/document.xml", "<doc/>")
    with pytest.raises(ExcelImportError) as info:
        read_workbook(buf.getvalue(), [SPEC])
    assert "不是 Excel .xlsx 格式" in str(info.value)


def test_a_damaged_workbook_package_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not-a-workbook")
    with pytest.raises(ExcelImportError) as info:
        read_workbook(buf.getvalue(), [SPEC])
    assert "文件已损坏" in str(info.value)


def test_paths_must_be_xlsx_and_exist(tmp_path):
    csv = tmp_path / "catalog.csv"
    csv.write_text("a,b")
    with pytest.raises(ExcelImportError) as info:
        read_workbook(csv, [SPEC])
    assert "只能导入 Excel .xlsx 文件" in str(info.value)
    with pytest.raises(ExcelImportError) as info:
        read_workbook(tmp_path / "missing.xlsx", [SPEC])
    assert "找不到文件" in str(info.value)
    good = tmp_path / "ok.xlsx"
    good.write_bytes(book([["A1", "甲"]]))
    assert read_workbook(good, [SPEC]).rows("事项")[0]["name"] == "甲"
    with good.open("rb") as handle:
        assert read_workbook(handle, [SPEC]).rows("事项")[0]["name"] == "甲"


def test_the_report_is_readable_chinese_and_capped():
    error = ExcelImportError(
        [excel.ImportIssue(sheet="事项", row=r, column="事项编码", message="不能为空") for r in range(2, 300)]
    )
    text = str(error)
    assert text.startswith("导入失败，共发现298处错误，未导入任何数据：")
    assert "1. 工作表「事项」第2行「事项编码」列：不能为空" in text
    assert "……另有98处错误未列出。" in text
    assert len(error.issues) == 298


def test_boolean_parser_accepts_chinese_and_refuses_other_text():
    parse = excel.boolean()
    assert parse("是") is True
    assert parse("停用") is False
    assert parse(True) is True
    with pytest.raises(excel.CellError):
        parse("也许")


def test_integer_parser_accepts_whole_floats_and_numeric_text():
    parse = excel.integer()
    assert parse(3.0) == 3
    assert parse("12") == 12
    assert parse("12.0") == 12
    with pytest.raises(excel.CellError):
        parse(True)
    with pytest.raises(excel.CellError):
        parse("12.5")


def test_writer_freezes_the_header_sizes_columns_and_round_trips():
    data = write_workbook(
        [
            SheetOut(
                title="事项",
                headers=HEADERS,
                rows=[["A1", "垃圾分类", 3, dt.date(2025, 1, 31), "市级", "X1;X2"]],
            )
        ]
    )
    wb = load_workbook(io.BytesIO(data))
    ws = wb["事项"]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.b is True
    assert ws.column_dimensions["B"].width >= 10  # 垃圾分类 is four wide characters
    rows = read_workbook(data, [SPEC]).rows("事项")
    assert rows[0].values["day"] == dt.date(2025, 1, 31)
    assert rows[0].values["assist"] == ["X1", "X2"]


def test_writer_never_writes_a_formula():
    data = write_workbook([SheetOut(title="T", headers=["a"], rows=[['=HYPERLINK("x")'], ["+1"]])])
    ws = load_workbook(io.BytesIO(data))["T"]
    assert ws["A2"].data_type == "s"
    assert ws["A2"].value == '=HYPERLINK("x")'
    assert ws["A3"].value == "+1"
