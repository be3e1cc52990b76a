"""Every write to the catalog: categories, items, responsibility rules and knowledge answers.

Each service runs in one transaction and writes exactly one audit row. Validation is shared with
the Excel imports and the admin forms through the ``*_problems`` functions, which return
``(field, Chinese message)`` pairs instead of raising.

Decisions, written down:

- The catalog has three levels: a level-1 category (大类, no parent), a level-2 category (小类,
  parent is level 1) and an item (小项) under a level-2 category. Nothing else nests.
- Deactivating a category deactivates everything under it; activating one never activates
  children, and refuses while the parent is inactive. Categories and items are never deleted
  (orders keep pointing at them).
- A rule's lead is exactly one of a named unit or a unit kind. A kind must be district, street or
  community (a kind is resolved to the area's ancestor of that kind, so a department kind could
  not be resolved), and the handling level must then be that same level.
- Limits: every limit is at least 1 and accept ≤ contact ≤ reply. Working-day limits are at most
  ``MAX_WORKING_DAYS``. Calendar hours are for urgent-style rules only: any hour limit above
  ``MAX_URGENT_HOURS`` (three days) is refused — a rule that slow belongs in working days.
- A rule's area is a district, street, community or grid; city-wide is an empty area (so the city
  unit itself is refused — it would be a second city-wide rule).
- A knowledge answer's question is its natural key (unique), and its validity dates, when both
  given, are ordered (from ≤ until).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.choices import HandlingLevel, LimitUnit
from catalog.models import CatalogItem, Category, KnowledgeAnswer, ResponsibilityRule
from catalog.text import normalize_keywords, pinyin_index
from core.audit import audit_record
from core.excel import CellError
from core.excel import code as code_parser
from orgs.choices import UnitKind
from orgs.models import Unit

MAX_WORKING_DAYS = 60
MAX_URGENT_HOURS = 72
LEAD_KINDS = frozenset({UnitKind.DISTRICT, UnitKind.STREET, UnitKind.COMMUNITY})
LEAD_UNIT_KINDS = frozenset(
    {UnitKind.DEPARTMENT, UnitKind.STATION, UnitKind.DISTRICT, UnitKind.STREET, UnitKind.COMMUNITY}
)
AREA_KINDS = frozenset({UnitKind.DISTRICT, UnitKind.STREET, UnitKind.COMMUNITY, UnitKind.GRID})
CODE_MAX = 16
NAME_MAX = 64
KEYWORDS_MAX = 255
QUESTION_MAX = 255

Problems = list[tuple[str, str]]


class CatalogError(ValidationError):
    """A catalog rule was broken. ``problems`` lists (model field, Chinese message)."""

    def __init__(self, problems: Problems) -> None:
        self.problems = list(problems)
        super().__init__("；".join(message for _field, message in self.problems))

    def __str__(self) -> str:
        return "；".join(message for _field, message in self.problems)


def _pks(obj: Any) -> list[Any]:
    """The pk of an object being edited (to exclude it from uniqueness checks), or nothing."""
    return [obj.pk] if obj is not None and obj.pk is not None else []


def _raise_if(problems: Problems) -> None:
    if problems:
        raise CatalogError(problems)


# --- snapshots for the audit log ----------------------------------------------------------------


def category_snapshot(category: Category) -> dict[str, Any]:
    return {
        "code": category.code,
        "name": category.name,
        "parent": category.parent.code if category.parent is not None else None,
        "keywords": category.keywords,
        "is_active": category.is_active,
    }


def item_snapshot(item: CatalogItem) -> dict[str, Any]:
    return {
        "code": item.code,
        "name": item.name,
        "subcategory": item.subcategory.code,
        "keywords": item.keywords,
        "is_active": item.is_active,
    }


def rule_snapshot(rule: ResponsibilityRule) -> dict[str, Any]:
    return {
        "item": rule.item.code,
        "area": rule.area.code if rule.area is not None else None,
        "lead_unit": rule.lead_unit.code if rule.lead_unit is not None else None,
        "lead_kind": rule.lead_kind,
        "handling_level": rule.handling_level,
        "assist_units": sorted(u.code for u in rule.assist_units.all()) if rule.pk else [],
        "limit_unit": rule.limit_unit,
        "accept_within": rule.accept_within,
        "contact_within": rule.contact_within,
        "reply_within": rule.reply_within,
    }


def knowledge_snapshot(answer: KnowledgeAnswer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.answer,
        "keywords": answer.keywords,
        "item": answer.item.code if answer.item is not None else None,
        "valid_from": answer.valid_from.isoformat() if answer.valid_from else None,
        "valid_until": answer.valid_until.isoformat() if answer.valid_until else None,
    }


def _audit(event: str, *, actor: Any, obj: Any, before: Any, after: Any, **extra: Any) -> None:
    audit_record(
        event_type=f"catalog.{event}",
        actor=actor,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        before=before,
        after=after,
        extra=extra or None,
    )


# --- shared validation --------------------------------------------------------------------------


def code_problems(code: str) -> Problems:
    try:
        code_parser(max_length=CODE_MAX)(code)
    except CellError as exc:
        return [("code", exc.message)]
    if not code:
        return [("code", _("编码不能为空"))]
    return []


def _text_problems(field: str, label: str, value: str, limit: int, *, required: bool = True) -> Problems:
    if required and not value.strip():
        return [(field, _("%(label)s不能为空") % {"label": label})]
    if len(value) > limit:
        return [(field, _("%(label)s不能超过%(n)d个字") % {"label": label, "n": limit})]
    return []


def category_problems(
    *, code: str, name: str, parent: Category | None, keywords: str, category: Category | None = None
) -> Problems:
    problems = code_problems(code)
    problems += _text_problems("name", _("名称"), name, NAME_MAX)
    problems += _text_problems("keywords", _("关键词"), keywords, KEYWORDS_MAX, required=False)
    if Category.objects.filter(code=code).exclude(pk__in=_pks(category)).exists():
        problems.append(("code", _("分类编码「%(code)s」已存在") % {"code": code}))
    if parent is not None:
        if parent.parent_id is not None:
            problems.append(("parent", _("只能在大类下建小类，「%(p)s」已是小类") % {"p": parent.name}))
        if category is not None and parent.pk == category.pk:
            problems.append(("parent", _("分类不能以自己为上级")))
    if category is not None and category.pk is not None:
        if parent is not None and category.children.exists():
            problems.append(("parent", _("「%(c)s」下还有小类，不能改为小类") % {"c": category.name}))
        if parent is None and category.items.exists():
            problems.append(("parent", _("「%(c)s」下还有事项，不能改为大类") % {"c": category.name}))
    return problems


def item_problems(
    *, code: str, name: str, subcategory: Category, keywords: str, item: CatalogItem | None = None
) -> Problems:
    problems = code_problems(code)
    problems += _text_problems("name", _("名称"), name, NAME_MAX)
    problems += _text_problems("keywords", _("关键词"), keywords, KEYWORDS_MAX, required=False)
    if CatalogItem.objects.filter(code=code).exclude(pk__in=_pks(item)).exists():
        problems.append(("code", _("事项编码「%(code)s」已存在") % {"code": code}))
    if subcategory.parent_id is None:
        problems.append(("subcategory", _("事项只能建在小类下，「%(c)s」是大类") % {"c": subcategory.name}))
    return problems


def limit_problems(
    *, limit_unit: str, accept_within: int, contact_within: int, reply_within: int
) -> Problems:
    problems: Problems = []
    if limit_unit not in LimitUnit.values:
        return [("limit_unit", _("时限单位「%(u)s」无效") % {"u": limit_unit})]
    for field, label, value in (
        ("accept_within", _("签收时限"), accept_within),
        ("contact_within", _("联系时限"), contact_within),
        ("reply_within", _("答复时限"), reply_within),
    ):
        if value < 1:
            problems.append((field, _("%(label)s至少为1") % {"label": label}))
    if not accept_within <= contact_within <= reply_within:
        problems.append(
            (
                "contact_within",
                _("时限应满足：签收时限 ≤ 联系时限 ≤ 答复时限（现为 %(a)d、%(c)d、%(r)d）")
                % {"a": accept_within, "c": contact_within, "r": reply_within},
            )
        )
    if limit_unit == LimitUnit.HOURS and reply_within > MAX_URGENT_HOURS:
        problems.append(
            (
                "reply_within",
                _("按自然小时计的时限只用于紧急事项，答复时限不能超过%(n)d小时，否则请按工作日计")
                % {"n": MAX_URGENT_HOURS},
            )
        )
    if limit_unit == LimitUnit.WORKING_DAYS and reply_within > MAX_WORKING_DAYS:
        problems.append(("reply_within", _("答复时限不能超过%(n)d个工作日") % {"n": MAX_WORKING_DAYS}))
    return problems


def rule_problems(
    *,
    item: CatalogItem,
    area: Unit | None,
    lead_unit: Unit | None,
    lead_kind: str,
    handling_level: str,
    assist_units: Sequence[Unit],
    limit_unit: str,
    accept_within: int,
    contact_within: int,
    reply_within: int,
    rule: ResponsibilityRule | None = None,
    check_unique: bool = True,
) -> Problems:
    problems: Problems = []
    if handling_level not in HandlingLevel.values:
        problems.append(("handling_level", _("办理层级「%(v)s」无效") % {"v": handling_level}))
    if (lead_unit is None) == (not lead_kind):
        problems.append(("lead_unit", _("主办单位与主办单位类型须填且只填一项")))
    elif lead_unit is not None:
        if lead_unit.kind not in LEAD_UNIT_KINDS:
            problems.append(
                (
                    "lead_unit",
                    _("「%(u)s」不能作为主办单位（应为部门、派出机构、区县、街道或社区）")
                    % {"u": lead_unit.name},
                )
            )
        if not lead_unit.is_active:
            problems.append(("lead_unit", _("主办单位「%(u)s」已停用") % {"u": lead_unit.name}))
    else:
        if lead_kind not in LEAD_KINDS:
            problems.append(("lead_kind", _("主办单位类型只能是区县、街道/镇或社区/村")))
        elif handling_level != lead_kind:
            problems.append(
                (
                    "handling_level",
                    _("主办单位类型为「%(k)s」时，办理层级应为「%(l)s」")
                    % {"k": UnitKind(lead_kind).label, "l": HandlingLevel(lead_kind).label},
                )
            )
    if area is not None and area.kind not in AREA_KINDS:
        problems.append(
            (
                "area",
                _("适用区域应为区县、街道、社区或网格，全市适用请留空；「%(u)s」不是") % {"u": area.name},
            )
        )
    seen: set[int] = set()
    for unit in assist_units:
        if lead_unit is not None and unit.pk == lead_unit.pk:
            problems.append(("assist_units", _("「%(u)s」已是主办单位，不能同时协办") % {"u": unit.name}))
        if unit.pk in seen:
            problems.append(("assist_units", _("协办单位「%(u)s」重复") % {"u": unit.name}))
        seen.add(unit.pk)
        if unit.kind not in LEAD_UNIT_KINDS:
            problems.append(("assist_units", _("「%(u)s」不能作为协办单位") % {"u": unit.name}))
        if not unit.is_active:
            problems.append(("assist_units", _("协办单位「%(u)s」已停用") % {"u": unit.name}))
    problems += limit_problems(
        limit_unit=limit_unit,
        accept_within=accept_within,
        contact_within=contact_within,
        reply_within=reply_within,
    )
    if check_unique:
        clash = ResponsibilityRule.objects.filter(item=item, area=area).exclude(pk__in=_pks(rule))
        if clash.exists():
            where = area.name if area is not None else _("全市")
            problems.append(
                ("area", _("事项「%(i)s」在「%(a)s」已有责任规则") % {"i": item.name, "a": where})
            )
    return problems


def knowledge_problems(
    *,
    question: str,
    answer: str,
    keywords: str,
    valid_from: dt.date | None,
    valid_until: dt.date | None,
    knowledge: KnowledgeAnswer | None = None,
    check_unique: bool = True,
) -> Problems:
    problems = _text_problems("question", _("问题"), question, QUESTION_MAX)
    problems += _text_problems("answer", _("答复"), answer, 10_000)
    problems += _text_problems("keywords", _("关键词"), keywords, KEYWORDS_MAX, required=False)
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        problems.append(("valid_until", _("失效日期不能早于生效日期")))
    if check_unique:
        clash = KnowledgeAnswer.objects.filter(question=question.strip()).exclude(pk__in=_pks(knowledge))
        if clash.exists():
            problems.append(("question", _("知识库中已有相同的问题")))
    return problems


# --- categories ---------------------------------------------------------------------------------


@transaction.atomic
def category_create(
    *, actor: Any, code: str, name: str, parent: Category | None = None, keywords: str = ""
) -> Category:
    """A level-1 category (no parent) or a level-2 one under a level-1 category."""
    code, name, keywords = code.strip(), name.strip(), normalize_keywords(keywords)
    _raise_if(category_problems(code=code, name=name, parent=parent, keywords=keywords))
    category = Category.objects.create(code=code, name=name, parent=parent, keywords=keywords)
    _audit("category_create", actor=actor, obj=category, before=None, after=category_snapshot(category))
    return category


@transaction.atomic
def category_update(
    *, actor: Any, category: Category, code: str, name: str, parent: Category | None, keywords: str = ""
) -> Category:
    current = Category.objects.select_for_update(of=("self",)).select_related("parent").get(pk=category.pk)
    before = category_snapshot(current)
    code, name, keywords = code.strip(), name.strip(), normalize_keywords(keywords)
    _raise_if(category_problems(code=code, name=name, parent=parent, keywords=keywords, category=current))
    current.code, current.name, current.parent, current.keywords = code, name, parent, keywords
    current.save(update_fields=["code", "name", "parent", "keywords"])
    _audit("category_update", actor=actor, obj=current, before=before, after=category_snapshot(current))
    return current


@transaction.atomic
def category_deactivate(*, actor: Any, category: Category) -> Category:
    """Deactivate a category and everything under it (subcategories and their items)."""
    current = Category.objects.select_for_update(of=("self",)).select_related("parent").get(pk=category.pk)
    before = category_snapshot(current)
    subtree = [current.pk, *current.children.values_list("pk", flat=True)]
    categories = Category.objects.filter(pk__in=subtree, is_active=True).update(is_active=False)
    items = CatalogItem.objects.filter(subcategory_id__in=subtree, is_active=True).update(is_active=False)
    current.refresh_from_db()
    _audit(
        "category_deactivate",
        actor=actor,
        obj=current,
        before=before,
        after=category_snapshot(current),
        categories_deactivated=categories,
        items_deactivated=items,
    )
    return current


@transaction.atomic
def category_activate(*, actor: Any, category: Category) -> Category:
    """Activate one category (not its children); refused while its parent is inactive."""
    current = Category.objects.select_for_update(of=("self",)).select_related("parent").get(pk=category.pk)
    if current.parent is not None and not current.parent.is_active:
        raise CatalogError(
            [("is_active", _("大类「%(p)s」已停用，请先启用大类") % {"p": current.parent.name})]
        )
    before = category_snapshot(current)
    current.is_active = True
    current.save(update_fields=["is_active"])
    _audit("category_activate", actor=actor, obj=current, before=before, after=category_snapshot(current))
    return current


# --- items --------------------------------------------------------------------------------------


@transaction.atomic
def item_create(
    *, actor: Any, code: str, name: str, subcategory: Category, keywords: str = ""
) -> CatalogItem:
    code, name, keywords = code.strip(), name.strip(), normalize_keywords(keywords)
    _raise_if(item_problems(code=code, name=name, subcategory=subcategory, keywords=keywords))
    item = CatalogItem.objects.create(
        code=code,
        name=name,
        subcategory=subcategory,
        keywords=keywords,
        is_active=subcategory.is_active,
        search_pinyin=pinyin_index(name, keywords),
    )
    _audit("item_create", actor=actor, obj=item, before=None, after=item_snapshot(item))
    return item


@transaction.atomic
def item_update(
    *, actor: Any, item: CatalogItem, code: str, name: str, subcategory: Category, keywords: str = ""
) -> CatalogItem:
    current = (
        CatalogItem.objects.select_for_update(of=("self",)).select_related("subcategory").get(pk=item.pk)
    )
    before = item_snapshot(current)
    code, name, keywords = code.strip(), name.strip(), normalize_keywords(keywords)
    _raise_if(item_problems(code=code, name=name, subcategory=subcategory, keywords=keywords, item=current))
    current.code, current.name, current.subcategory, current.keywords = code, name, subcategory, keywords
    current.search_pinyin = pinyin_index(name, keywords)
    current.save(update_fields=["code", "name", "subcategory", "keywords", "search_pinyin"])
    _audit("item_update", actor=actor, obj=current, before=before, after=item_snapshot(current))
    return current


@transaction.atomic
def item_deactivate(*, actor: Any, item: CatalogItem) -> CatalogItem:
    current = (
        CatalogItem.objects.select_for_update(of=("self",)).select_related("subcategory").get(pk=item.pk)
    )
    before = item_snapshot(current)
    current.is_active = False
    current.save(update_fields=["is_active"])
    _audit("item_deactivate", actor=actor, obj=current, before=before, after=item_snapshot(current))
    return current


@transaction.atomic
def item_activate(*, actor: Any, item: CatalogItem) -> CatalogItem:
    current = (
        CatalogItem.objects.select_for_update(of=("self",)).select_related("subcategory").get(pk=item.pk)
    )
    if not current.subcategory.is_active:
        raise CatalogError(
            [("is_active", _("小类「%(c)s」已停用，请先启用小类") % {"c": current.subcategory.name})]
        )
    before = item_snapshot(current)
    current.is_active = True
    current.save(update_fields=["is_active"])
    _audit("item_activate", actor=actor, obj=current, before=before, after=item_snapshot(current))
    return current


# --- responsibility rules -----------------------------------------------------------------------


@transaction.atomic
def rule_create(
    *,
    actor: Any,
    item: CatalogItem,
    handling_level: str,
    accept_within: int,
    contact_within: int,
    reply_within: int,
    area: Unit | None = None,
    lead_unit: Unit | None = None,
    lead_kind: str = "",
    assist_units: Iterable[Unit] = (),
    limit_unit: str = LimitUnit.WORKING_DAYS,
) -> ResponsibilityRule:
    assist = list(assist_units)
    _raise_if(
        rule_problems(
            item=item,
            area=area,
            lead_unit=lead_unit,
            lead_kind=lead_kind,
            handling_level=handling_level,
            assist_units=assist,
            limit_unit=limit_unit,
            accept_within=accept_within,
            contact_within=contact_within,
            reply_within=reply_within,
        )
    )
    rule = ResponsibilityRule.objects.create(
        item=item,
        area=area,
        lead_unit=lead_unit,
        lead_kind=lead_kind,
        handling_level=handling_level,
        limit_unit=limit_unit,
        accept_within=accept_within,
        contact_within=contact_within,
        reply_within=reply_within,
    )
    rule.assist_units.set(assist)
    _audit("rule_create", actor=actor, obj=rule, before=None, after=rule_snapshot(rule))
    return rule


@transaction.atomic
def rule_update(
    *,
    actor: Any,
    rule: ResponsibilityRule,
    item: CatalogItem,
    handling_level: str,
    accept_within: int,
    contact_within: int,
    reply_within: int,
    area: Unit | None = None,
    lead_unit: Unit | None = None,
    lead_kind: str = "",
    assist_units: Iterable[Unit] = (),
    limit_unit: str = LimitUnit.WORKING_DAYS,
) -> ResponsibilityRule:
    current = (
        ResponsibilityRule.objects.select_for_update(of=("self",))
        .select_related("item", "area", "lead_unit")
        .get(pk=rule.pk)
    )
    before = rule_snapshot(current)
    assist = list(assist_units)
    _raise_if(
        rule_problems(
            item=item,
            area=area,
            lead_unit=lead_unit,
            lead_kind=lead_kind,
            handling_level=handling_level,
            assist_units=assist,
            limit_unit=limit_unit,
            accept_within=accept_within,
            contact_within=contact_within,
            reply_within=reply_within,
            rule=current,
        )
    )
    current.item, current.area, current.lead_unit, current.lead_kind = item, area, lead_unit, lead_kind
    current.handling_level, current.limit_unit = handling_level, limit_unit
    current.accept_within, current.contact_within = accept_within, contact_within
    current.reply_within = reply_within
    current.save()
    current.assist_units.set(assist)
    _audit("rule_update", actor=actor, obj=current, before=before, after=rule_snapshot(current))
    return current


@transaction.atomic
def rule_delete(*, actor: Any, rule: ResponsibilityRule) -> None:
    current = ResponsibilityRule.objects.select_for_update(of=("self",)).get(pk=rule.pk)
    before = rule_snapshot(current)
    pk = current.pk
    current.delete()
    current.pk = pk
    _audit("rule_delete", actor=actor, obj=current, before=before, after=None)


# --- knowledge base -----------------------------------------------------------------------------


@transaction.atomic
def knowledge_create(
    *,
    actor: Any,
    question: str,
    answer: str,
    keywords: str = "",
    item: CatalogItem | None = None,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
) -> KnowledgeAnswer:
    question, answer, keywords = question.strip(), answer.strip(), normalize_keywords(keywords)
    _raise_if(
        knowledge_problems(
            question=question,
            answer=answer,
            keywords=keywords,
            valid_from=valid_from,
            valid_until=valid_until,
        )
    )
    obj = KnowledgeAnswer.objects.create(
        question=question,
        answer=answer,
        keywords=keywords,
        item=item,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    _audit("knowledge_create", actor=actor, obj=obj, before=None, after=knowledge_snapshot(obj))
    return obj


@transaction.atomic
def knowledge_update(
    *,
    actor: Any,
    knowledge: KnowledgeAnswer,
    question: str,
    answer: str,
    keywords: str = "",
    item: CatalogItem | None = None,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
) -> KnowledgeAnswer:
    current = (
        KnowledgeAnswer.objects.select_for_update(of=("self",)).select_related("item").get(pk=knowledge.pk)
    )
    before = knowledge_snapshot(current)
    question, answer, keywords = question.strip(), answer.strip(), normalize_keywords(keywords)
    _raise_if(
        knowledge_problems(
            question=question,
            answer=answer,
            keywords=keywords,
            valid_from=valid_from,
            valid_until=valid_until,
            knowledge=current,
        )
    )
    current.question, current.answer, current.keywords, current.item = question, answer, keywords, item
    current.valid_from, current.valid_until = valid_from, valid_until
    current.save()
    _audit("knowledge_update", actor=actor, obj=current, before=before, after=knowledge_snapshot(current))
    return current


@transaction.atomic
def knowledge_delete(*, actor: Any, knowledge: KnowledgeAnswer) -> None:
    current = (
        KnowledgeAnswer.objects.select_for_update(of=("self",)).select_related("item").get(pk=knowledge.pk)
    )
    before = knowledge_snapshot(current)
    pk = current.pk
    current.delete()
    current.pk = pk
    _audit("knowledge_delete", actor=actor, obj=current, before=before, after=None)


# --- demo data ----------------------------------------------------------------------------------

DEMO_CATALOG_PATH = Path(__file__).resolve().parent / "data" / "demo_catalog.json"


def demo_catalog_data(path: Path | None = None) -> dict[str, Any]:
    """The demo catalog JSON (categories → subcategories → items, rules, knowledge answers)."""
    with (path or DEMO_CATALOG_PATH).open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def _departments_by_name(names: set[str]) -> dict[str, Unit]:
    """Department units by exact name; of several with one name, the highest in the tree."""
    found: dict[str, Unit] = {}
    for unit in Unit.objects.filter(kind=UnitKind.DEPARTMENT, name__in=names).order_by("-level", "-code"):
        found[unit.name] = unit  # the last one written wins: lowest level, then lowest code
    missing = sorted(names - set(found))
    if missing:
        raise CatalogError(
            [("lead_unit", _("以下部门在组织机构中不存在：%(names)s") % {"names": "、".join(missing)})]
        )
    return found


@transaction.atomic
def catalog_load_demo(*, actor: Any = None, path: Path | None = None) -> dict[str, int]:
    """Upsert the demo catalog, its city-wide rules and knowledge answers; one audit row.

    Department names in the rules are resolved to units of kind department with that exact
    name; a missing name stops the load with all missing names listed.
    """
    data = demo_catalog_data(path)
    rules_data: list[dict[str, Any]] = data["rules"]
    names = {r["lead_department"] for r in rules_data if r.get("lead_department")}
    for rule_data in rules_data:
        names.update(rule_data.get("assist_departments") or [])
    departments = _departments_by_name(names)

    categories = {c.code: c for c in Category.objects.all()}
    items = {i.code: i for i in CatalogItem.objects.all()}
    counts = {"categories": 0, "subcategories": 0, "items": 0, "rules": 0, "knowledge": 0}

    def upsert_category(code: str, name: str, parent: Category | None, keywords: str) -> Category:
        category = categories.get(code)
        if category is None:
            category = Category.objects.create(code=code, name=name, parent=parent, keywords=keywords)
            categories[code] = category
        elif (category.name, category.parent_id, category.keywords) != (
            name,
            parent.pk if parent else None,
            keywords,
        ):
            category.name, category.parent, category.keywords = name, parent, keywords
            category.save(update_fields=["name", "parent", "keywords"])
        return category

    for cat_data in data["categories"]:
        top = upsert_category(
            cat_data["code"], cat_data["name"], None, "，".join(cat_data.get("keywords", []))
        )
        counts["categories"] += 1
        for sub_data in cat_data["subcategories"]:
            sub = upsert_category(
                sub_data["code"], sub_data["name"], top, "，".join(sub_data.get("keywords", []))
            )
            counts["subcategories"] += 1
            for item_data in sub_data["items"]:
                keywords = normalize_keywords(" ".join(item_data.get("keywords", [])))
                item = items.get(item_data["code"])
                values = {
                    "name": item_data["name"],
                    "subcategory": sub,
                    "keywords": keywords,
                    "search_pinyin": pinyin_index(item_data["name"], keywords),
                }
                if item is None:
                    items[item_data["code"]] = CatalogItem.objects.create(code=item_data["code"], **values)
                else:
                    for key, value in values.items():
                        setattr(item, key, value)
                    item.save(update_fields=list(values))
                counts["items"] += 1

    existing_rules = {r.item_id: r for r in ResponsibilityRule.objects.filter(area__isnull=True)}
    problems: Problems = []
    for rule_data in rules_data:
        item = items[rule_data["item"]]
        lead = departments[rule_data["lead_department"]] if rule_data.get("lead_department") else None
        assist = [departments[name] for name in rule_data.get("assist_departments") or []]
        values = {
            "lead_unit": lead,
            "lead_kind": rule_data.get("lead_kind") or "",
            "handling_level": rule_data["handling_level"],
            "limit_unit": rule_data["limit_unit"],
            "accept_within": rule_data["accept_within"],
            "contact_within": rule_data["contact_within"],
            "reply_within": rule_data["reply_within"],
        }
        found = rule_problems(item=item, area=None, assist_units=assist, check_unique=False, **values)
        if found:
            problems += [(field, f"{item.code} {message}") for field, message in found]
            continue
        rule = existing_rules.get(item.pk)
        if rule is None:
            rule = ResponsibilityRule.objects.create(item=item, area=None, **values)
        else:
            for key, value in values.items():
                setattr(rule, key, value)
            rule.save()
        rule.assist_units.set(assist)
        counts["rules"] += 1
    _raise_if(problems)

    answers = {k.question: k for k in KnowledgeAnswer.objects.all()}
    for k_data in data["knowledge"]:
        values = {
            "answer": k_data["answer"],
            "keywords": normalize_keywords(" ".join(k_data.get("keywords", []))),
            "item": items[k_data["item"]] if k_data.get("item") else None,
        }
        answer = answers.get(k_data["question"])
        if answer is None:
            KnowledgeAnswer.objects.create(question=k_data["question"], **values)
        else:
            for key, value in values.items():
                setattr(answer, key, value)
            answer.save(update_fields=list(values))
        counts["knowledge"] += 1

    audit_record(
        event_type="catalog.load_demo",
        actor=actor,
        object_type="catalog.CatalogItem",
        object_id="",
        extra={"counts": counts},
    )
    return counts
