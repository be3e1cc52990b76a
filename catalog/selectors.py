"""Reads of the catalog: the rule for an item in an area, its lead unit, item and knowledge search."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When

from catalog.models import CatalogItem, Category, KnowledgeAnswer, ResponsibilityRule
from catalog.text import pinyin_query
from orgs.models import Unit, UnitClosure

SEARCH_LIMIT = 20


def rule_for(item: CatalogItem, area_unit: Unit | None) -> ResponsibilityRule | None:
    """The most specific rule for ``item`` where ``area_unit`` is.

    A rule whose area is ``area_unit`` itself or its nearest ancestor wins; without one, the
    city-wide rule (area empty); None when the item has no rule that applies.
    """
    rules = list(
        ResponsibilityRule.objects.filter(item=item)
        .select_related("item", "area", "lead_unit")
        .prefetch_related("assist_units")
    )
    citywide = next((r for r in rules if r.area_id is None), None)
    by_area = {r.area_id: r for r in rules if r.area_id is not None}
    if area_unit is None or not by_area:
        return citywide
    nearest = (
        UnitClosure.objects.filter(descendant=area_unit, ancestor_id__in=list(by_area))
        .order_by("depth")
        .values_list("ancestor_id", flat=True)
        .first()
    )
    if nearest is not None:
        return by_area[nearest]
    return citywide


def resolve_lead_unit(rule: ResponsibilityRule, area_unit: Unit | None) -> Unit | None:
    """The unit that leads under ``rule`` for a problem in ``area_unit``.

    A named lead unit is that unit. A lead kind (district, street, community) is the ancestor of
    ``area_unit`` (or the unit itself) of that kind; None when the area does not reach down to
    that kind (e.g. only a district is known for a community-led item) — the dispatcher decides.
    """
    if rule.lead_unit_id is not None:
        return rule.lead_unit
    if area_unit is None or not rule.lead_kind:
        return None
    return (
        Unit.objects.filter(
            pk__in=UnitClosure.objects.filter(descendant=area_unit).values("ancestor_id"),
            kind=rule.lead_kind,
            is_active=True,
        )
        .order_by("-level")
        .first()
    )


def item_search(query: str, *, limit: int = SEARCH_LIMIT, active_only: bool = True) -> list[CatalogItem]:
    """Items matching a query by code, Chinese name or keyword, or pinyin (full or initials).

    Ranked: exact code, name starts with the query, name contains it, a keyword contains it,
    pinyin; then by code. ``ljfl`` and ``lajifenlei`` both find 垃圾分类.
    """
    query = query.strip()
    if not query:
        return []
    spelled = pinyin_query(query)
    match = Q(code__iexact=query) | Q(name__icontains=query) | Q(keywords__icontains=query)
    if spelled:
        match |= Q(search_pinyin__contains=spelled)
    items: QuerySet[CatalogItem] = CatalogItem.objects.filter(match).select_related("subcategory__parent")
    if active_only:
        items = items.filter(is_active=True)
    ranked = items.annotate(
        rank=Case(
            When(code__iexact=query, then=Value(0)),
            When(name__startswith=query, then=Value(1)),
            When(name__icontains=query, then=Value(2)),
            When(keywords__icontains=query, then=Value(3)),
            default=Value(4),
            output_field=IntegerField(),
        )
    ).order_by("rank", "code")
    return list(ranked[:limit])


def knowledge_search(query: str, today: dt.date, *, limit: int = SEARCH_LIMIT) -> list[KnowledgeAnswer]:
    """Answers valid on ``today`` whose question, keywords or answer contain every query word.

    Ranked: a match in the question first, then in the keywords, then only in the answer.
    """
    words = [w for w in query.split() if w]
    if not words:
        return []
    answers = KnowledgeAnswer.objects.filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=today),
        Q(valid_until__isnull=True) | Q(valid_until__gte=today),
    ).select_related("item")
    for word in words:
        answers = answers.filter(
            Q(question__icontains=word) | Q(keywords__icontains=word) | Q(answer__icontains=word)
        )
    first = words[0]
    ranked = answers.annotate(
        rank=Case(
            When(question__icontains=first, then=Value(0)),
            When(keywords__icontains=first, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    ).order_by("rank", "pk")
    return list(ranked[:limit])


def catalog_tree() -> QuerySet[Category]:
    """Level-1 categories with their subcategories and items, for exports and pickers."""
    return Category.objects.filter(parent__isnull=True).prefetch_related("children__items").order_by("code")


def items_for_export() -> QuerySet[CatalogItem]:
    return CatalogItem.objects.select_related("subcategory__parent").order_by("code")


def rules_for_export() -> QuerySet[ResponsibilityRule]:
    return (
        ResponsibilityRule.objects.select_related("item", "area", "lead_unit")
        .prefetch_related("assist_units")
        .order_by("item__code", F("area__code").asc(nulls_first=True))
    )


def knowledge_for_export() -> QuerySet[KnowledgeAnswer]:
    return KnowledgeAnswer.objects.select_related("item").order_by("pk")
