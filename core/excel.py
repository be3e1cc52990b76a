"""All-or-nothing Excel (.xlsx) imports and plain exports, on openpyxl.

An import describes each sheet with a :class:`SheetSpec` (Chinese column headers, one parser per
column, required or optional, unique keys) and calls :func:`read_workbook`. The reader collects
*every* problem it finds — a file that is not an .xlsx, a missing sheet or header, an unknown
extra column, an empty required cell, a bad number, date or choice, a key repeated in the file,
and whatever the caller's own cross-row or database checks report — and raises one
:class:`ExcelImportError` holding the whole list. The caller imports nothing unless the reader
returns, so a bad file is refused whole.

Decisions, written down:

- **Unknown extra columns are errors** (unless a spec sets ``allow_extra_columns``): a misspelt
  optional header such as 「事项编号」 would otherwise be ignored without a word and its data lost.
- Headers are the file format's contract and stay Chinese in every UI language; the messages
  are translatable.
- Row numbers are Excel's own (the header is row 1). Entirely blank rows are skipped.
- A single-sheet import whose workbook holds exactly one sheet reads it whatever its title
  (people rename "Sheet1"); otherwise sheets are found by title.
- Structural problems (not an .xlsx, too large, missing sheets or headers) stop before rows are
  read; cell problems and the caller's checks are reported together. The caller's checks see only
  rows whose cells all parsed.
- Limits: ``settings.EXCEL_IMPORT_MAX_ROWS`` data rows per sheet (default 20,000) and
  ``settings.EXCEL_IMPORT_MAX_BYTES`` for the file and for its unpacked content (default 20 MB),
  which also stops zip bombs.
- Exports write strings as strings: a value beginning with ``=`` is text, never a formula
  (spreadsheet formula injection).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

CellValue = str | int | float | bool | dt.datetime | dt.date | dt.time | Decimal | None
Parser = Callable[[CellValue], Any]
Source = str | Path | bytes | IO[bytes]

DEFAULT_MAX_ROWS = 20_000
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
REPORT_MAX_LINES = 200

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls


# --- errors -------------------------------------------------------------------------------------


class CellError(ValueError):
    """Raised by a column parser with a Chinese message for the cell it could not read."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImportIssue:
    """One problem: where (sheet, Excel row, column header) and what, in Chinese."""

    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.sheet:
            where.append(_("工作表「%(sheet)s」") % {"sheet": self.sheet})
        if self.row is not None:
            where.append(_("第%(row)d行") % {"row": self.row})
        if self.column:
            where.append(_("「%(column)s」列") % {"column": self.column})
        prefix = "".join(where)
        return f"{prefix}：{self.message}" if prefix else self.message


class ExcelImportError(Exception):
    """The whole list of problems in a file; nothing was imported."""

    def __init__(self, issues: Sequence[ImportIssue]) -> None:
        self.issues: list[ImportIssue] = list(issues)
        super().__init__(self.report())

    def report(self) -> str:
        head = _("导入失败，共发现%(n)d处错误，未导入任何数据：") % {"n": len(self.issues)}
        lines = [head]
        lines.extend(f"{i}. {issue}" for i, issue in enumerate(self.issues[:REPORT_MAX_LINES], start=1))
        if len(self.issues) > REPORT_MAX_LINES:
            lines.append(_("……另有%(n)d处错误未列出。") % {"n": len(self.issues) - REPORT_MAX_LINES})
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


class Issues:
    """Collects issues; the caller's checks add to it and :meth:`raise_if_any` ends the import."""

    def __init__(self) -> None:
        self._items: list[ImportIssue] = []

    def add(self, *, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self._items.append(ImportIssue(sheet=sheet, row=row, column=column, message=message))

    def extend(self, issues: Iterable[ImportIssue]) -> None:
        self._items.extend(issues)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    @property
    def items(self) -> list[ImportIssue]:
        return list(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise ExcelImportError(self._items)


# --- specs and parsed rows ----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column: its Chinese header, the key in the parsed row, and how to read a cell."""

    header: str
    key: str
    parse: Parser
    required: bool = True
    default: Any = None


@dataclass(frozen=True)
class SheetSpec:
    title: str
    columns: tuple[Column, ...]
    # Each tuple of keys must be unique among the file's rows (e.g. (("code",),)); a key part
    # that parsed to None is skipped, so give optional key columns a default such as "".
    unique: tuple[tuple[str, ...], ...] = ()
    allow_extra_columns: bool = False

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)


@dataclass(frozen=True)
class ParsedRow:
    row: int  # Excel row number (the header is row 1)
    values: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass
class WorkbookData:
    """Rows per sheet title; only rows whose every cell parsed are here."""

    sheets: dict[str, list[ParsedRow]] = field(default_factory=dict)

    def rows(self, title: str) -> list[ParsedRow]:
        return self.sheets.get(title, [])


Check = Callable[[WorkbookData, Issues], None]


# --- parsers ------------------------------------------------------------------------------------


def is_blank(value: CellValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_text(value: CellValue) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def text(*, max_length: int | None = None) -> Parser:
    """Any cell as stripped text (a number typed into a code cell becomes its digits)."""

    def parse(value: CellValue) -> str:
        result = _as_text(value)
        if max_length is not None and len(result) > max_length:
            raise CellError(_("不能超过%(n)d个字符（现为%(m)d个）") % {"n": max_length, "m": len(result)})
        return result

    return parse


_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def code(*, max_length: int) -> Parser:
    """An identifier: letters, digits, ``_ . -``; no spaces."""
    base = text(max_length=max_length)

    def parse(value: CellValue) -> str:
        result = str(base(value))
        if not _CODE_RE.match(result):
            raise CellError(_("编码「%(v)s」只能包含字母、数字、下划线、点和短横线") % {"v": result})
        return result

    return parse


def integer(*, min_value: int | None = None, max_value: int | None = None) -> Parser:
    def parse(value: CellValue) -> int:
        number: int
        if isinstance(value, bool):
            raise CellError(_("应为整数"))
        if isinstance(value, int):
            number = value
        elif isinstance(value, float | Decimal):
            if value != int(value):
                raise CellError(_("应为整数，不能是「%(v)s」") % {"v": value})
            number = int(value)
        else:
            raw = _as_text(value)
            try:
                number = int(raw)
            except ValueError:
                try:
                    dec = Decimal(raw)
                except InvalidOperation:
                    raise CellError(_("应为整数，不能是「%(v)s」") % {"v": raw}) from None
                if dec != dec.to_integral_value():
                    raise CellError(_("应为整数，不能是「%(v)s」") % {"v": raw}) from None
                number = int(dec)
        if min_value is not None and number < min_value:
            raise CellError(_("不能小于%(n)d") % {"n": min_value})
        if max_value is not None and number > max_value:
            raise CellError(_("不能大于%(n)d") % {"n": max_value})
        return number

    return parse


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def date() -> Parser:
    """A date cell, or text like 2025-01-31, 2025/1/31, 2025.1.31 or 2025年1月31日."""

    def parse(value: CellValue) -> dt.date:
        if isinstance(value, dt.datetime):
            if value.time() != dt.time(0, 0):
                raise CellError(_("应为日期，不应包含时间"))
            return value.date()
        if isinstance(value, dt.date):
            return value
        raw = _as_text(value)
        match = _DATE_RE.match(raw)
        if match is None:
            raise CellError(_("日期格式不正确：「%(v)s」，应为 2025-01-31 这样的日期") % {"v": raw})
        year, month, day = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            raise CellError(_("不存在的日期：「%(v)s」") % {"v": raw}) from None

    return parse


def choice(options: Mapping[str, str]) -> Parser:
    """A value from a fixed list. ``options`` maps each accepted text (label or code) to a value."""
    accepted = "、".join(dict.fromkeys(options))

    def parse(value: CellValue) -> str:
        raw = _as_text(value)
        if raw not in options:
            raise CellError(_("「%(v)s」不是可选值，可选：%(options)s") % {"v": raw, "options": accepted})
        return options[raw]

    return parse


def text_list(*, separators: str = ";；", item_max_length: int | None = None) -> Parser:
    """Several values in one cell, separated by semicolons (half- or full-width); blanks dropped."""
    splitter = re.compile("[" + re.escape(separators) + "]")
    item = text(max_length=item_max_length)

    def parse(value: CellValue) -> list[str]:
        parts = [p.strip() for p in splitter.split(_as_text(value))]
        return [item(p) for p in parts if p]

    return parse


def boolean() -> Parser:
    truthy = {"是", "启用", "true", "1", "y", "yes"}
    falsy = {"否", "停用", "false", "0", "n", "no"}

    def parse(value: CellValue) -> bool:
        if isinstance(value, bool):
            return value
        raw = _as_text(value).lower()
        if raw in truthy:
            return True
        if raw in falsy:
            return False
        raise CellError(_("应填「是」或「否」，不能是「%(v)s」") % {"v": raw})

    return parse


# --- reading ------------------------------------------------------------------------------------


def max_rows_setting() -> int:
    return int(getattr(settings, "EXCEL_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def max_bytes_setting() -> int:
    return int(getattr(settings, "EXCEL_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _file_problem(message: str) -> ExcelImportError:
    return ExcelImportError([ImportIssue(sheet="", row=None, column=None, message=message)])


def _load_bytes(source: Source, max_bytes: int) -> bytes:
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, str | Path):
        path = Path(source)
        if path.suffix.lower() not in {".xlsx", ".xlsm"}:
            raise _file_problem(_("只能导入 Excel .xlsx 文件，「%(name)s」不是") % {"name": path.name})
        try:
            size = path.stat().st_size
        except OSError:
            raise _file_problem(_("找不到文件「%(name)s」") % {"name": str(path)}) from None
        if size > max_bytes:
            raise _file_problem(_too_big(max_bytes))
        data = path.read_bytes()
    else:
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _file_problem(_too_big(max_bytes))
    return data


def _too_big(max_bytes: int) -> str:
    return _("文件过大，不能超过 %(mb).1f MB") % {"mb": max_bytes / 1024 / 1024}


def _open_workbook(data: bytes, max_bytes: int) -> Any:
    if data.startswith(_OLE_MAGIC):
        raise _file_problem(_("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后再导入"))
    if not data.startswith(_ZIP_MAGIC):
        raise _file_problem(_("文件不是 Excel .xlsx 格式，无法读取"))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise _file_problem(_("文件已损坏，无法读取，请检查后重新导出")) from None
    if unpacked > max_bytes * 5:
        raise _file_problem(_too_big(max_bytes))
    if "xl/workbook.xml" not in names:
        raise _file_problem(_("文件不是 Excel .xlsx 格式，无法读取"))
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged package
        raise _file_problem(_("文件已损坏，无法读取，请检查后重新导出")) from None


def _find_sheet(workbook: Any, spec: SheetSpec, single: bool) -> Any:
    if spec.title in workbook.sheetnames:
        return workbook[spec.title]
    if single and len(workbook.sheetnames) == 1:
        return workbook[workbook.sheetnames[0]]
    return None


def _read_header(
    sheet_rows: Iterable[tuple[CellValue, ...]], spec: SheetSpec, issues: Issues
) -> dict[int, Column] | None:
    """Map cell positions to columns; record header problems. None when the sheet is empty."""
    header = next(iter(sheet_rows), None)
    if header is None or all(is_blank(v) for v in header):
        issues.add(sheet=spec.title, row=1, column=None, message=_("第一行应为表头，但工作表是空的"))
        return None
    by_header = {col.header: col for col in spec.columns}
    positions: dict[int, Column] = {}
    seen: set[str] = set()
    for index, value in enumerate(header):
        if is_blank(value):
            continue
        name = _as_text(value)
        if name in seen:
            issues.add(sheet=spec.title, row=1, column=name, message=_("表头重复"))
            continue
        seen.add(name)
        col = by_header.get(name)
        if col is None:
            if not spec.allow_extra_columns:
                issues.add(
                    sheet=spec.title,
                    row=1,
                    column=name,
                    message=_("未知的列，请删除或改为模板中的列名"),
                )
            continue
        positions[index] = col
    for col in spec.columns:
        if col.header not in seen:
            message = _("缺少必填列") if col.required else _("缺少列（即使不填也请保留表头）")
            issues.add(sheet=spec.title, row=1, column=col.header, message=message)
    return positions


def read_workbook(
    source: Source,
    specs: Sequence[SheetSpec],
    *,
    checks: Iterable[Check] = (),
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> WorkbookData:
    """Read and validate every sheet; return the parsed rows or raise one ExcelImportError.

    ``checks`` run after the cells have parsed, on the clean rows, and add their own issues
    (cross-row rules, references to the database). Nothing is written here.
    """
    max_rows = max_rows_setting() if max_rows is None else max_rows
    max_bytes = max_bytes_setting() if max_bytes is None else max_bytes
    workbook = _open_workbook(_load_bytes(source, max_bytes), max_bytes)
    issues = Issues()
    try:
        layouts: list[tuple[SheetSpec, Any, dict[int, Column]]] = []
        for spec in specs:
            sheet = _find_sheet(workbook, spec, single=len(specs) == 1)
            if sheet is None:
                issues.add(
                    sheet=spec.title,
                    row=None,
                    column=None,
                    message=_("缺少工作表「%(t)s」") % {"t": spec.title},
                )
                continue
            positions = _read_header(sheet.iter_rows(min_row=1, max_row=1, values_only=True), spec, issues)
            if positions is not None:
                layouts.append((spec, sheet, positions))
        issues.raise_if_any()

        data = WorkbookData()
        for spec, sheet, positions in layouts:
            data.sheets[spec.title] = _read_rows(sheet, spec, positions, issues, max_rows)
    finally:
        workbook.close()
    # The caller's checks run even when some cells failed, on the clean rows, so one report
    # names every problem.
    for check in checks:
        check(data, issues)
    issues.raise_if_any()
    return data


def _read_rows(
    sheet: Any, spec: SheetSpec, positions: dict[int, Column], issues: Issues, max_rows: int
) -> list[ParsedRow]:
    rows: list[ParsedRow] = []
    seen_keys: dict[tuple[str, ...], dict[tuple[Any, ...], int]] = {key: {} for key in spec.unique}
    count = 0
    for number, cells in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        if all(is_blank(v) for v in cells):
            continue
        count += 1
        if count > max_rows:
            issues.add(
                sheet=spec.title,
                row=None,
                column=None,
                message=_("数据超过%(n)d行的上限，请拆分为多个文件导入") % {"n": max_rows},
            )
            return []
        values: dict[str, Any] = {}
        ok = True
        for index, col in positions.items():
            value = cells[index] if index < len(cells) else None
            if is_blank(value):
                if col.required:
                    issues.add(sheet=spec.title, row=number, column=col.header, message=_("不能为空"))
                    ok = False
                values[col.key] = col.default
                continue
            try:
                values[col.key] = col.parse(value)
            except CellError as exc:
                issues.add(sheet=spec.title, row=number, column=col.header, message=exc.message)
                ok = False
        for key in spec.unique:
            if any(values.get(k) is None for k in key):
                continue  # an empty required cell, already reported
            signature = tuple(values[k] for k in key)
            first = seen_keys[key].get(signature)
            if first is not None:
                headers = "+".join(spec.column(k).header for k in key)
                issues.add(
                    sheet=spec.title,
                    row=number,
                    column=spec.column(key[0]).header,
                    message=_("「%(h)s」为「%(v)s」的行重复，与第%(first)d行相同")
                    % {"h": headers, "v": "/".join(str(s) for s in signature), "first": first},
                )
                ok = False
            else:
                seen_keys[key][signature] = number
        if ok:
            rows.append(ParsedRow(row=number, values=values))
    return rows


# --- writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetOut:
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[int] | None = None  # in characters; computed from the content when absent


def _display_width(value: Any) -> int:
    textual = _as_text(value) if value is not None else ""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in textual)


def write_workbook(sheets: Sequence[SheetOut]) -> bytes:
    """An .xlsx with a bold, frozen header row and sensible column widths; returns its bytes."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for spec in sheets:
        ws = workbook.create_sheet(title=spec.title[:31])
        widths = [_display_width(h) for h in spec.headers]
        ws.append(list(spec.headers))
        for cell in ws[1]:
            cell.font = header_font
            cell.fill = header_fill
            cell.alignment = Alignment(vertical="center")
        for row_number, row in enumerate(spec.rows, start=2):
            for col_number, value in enumerate(row, start=1):
                cell = ws.cell(row=row_number, column=col_number)
                if isinstance(value, Promise):  # a lazy translation, e.g. a choice label
                    value = str(value)
                if isinstance(value, str):
                    cell.value = value
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                else:
                    cell.value = value
                    if isinstance(value, dt.date):
                        cell.number_format = "yyyy-mm-dd"
                if col_number <= len(widths):
                    widths[col_number - 1] = max(widths[col_number - 1], _display_width(value))
        for index, width in enumerate(spec.widths or widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
