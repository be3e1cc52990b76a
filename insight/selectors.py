"""Reads for insight: cold-start training examples, the serving model, suggestions for a text.

Serving: ``active_classifier(target)`` keeps the active model of each target loaded once per
process. It asks the database which version is active at most every
``settings.INSIGHT_MODEL_CHECK_SECONDS`` (default 30) and loads a new version only when that
changes, so a request pays one dictionary lookup, not a query and a multi-megabyte unpickling.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from catalog.models import CatalogItem, KnowledgeAnswer
from catalog.selectors import resolve_lead_unit, rule_for
from catalog.text import keyword_list
from insight.choices import ClassifierTarget
from insight.classifier import Document, Example, Prediction, TextClassifier
from insight.models import ClassifierModel, OrderSuggestion
from orgs.models import Unit

DEFAULT_CHECK_SECONDS = 30.0


# --- cold start ---------------------------------------------------------------------------------


def cold_start_examples() -> list[Example]:
    """Item-labelled examples written from the catalog and the knowledge base.

    Per active item: its name as a title over its name and keywords; its subcategory and category
    (with their keywords) around the same words; and each keyword phrase on its own. Per
    knowledge answer tied to an active item: the question as title over the answer and keywords.
    A fresh city's dispatchers get suggestions from these before any order has closed; later
    training keeps them, so an item nobody has reported yet stays predictable.
    """
    examples: list[Example] = []
    items = CatalogItem.objects.filter(is_active=True).select_related("subcategory__parent").order_by("code")
    for item in items:
        sub = item.subcategory
        top = sub.parent
        keywords = keyword_list(item.keywords)
        context = [sub.name, *keyword_list(sub.keywords)]
        if top is not None:
            context += [top.name, *keyword_list(top.keywords)]
        examples.append(Example(Document(item.name, "，".join([item.name, *keywords])), item.code))
        examples.append(
            Example(Document(f"{sub.name}：{item.name}", "，".join([*keywords, *context])), item.code)
        )
        examples.extend(Example(Document(k, f"{k}，{item.name}"), item.code) for k in keywords)
    answers = KnowledgeAnswer.objects.filter(item__is_active=True).select_related("item").order_by("pk")
    for answer in answers:
        assert answer.item is not None  # filtered on item__is_active
        body = "，".join([answer.answer, *keyword_list(answer.keywords)])
        examples.append(Example(Document(answer.question, body), answer.item.code))
    return examples


# --- serving ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedModel:
    pk: int
    target: str
    version: int
    classifier: TextClassifier


class ModelIntegrityError(RuntimeError):
    """A stored model whose bytes no longer match their recorded sha256."""


_lock = threading.Lock()
_loaded: dict[str, LoadedModel] = {}
_checked_at: dict[str, float] = {}


def classifier_cache_clear() -> None:
    """Forget every loaded model (tests; after a version is activated in this process)."""
    with _lock:
        _loaded.clear()
        _checked_at.clear()


def load_classifier(row: ClassifierModel) -> TextClassifier:
    """Deserialise a stored model after checking its bytes against the recorded sha256."""
    data = bytes(row.blob)
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise ModelIntegrityError(f"classifier {row.target} v{row.version}: sha256 mismatch")
    return TextClassifier.from_bytes(data)


def active_classifier(target: str) -> LoadedModel | None:
    """The active model of ``target``, loaded once per process (see the module docstring)."""
    interval = float(getattr(settings, "INSIGHT_MODEL_CHECK_SECONDS", DEFAULT_CHECK_SECONDS))
    now = time.monotonic()
    current = _loaded.get(target)
    if current is not None and now - _checked_at.get(target, -1e18) < interval:
        return current
    with _lock:
        active = (
            ClassifierModel.objects.filter(target=target, is_active=True).values_list("pk", "version").first()
        )
        _checked_at[target] = now
        if active is None:
            _loaded.pop(target, None)
            return None
        current = _loaded.get(target)
        if current is not None and current.pk == active[0]:
            return current
        row = ClassifierModel.objects.get(pk=active[0])
        loaded = LoadedModel(
            pk=row.pk, target=row.target, version=row.version, classifier=load_classifier(row)
        )
        _loaded[target] = loaded
        return loaded


def classifier_versions(target: str | None = None) -> list[ClassifierModel]:
    """Stored versions without their bytes, newest first."""
    qs = ClassifierModel.objects.defer("blob").select_related("created_by").order_by("target", "-version")
    if target is not None:
        qs = qs.filter(target=target)
    return list(qs)


# --- suggestions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSuggestion:
    item: CatalogItem
    confidence: float


@dataclass(frozen=True)
class UnitSuggestion:
    unit: Unit
    confidence: float
    via: str  # "model": the unit classifier; "rule": the responsibility rule of a suggested item


@dataclass(frozen=True)
class Suggestions:
    """What the dispatcher sees (and what automatic dispatch decides on), with model versions."""

    item_model_version: int | None
    unit_model_version: int | None
    items: tuple[ItemSuggestion, ...]
    units: tuple[UnitSuggestion, ...]

    @property
    def best_item(self) -> ItemSuggestion | None:
        return self.items[0] if self.items else None

    @property
    def best_unit(self) -> UnitSuggestion | None:
        return self.units[0] if self.units else None


def _predict(target: str, document: Document) -> tuple[int | None, Prediction | None]:
    loaded = active_classifier(target)
    if loaded is None or not loaded.classifier.labels:
        return None, None
    return loaded.version, loaded.classifier.predict(document)


def suggestions_for_text(*, title: str, body: str, area_unit: Unit | None = None) -> Suggestions:
    """Top items (catalog item model) and top units for a text.

    Units come from the unit model when one is active (trained on where closed orders were
    finally handled); otherwise from the responsibility rule of each suggested item for the
    order's area, carrying the item's confidence. Labels that no longer name an active item or
    unit are dropped, so a retired item is never suggested.
    """
    document = Document(title=title, body=body)
    item_version, item_prediction = _predict(ClassifierTarget.ITEM, document)
    items: list[ItemSuggestion] = []
    if item_prediction is not None:
        codes = [a.label for a in item_prediction.alternatives]
        by_code = {i.code: i for i in CatalogItem.objects.filter(code__in=codes, is_active=True)}
        items = [
            ItemSuggestion(item=by_code[a.label], confidence=a.confidence)
            for a in item_prediction.alternatives
            if a.label in by_code
        ]
    unit_version, unit_prediction = _predict(ClassifierTarget.UNIT, document)
    units: list[UnitSuggestion] = []
    if unit_prediction is not None:
        codes = [a.label for a in unit_prediction.alternatives]
        units_by_code = {u.code: u for u in Unit.objects.filter(code__in=codes, is_active=True)}
        units = [
            UnitSuggestion(unit=units_by_code[a.label], confidence=a.confidence, via="model")
            for a in unit_prediction.alternatives
            if a.label in units_by_code
        ]
    else:
        seen: set[int] = set()
        for suggestion in items:
            rule = rule_for(suggestion.item, area_unit)
            unit = resolve_lead_unit(rule, area_unit) if rule is not None else None
            if unit is not None and unit.pk not in seen:
                seen.add(unit.pk)
                units.append(UnitSuggestion(unit=unit, confidence=suggestion.confidence, via="rule"))
    return Suggestions(
        item_model_version=item_version,
        unit_model_version=unit_version,
        items=tuple(items),
        units=tuple(units),
    )


__all__: Sequence[str] = [
    "ItemSuggestion",
    "LoadedModel",
    "ModelIntegrityError",
    "Suggestions",
    "UnitSuggestion",
    "active_classifier",
    "classifier_cache_clear",
    "classifier_versions",
    "cold_start_examples",
    "load_classifier",
    "order_document",
    "suggestions_for_order",
    "suggestions_for_orders",
    "suggestions_for_text",
    "training_examples_from_orders",
]


# --- orders -------------------------------------------------------------------------------------

DEFAULT_TRAINING_DAYS = 365


def suggestions_for_order(order: Any) -> OrderSuggestion | None:
    """What insight suggested for ``order`` (items, units, confidences, model versions, the
    address flag and the decision), for the dispatch desk and the API; None before the pass."""
    return (
        OrderSuggestion.objects.filter(order_id=order.pk)
        .select_related("located_grid", "dispatched_item", "dispatched_unit")
        .first()
    )


def suggestions_for_orders(orders: Sequence[Any]) -> dict[int, OrderSuggestion]:
    """The suggestions of a page of orders (a dispatch queue), by order id, in one query."""
    ids = [o.pk for o in orders]
    if not ids:
        return {}
    return {row.order_id: row for row in OrderSuggestion.objects.filter(order_id__in=ids)}


def order_document(order: Any) -> Document:
    return Document(title=order.title or "", body=order.content or "")


def training_examples_from_orders(
    target: ClassifierTarget | str, *, now: datetime, days: int | None = None, cap: int | None = None
) -> list[Example]:
    """Closed orders of the last ``days`` (``INSIGHT_TRAINING_DAYS``, default 365), oldest first,
    the newest ``cap`` (``INSIGHT_TRAINING_CAP``) of them, labelled with the item they were
    finally handled under (``item``) or the code of their final lead unit (``unit``).

    A dispatcher's override needs nothing special: the order closes under the item and unit the
    dispatcher chose, so those are its labels."""
    from orders.choices import OrderStatus
    from orders.models import Order

    target = ClassifierTarget(target)
    span = (
        days if days is not None else int(getattr(settings, "INSIGHT_TRAINING_DAYS", DEFAULT_TRAINING_DAYS))
    )
    limit = cap if cap is not None else int(getattr(settings, "INSIGHT_TRAINING_CAP", 200_000))
    qs = Order.objects.filter(status=OrderStatus.CLOSED, closed_at__gte=now - timedelta(days=span))
    label_field = "item__code" if target == ClassifierTarget.ITEM else "lead_unit__code"
    qs = qs.exclude(**{f"{label_field}__isnull": True})
    rows = list(qs.order_by("-closed_at", "-pk").values_list("title", "content", label_field)[:limit])
    rows.reverse()
    return [Example(Document(title=t or "", body=c or ""), str(label)) for t, c, label in rows]
