"""Insight in the work-order loop: suggestions, automatic dispatch, overrides, retraining.

``orders`` never imports ``insight`` (STYLE.md rule 10), so insight finds its work itself:

- ``order_suggestions_pass(now)`` (periodic, ``insight.tasks``) **claims** each order awaiting
  its first dispatch that has no ``OrderSuggestion`` yet by inserting that row (the unique
  ``order`` decides between workers), records the suggestions (``suggestions_for_text``) with
  the model versions and, for an address that matches nothing (``locate_address``), the flag.
  When the best suggestion reaches ``settings.INSIGHT_AUTO_DISPATCH_CONFIDENCE`` (default 0.9;
  ``None`` switches automatic dispatch off) the order is dispatched in the same transaction
  through ``orders.services.order_dispatch`` as the system dispatcher account
  ``settings.INSIGHT_DISPATCHER_USERNAME`` (``order_dispatch`` checks a dispatcher membership,
  so the system acts through an account that holds one; without it no order is dispatched
  automatically). The timeline's reason says "自动派单" with the model version and confidence.
  An order that cannot be dispatched automatically (outside the account's scope, a unit the
  level cannot reach, an unplaced address, an item the agent chose differently) keeps its
  suggestions for the dispatcher; the reason is stored in ``auto_error``.
- The same pass **reconciles** undecided rows: once the order has left awaiting dispatch it
  records the first dispatch event (``manual``), the item and lead unit actually chosen, and
  whether they override the suggestion — or ``none`` when the order ended undispatched.
- ``classifier_retrain_from_orders(now)`` (nightly) trains new item and unit versions on the
  closed orders of a capped recent window; overrides are in it as the orders' final labels.

Both are safe to run twice and under several workers: the unique row claims, conditional
UPDATEs on ``decided_at IS NULL`` record decisions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from catalog.models import CatalogItem
from insight import selectors
from insight.choices import ClassifierTarget, DispatchDecision
from insight.locate import locate_address
from insight.models import ClassifierModel, OrderSuggestion
from insight.services import TrainingError, classifier_train
from orders.choices import EventType, OrderStatus
from orders.errors import InvalidInput, StaleTransition, TransitionNotAllowed
from orders.models import Order, OrderEvent
from orders.services import order_dispatch
from orgs.models import Unit

logger = logging.getLogger(__name__)

DEFAULT_AUTO_DISPATCH_CONFIDENCE = 0.9
DEFAULT_CLAIM_BATCH = 200
AUTO_MARK = "自动派单"


@dataclass
class PassResult:
    suggested: int = 0
    auto_dispatched: int = 0
    reconciled: int = 0
    overridden: int = 0


def auto_dispatch_threshold() -> float | None:
    value = getattr(settings, "INSIGHT_AUTO_DISPATCH_CONFIDENCE", DEFAULT_AUTO_DISPATCH_CONFIDENCE)
    return None if value is None else float(value)


def system_dispatcher() -> Any | None:
    """The account automatic dispatch acts as (``INSIGHT_DISPATCHER_USERNAME``), or None."""
    username = str(getattr(settings, "INSIGHT_DISPATCHER_USERNAME", "") or "").strip()
    if not username:
        return None
    return get_user_model().objects.filter(username=username, is_active=True).first()


def orders_awaiting_suggestions(*, limit: int) -> list[Order]:
    """Orders awaiting their first dispatch that insight has not looked at yet, oldest first."""
    dispatched = OrderEvent.objects.filter(type=EventType.DISPATCHED).values("order_id")
    return list(
        Order.objects.filter(status=OrderStatus.AWAITING_DISPATCH, insight_suggestion__isnull=True)
        .exclude(pk__in=dispatched)
        .select_related("item", "grid")
        .order_by("created_at", "pk")[:limit]
    )


def _auto_blocker(order: Order, row: OrderSuggestion, threshold: float | None, actor: Any | None) -> str:
    """Why the order is not dispatched automatically ("" when it may be)."""
    if threshold is None:
        return _("未启用自动派单。")
    if actor is None:
        return _("未配置自动派单账号。")
    if not row.items or not row.units:
        return _("没有可用的分类建议。")
    if row.confidence < threshold:
        return _("置信度低于自动派单阈值。")
    if row.address_flagged:
        return _("地址未能定位，需人工派单。")
    if order.item_id is not None and order.item_id != row.items[0]["id"]:
        return _("登记事项与建议事项不一致，需人工派单。")
    return ""


def _suggest(order: Order, *, now: datetime) -> OrderSuggestion:
    """An unsaved suggestion row for ``order`` (classifier and address lookup; no writes)."""
    area = order.grid
    flagged, reason, shown, located = False, "", [], None
    if order.grid_id is None and (order.address_text or "").strip():
        location = locate_address(order.address_text)
        reason = location.reason
        shown = [{"address": text, "score": score} for text, score in location.candidates]
        flagged = location.flagged
        located = location.grid
        area = location.grid
    found = selectors.suggestions_for_text(title=order.title, body=order.content, area_unit=area)
    items: list[dict[str, Any]] = [
        {"id": s.item.pk, "code": s.item.code, "name": s.item.name, "confidence": round(s.confidence, 4)}
        for s in found.items
    ]
    units: list[dict[str, Any]] = [
        {
            "id": s.unit.pk,
            "code": s.unit.code,
            "name": s.unit.name,
            "confidence": round(s.confidence, 4),
            "via": s.via,
        }
        for s in found.units
    ]
    confidence = 0.0
    if found.items and found.units:
        confidence = round(min(found.items[0].confidence, found.units[0].confidence), 4)
    return OrderSuggestion(
        order=order,
        created_at=now,
        item_model_version=found.item_model_version,
        unit_model_version=found.unit_model_version,
        items=items,
        units=units,
        confidence=confidence,
        threshold=auto_dispatch_threshold(),
        address_flagged=flagged,
        address_reason=reason,
        address_candidates=shown,
        located_grid=located,
    )


def auto_note(row: OrderSuggestion) -> str:
    """The timeline reason of an automatic dispatch: marked automatic, with versions."""
    unit_model = f"v{row.unit_model_version}" if row.unit_model_version else _("责任清单")
    return _("%(mark)s：事项模型 v%(item)s，承办单位依据 %(unit)s，置信度 %(c).2f") % {
        "mark": AUTO_MARK,
        "item": row.item_model_version,
        "unit": unit_model,
        "c": row.confidence,
    }


def order_suggest(*, order: Order, now: datetime, actor: Any | None = None) -> OrderSuggestion | None:
    """Claim ``order``, record its suggestions and dispatch it automatically when allowed.

    Returns None when another worker (or an earlier pass) claimed it first."""
    row = _suggest(order, now=now)
    threshold = row.threshold
    try:
        with transaction.atomic():
            row.save(force_insert=True)
            blocker = _auto_blocker(order, row, threshold, actor)
            if blocker:
                row.auto_error = blocker
                row.save(update_fields=["auto_error"])
                return row
            try:
                with transaction.atomic():
                    item = CatalogItem.objects.get(pk=row.items[0]["id"])
                    unit = Unit.objects.get(pk=row.units[0]["id"])
                    event = order_dispatch(
                        order=order, actor=actor, now=now, item=item, lead_unit=unit, note=auto_note(row)
                    )
            except (InvalidInput, PermissionDenied, StaleTransition, TransitionNotAllowed) as exc:
                row.auto_error = (str(exc) or exc.__class__.__name__)[:255]
                row.save(update_fields=["auto_error"])
                return row
            row.decision = DispatchDecision.AUTO
            row.dispatch_event = event
            row.dispatched_item_id = row.items[0]["id"]
            row.dispatched_unit_id = row.units[0]["id"]
            row.item_overridden = False
            row.unit_overridden = False
            row.decided_at = now
            row.save(
                update_fields=[
                    "decision",
                    "dispatch_event",
                    "dispatched_item",
                    "dispatched_unit",
                    "item_overridden",
                    "unit_overridden",
                    "decided_at",
                ]
            )
            return row
    except IntegrityError:
        return None


def order_suggestion_reconcile(*, row: OrderSuggestion, now: datetime) -> bool:
    """Record what became of an undecided suggestion once its order left awaiting dispatch:
    the first dispatch after the claim (``manual``, with overrides), or ``none``. True if this
    call recorded it (a conditional UPDATE: a second run or worker records nothing)."""
    order = row.order
    event = (
        OrderEvent.objects.filter(order_id=order.pk, type=EventType.DISPATCHED)
        .order_by("seq")
        .only("pk", "payload", "order_id", "seq")
        .first()
    )
    if event is None:
        if order.status in (OrderStatus.AWAITING_DISPATCH, OrderStatus.REGISTERED):
            return False
        return bool(
            OrderSuggestion.objects.filter(pk=row.pk, decided_at__isnull=True).update(
                decision=DispatchDecision.NONE, decided_at=now
            )
        )
    payload = event.payload or {}
    item_id, lead_id = payload.get("item"), payload.get("lead")
    best_item = row.items[0]["id"] if row.items else None
    best_unit = row.units[0]["id"] if row.units else None
    return bool(
        OrderSuggestion.objects.filter(pk=row.pk, decided_at__isnull=True).update(
            decision=DispatchDecision.MANUAL,
            dispatch_event=event.pk,
            dispatched_item=item_id,
            dispatched_unit=lead_id,
            item_overridden=None if best_item is None else item_id != best_item,
            unit_overridden=None if best_unit is None else lead_id != best_unit,
            decided_at=now,
        )
    )


def order_suggestions_pass(*, now: datetime, limit: int | None = None) -> PassResult:
    """One periodic pass: reconcile undecided suggestions, then suggest for new orders."""
    result = PassResult()
    batch = limit if limit is not None else int(getattr(settings, "INSIGHT_CLAIM_BATCH", DEFAULT_CLAIM_BATCH))
    pending = (
        OrderSuggestion.objects.filter(decided_at__isnull=True)
        .exclude(order__status=OrderStatus.AWAITING_DISPATCH)
        .select_related("order")
        .order_by("pk")[:batch]
    )
    for row in pending:
        if order_suggestion_reconcile(row=row, now=now):
            result.reconciled += 1
            row.refresh_from_db(fields=["item_overridden", "unit_overridden"])
            result.overridden += int(row.overridden)
    actor = system_dispatcher()
    for order in orders_awaiting_suggestions(limit=batch):
        made = order_suggest(order=order, now=now, actor=actor)
        if made is None:
            continue
        result.suggested += 1
        result.auto_dispatched += int(made.decision == DispatchDecision.AUTO)
    return result


def classifier_retrain_from_orders(*, now: datetime) -> list[ClassifierModel]:
    """Train new item and unit versions on the recent closed orders (as the system)."""
    trained: list[ClassifierModel] = []
    for target in (ClassifierTarget.ITEM, ClassifierTarget.UNIT):
        examples = selectors.training_examples_from_orders(target, now=now)
        if len({e.label for e in examples}) < 2:
            logger.info("insight retrain %s: fewer than two labels in the window, skipped", target)
            continue
        try:
            trained.append(classifier_train(actor=None, target=target, examples=examples, now=now))
        except TrainingError:
            logger.warning("insight retrain %s: nothing usable", target)
    return trained
