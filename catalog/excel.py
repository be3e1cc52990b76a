"""Excel import and export of the catalog 事项清单, the responsibility list 责任清单 and the knowledge base.

Each import is all-or-nothing (``core.excel``): the whole file is checked — cells, repeats within
the file, consistency between rows, references to the database, the services' own rules — and
one report names every bad row and column, or everything is upserted by its key in one
transaction with one audit row summarising the counts.

Keys: categories and items by code; rules by (事项编码, 适用区域编码) with an empty area meaning
city-wide; knowledge answers by their question. Imports never delete and never change whether
something is active. The catalog sheet holds one row per item, so a category without items is
not exported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from catalog import selectors
from catalog.choices import HandlingLevel, LimitUnit
from catalog.models import CatalogItem, Category, KnowledgeAnswer, ResponsibilityRule
from catalog.services import (
    CODE_MAX,
    KEYWORDS_MAX,
    LEAD_KINDS,
    NAME_MAX,
    QUESTION_MAX,
    knowledge_problems,
    rule_problems,
)
from catalog.text import normalize_keywords, pinyin_index
from core import excel
from core.audit import audit_record
from core.excel import Column, Issues, ParsedRow, SheetOut, SheetSpec, Source, WorkbookData
from orgs.choices import UnitKind
from orgs.models import Unit

Counts = dict[str, int]

# --- sheet layouts ------------------------------------------------------------------------------

CATALOG_SHEET = SheetSpec(
    title="事项清单",
    columns=(
        Column("大类编码", "cat_code", excel.code(max_length=CODE_MAX)),
        Column("大类名称", "cat_name", excel.text(max_length=NAME_MAX)),
        Column("小类编码", "sub_code", excel.code(max_length=CODE_MAX)),
        Column("小类名称", "sub_name", excel.text(max_length=NAME_MAX)),
        Column("事项编码", "code", excel.code(max_length=CODE_MAX)),
        Column("事项名称", "name", excel.text(max_length=NAME_MAX)),
        Column("关键词", "keywords", excel.text(max_length=KEYWORDS_MAX), required=False, default=""),
    ),
    unique=(("code",),),
)


def _labels(choices: Any, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Accept a choice's Chinese label or its code."""
    options = {str(label): value for value, label in choices.choices}
    options.update({value: value for value in choices.values})
    options.update(extra or {})
    return options


LEAD_KIND_OPTIONS = {
    label: value
    for label, value in _labels(
        UnitKind, {"区": "district", "街道": "street", "镇": "street", "社区": "community", "村": "community"}
    ).items()
    if value in LEAD_KINDS
}
LEVEL_OPTIONS = _labels(HandlingLevel)
LIMIT_UNIT_OPTIONS = _labels(LimitUnit, {"小时": LimitUnit.HOURS})

RULES_SHEET = SheetSpec(
    title="责任清单",
    columns=(
        Column("事项编码", "item", excel.code(max_length=CODE_MAX)),
        Column("适用区域编码", "area", excel.code(max_length=32), required=False, default=""),
        Column("主办单位编码", "lead_unit", excel.code(max_length=32), required=False, default=""),
        Column("主办单位类型", "lead_kind", excel.choice(LEAD_KIND_OPTIONS), required=False, default=""),
        Column("办理层级", "handling_level", excel.choice(LEVEL_OPTIONS)),
        Column(
            "协办单位编码", "assist_units", excel.text_list(item_max_length=32), required=False, default=()
        ),
        Column("时限单位", "limit_unit", excel.choice(LIMIT_UNIT_OPTIONS)),
        Column("签收时限", "accept_within", excel.integer(min_value=1, max_value=10_000)),
        Column("联系时限", "contact_within", excel.integer(min_value=1, max_value=10_000)),
        Column("答复时限", "reply_within", excel.integer(min_value=1, max_value=10_000)),
    ),
    unique=(("item", "area"),),
)
RULE_HEADERS = {col.key: col.header for col in RULES_SHEET.columns}

KNOWLEDGE_SHEET = SheetSpec(
    title="知识库",
    columns=(
        Column("问题", "question", excel.text(max_length=QUESTION_MAX)),
        Column("答复", "answer", excel.text(max_length=10_000)),
        Column("关键词", "keywords", excel.text(max_length=KEYWORDS_MAX), required=False, default=""),
        Column("事项编码", "item", excel.code(max_length=CODE_MAX), required=False, default=""),
        Column("生效日期", "valid_from", excel.date(), required=False),
        Column("失效日期", "valid_until", excel.date(), required=False),
    ),
    unique=(("question",),),
)
KNOWLEDGE_HEADERS = {col.key: col.header for col in KNOWLEDGE_SHEET.columns}


def _headers(spec: SheetSpec) -> list[str]:
    return [col.header for col in spec.columns]


@dataclass
class _Refs:
    """Database rows the file refers to, loaded once."""

    items: dict[str, CatalogItem]
    units: dict[str, Unit]


def _run(
    *,
    actor: Any,
    source: Source,
    spec: SheetSpec,
    check: Callable[[WorkbookData, Issues], None],
    write: Callable[[list[ParsedRow]], Counts],
    event: str,
    object_type: str,
    dry_run: bool,
    filename: str,
) -> Counts:
    with transaction.atomic():
        data = excel.read_workbook(source, [spec], checks=[check])
        rows = data.rows(spec.title)
        counts = write(rows)
        counts["rows"] = len(rows)
        audit_record(
            event_type=f"catalog.{event}",
            actor=actor,
            object_type=object_type,
            object_id="",
            extra={"counts": counts, "file": filename, "dry_run": dry_run},
        )
        if dry_run:
            transaction.set_rollback(True)
    return counts


def _name(source: Source) -> str:
    return str(getattr(source, "name", source if isinstance(source, str) else ""))[-200:]


# --- catalog ------------------------------------------------------------------------------------


def _check_catalog(data: WorkbookData, issues: Issues) -> None:
    title = CATALOG_SHEET.title
    rows = data.rows(title)
    cats: dict[str, tuple[str, int]] = {}
    subs: dict[str, tuple[str, str, int]] = {}
    for row in rows:
        cat_code, cat_name, sub_code, sub_name = (
            row["cat_code"],
            row["cat_name"],
            row["sub_code"],
            row["sub_name"],
        )
        seen_cat = cats.setdefault(cat_code, (cat_name, row.row))
        if seen_cat[0] != cat_name:
            issues.add(
                sheet=title,
                row=row.row,
                column="大类名称",
                message=_("大类「%(c)s」在第%(r)d行名为「%(n)s」，此处不一致")
                % {"c": cat_code, "r": seen_cat[1], "n": seen_cat[0]},
            )
        seen_sub = subs.setdefault(sub_code, (sub_name, cat_code, row.row))
        if seen_sub[0] != sub_name:
            issues.add(
                sheet=title,
                row=row.row,
                column="小类名称",
                message=_("小类「%(c)s」在第%(r)d行名为「%(n)s」，此处不一致")
                % {"c": sub_code, "r": seen_sub[2], "n": seen_sub[0]},
            )
        if seen_sub[1] != cat_code:
            issues.add(
                sheet=title,
                row=row.row,
                column="小类编码",
                message=_("小类「%(c)s」在第%(r)d行属于大类「%(p)s」，一个小类只能属于一个大类")
                % {"c": sub_code, "r": seen_sub[2], "p": seen_sub[1]},
            )
    for row in rows:
        if row["sub_code"] in cats:
            issues.add(
                sheet=title,
                row=row.row,
                column="小类编码",
                message=_("编码「%(c)s」在本文件中已用作大类编码") % {"c": row["sub_code"]},
            )
    existing = {c.code: c for c in Category.objects.filter(code__in=[*cats, *subs])}
    reported: set[tuple[str, str]] = set()
    for row in rows:
        cat = existing.get(row["cat_code"])
        if cat is not None and cat.parent_id is not None and ("cat", cat.code) not in reported:
            reported.add(("cat", cat.code))
            issues.add(
                sheet=title,
                row=row.row,
                column="大类编码",
                message=_("编码「%(c)s」在系统中是小类，不能用作大类编码") % {"c": cat.code},
            )
        sub = existing.get(row["sub_code"])
        if sub is not None and sub.parent_id is None and ("sub", sub.code) not in reported:
            reported.add(("sub", sub.code))
            issues.add(
                sheet=title,
                row=row.row,
                column="小类编码",
                message=_("编码「%(c)s」在系统中是大类，不能用作小类编码") % {"c": sub.code},
            )


def _write_catalog(rows: list[ParsedRow]) -> Counts:
    counts = {
        "categories_created": 0,
        "categories_updated": 0,
        "subcategories_created": 0,
        "subcategories_updated": 0,
        "items_created": 0,
        "items_updated": 0,
    }
    by_code: dict[str, Category] = {
        c.code: c
        for c in Category.objects.filter(
            code__in={r["cat_code"] for r in rows} | {r["sub_code"] for r in rows}
        )
    }

    def upsert(code: str, name: str, parent: Category | None, kind: str) -> Category:
        category = by_code.get(code)
        if category is None:
            category = Category.objects.create(code=code, name=name, parent=parent)
            by_code[code] = category
            counts[f"{kind}_created"] += 1
        elif category.name != name or category.parent_id != (parent.pk if parent else None):
            category.name, category.parent = name, parent
            category.save(update_fields=["name", "parent"])
            counts[f"{kind}_updated"] += 1
        return category

    items = {i.code: i for i in CatalogItem.objects.filter(code__in=[r["code"] for r in rows])}
    done: set[str] = set()
    for row in rows:
        if row["cat_code"] not in done:
            upsert(row["cat_code"], row["cat_name"], None, "categories")
            done.add(row["cat_code"])
        top = by_code[row["cat_code"]]
        if row["sub_code"] not in done:
            upsert(row["sub_code"], row["sub_name"], top, "subcategories")
            done.add(row["sub_code"])
        sub = by_code[row["sub_code"]]
        keywords = normalize_keywords(row["keywords"])
        item = items.get(row["code"])
        if item is None:
            CatalogItem.objects.create(
                code=row["code"],
                name=row["name"],
                subcategory=sub,
                keywords=keywords,
                search_pinyin=pinyin_index(row["name"], keywords),
            )
            counts["items_created"] += 1
        elif (item.name, item.subcategory_id, item.keywords) != (row["name"], sub.pk, keywords):
            item.name, item.subcategory, item.keywords = row["name"], sub, keywords
            item.search_pinyin = pinyin_index(item.name, keywords)
            item.save(update_fields=["name", "subcategory", "keywords", "search_pinyin"])
            counts["items_updated"] += 1
    return counts


def import_catalog(*, actor: Any, source: Source, dry_run: bool = False) -> Counts:
    """Upsert categories, subcategories and items from the 事项清单 sheet."""
    return _run(
        actor=actor,
        source=source,
        spec=CATALOG_SHEET,
        check=_check_catalog,
        write=_write_catalog,
        event="import_catalog",
        object_type="catalog.CatalogItem",
        dry_run=dry_run,
        filename=_name(source),
    )


def export_catalog(*, actor: Any) -> bytes:
    rows = [
        (
            item.subcategory.parent.code if item.subcategory.parent else "",
            item.subcategory.parent.name if item.subcategory.parent else "",
            item.subcategory.code,
            item.subcategory.name,
            item.code,
            item.name,
            item.keywords,
        )
        for item in selectors.items_for_export()
    ]
    _audit_export(actor, "export_catalog", "catalog.CatalogItem", len(rows))
    return excel.write_workbook([SheetOut(CATALOG_SHEET.title, _headers(CATALOG_SHEET), rows)])


def _audit_export(actor: Any, event: str, object_type: str, count: int) -> None:
    audit_record(
        event_type=f"catalog.{event}",
        actor=actor,
        object_type=object_type,
        object_id="",
        extra={"rows": count},
    )


# --- responsibility rules -----------------------------------------------------------------------


def _rule_refs(rows: list[ParsedRow]) -> _Refs:
    unit_codes = {r["area"] for r in rows} | {r["lead_unit"] for r in rows}
    for row in rows:
        unit_codes.update(row["assist_units"])
    unit_codes.discard("")
    return _Refs(
        items={i.code: i for i in CatalogItem.objects.filter(code__in={r["item"] for r in rows})},
        units={u.code: u for u in Unit.objects.filter(code__in=unit_codes)},
    )


def _rule_values(row: ParsedRow, refs: _Refs) -> dict[str, Any]:
    return {
        "item": refs.items[row["item"]],
        "area": refs.units[row["area"]] if row["area"] else None,
        "lead_unit": refs.units[row["lead_unit"]] if row["lead_unit"] else None,
        "lead_kind": row["lead_kind"],
        "handling_level": row["handling_level"],
        "assist_units": [refs.units[c] for c in row["assist_units"]],
        "limit_unit": row["limit_unit"],
        "accept_within": row["accept_within"],
        "contact_within": row["contact_within"],
        "reply_within": row["reply_within"],
    }


def _check_rules(data: WorkbookData, issues: Issues) -> None:
    title = RULES_SHEET.title
    rows = data.rows(title)
    refs = _rule_refs(rows)
    for row in rows:
        missing = False
        if row["item"] not in refs.items:
            issues.add(
                sheet=title,
                row=row.row,
                column="事项编码",
                message=_("事项编码「%(c)s」不存在") % {"c": row["item"]},
            )
            missing = True
        for key, label in (("area", "适用区域编码"), ("lead_unit", "主办单位编码")):
            if row[key] and row[key] not in refs.units:
                issues.add(
                    sheet=title,
                    row=row.row,
                    column=label,
                    message=_("单位编码「%(c)s」不存在") % {"c": row[key]},
                )
                missing = True
        unknown = [c for c in row["assist_units"] if c not in refs.units]
        if unknown:
            issues.add(
                sheet=title,
                row=row.row,
                column="协办单位编码",
                message=_("单位编码「%(c)s」不存在") % {"c": "、".join(unknown)},
            )
            missing = True
        if missing:
            continue
        for field, message in rule_problems(**_rule_values(row, refs), check_unique=False):
            issues.add(sheet=title, row=row.row, column=RULE_HEADERS.get(field, field), message=message)


def _write_rules(rows: list[ParsedRow]) -> Counts:
    counts = {"rules_created": 0, "rules_updated": 0}
    refs = _rule_refs(rows)
    existing = {
        (r.item_id, r.area_id): r
        for r in ResponsibilityRule.objects.filter(item__in=list(refs.items.values())).prefetch_related(
            "assist_units"
        )
    }
    for row in rows:
        values = _rule_values(row, refs)
        assist = values.pop("assist_units")
        rule = existing.get((values["item"].pk, values["area"].pk if values["area"] else None))
        if rule is None:
            rule = ResponsibilityRule.objects.create(**values)
            rule.assist_units.set(assist)
            counts["rules_created"] += 1
            continue
        changed = any(getattr(rule, k) != v for k, v in values.items())
        changed |= {u.pk for u in rule.assist_units.all()} != {u.pk for u in assist}
        if changed:
            for key, value in values.items():
                setattr(rule, key, value)
            rule.save()
            rule.assist_units.set(assist)
            counts["rules_updated"] += 1
    return counts


def import_rules(*, actor: Any, source: Source, dry_run: bool = False) -> Counts:
    """Upsert responsibility rules from the 责任清单 sheet, keyed by item and area."""
    return _run(
        actor=actor,
        source=source,
        spec=RULES_SHEET,
        check=_check_rules,
        write=_write_rules,
        event="import_rules",
        object_type="catalog.ResponsibilityRule",
        dry_run=dry_run,
        filename=_name(source),
    )


def export_rules(*, actor: Any) -> bytes:
    rows = [
        (
            rule.item.code,
            rule.area.code if rule.area else "",
            rule.lead_unit.code if rule.lead_unit else "",
            UnitKind(rule.lead_kind).label if rule.lead_kind else "",
            HandlingLevel(rule.handling_level).label,
            ";".join(sorted(u.code for u in rule.assist_units.all())),
            LimitUnit(rule.limit_unit).label,
            rule.accept_within,
            rule.contact_within,
            rule.reply_within,
        )
        for rule in selectors.rules_for_export()
    ]
    _audit_export(actor, "export_rules", "catalog.ResponsibilityRule", len(rows))
    return excel.write_workbook([SheetOut(RULES_SHEET.title, _headers(RULES_SHEET), rows)])


# --- knowledge base -----------------------------------------------------------------------------


def _check_knowledge(data: WorkbookData, issues: Issues) -> None:
    title = KNOWLEDGE_SHEET.title
    rows = data.rows(title)
    known = set(
        CatalogItem.objects.filter(code__in={r["item"] for r in rows if r["item"]}).values_list(
            "code", flat=True
        )
    )
    for row in rows:
        if row["item"] and row["item"] not in known:
            issues.add(
                sheet=title,
                row=row.row,
                column="事项编码",
                message=_("事项编码「%(c)s」不存在") % {"c": row["item"]},
            )
        for field, message in knowledge_problems(
            question=row["question"],
            answer=row["answer"],
            keywords=row["keywords"],
            valid_from=row["valid_from"],
            valid_until=row["valid_until"],
            check_unique=False,
        ):
            issues.add(sheet=title, row=row.row, column=KNOWLEDGE_HEADERS.get(field, field), message=message)


def _write_knowledge(rows: list[ParsedRow]) -> Counts:
    counts = {"answers_created": 0, "answers_updated": 0}
    items = {i.code: i for i in CatalogItem.objects.filter(code__in={r["item"] for r in rows if r["item"]})}
    existing = {
        k.question: k for k in KnowledgeAnswer.objects.filter(question__in=[r["question"] for r in rows])
    }
    for row in rows:
        values: dict[str, Any] = {
            "answer": row["answer"],
            "keywords": normalize_keywords(row["keywords"]),
            "item": items[row["item"]] if row["item"] else None,
            "valid_from": row["valid_from"],
            "valid_until": row["valid_until"],
        }
        answer = existing.get(row["question"])
        if answer is None:
            KnowledgeAnswer.objects.create(question=row["question"], **values)
            counts["answers_created"] += 1
        elif any(getattr(answer, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(answer, key, value)
            answer.save()
            counts["answers_updated"] += 1
    return counts


def import_knowledge(*, actor: Any, source: Source, dry_run: bool = False) -> Counts:
    """Upsert knowledge answers from the 知识库 sheet, keyed by question."""
    return _run(
        actor=actor,
        source=source,
        spec=KNOWLEDGE_SHEET,
        check=_check_knowledge,
        write=_write_knowledge,
        event="import_knowledge",
        object_type="catalog.KnowledgeAnswer",
        dry_run=dry_run,
        filename=_name(source),
    )


def export_knowledge(*, actor: Any) -> bytes:
    rows: list[tuple[Any, ...]] = [
        (
            k.question,
            k.answer,
            k.keywords,
            k.item.code if k.item else "",
            k.valid_from,
            k.valid_until,
        )
        for k in selectors.knowledge_for_export()
    ]
    _audit_export(actor, "export_knowledge", "catalog.KnowledgeAnswer", len(rows))
    return excel.write_workbook([SheetOut(KNOWLEDGE_SHEET.title, _headers(KNOWLEDGE_SHEET), rows)])


__all__ = [
    "CATALOG_SHEET",
    "KNOWLEDGE_SHEET",
    "RULES_SHEET",
    "export_catalog",
    "export_knowledge",
    "export_rules",
    "import_catalog",
    "import_knowledge",
    "import_rules",
]
