"""The duplicate matcher behind ``orders.selectors.order_duplicate_candidates``.

Registered by ``InsightConfig.ready`` through ``orders.selectors.register_duplicate_matcher``
(orders never imports insight). For an order (saved, or an unsaved probe standing for the report
being taken) it reads the open, unmerged orders

- of the **same or neighbouring grids** — neighbours are the grids of the same community (the
  grid's siblings under one parent). Grid boundaries are optional in the address/grid data, so
  "touching geometry" would silently find nothing for a city without boundaries, while every
  grid has a parent; the community is also the unit that covers the grids on the ground;
- for an order without a grid: of the same item (the text must then carry the match:
  ``MatcherConfig.unplaced_threshold``);
- created within ``days`` of it (newest ``CANDIDATE_CAP`` first),

and ranks them with ``insight.duplicates`` (address-stripped TF-IDF cosine plus the concept
lexicon, conflicting building/unit numbers halved), returning those at or above the matcher's
threshold with their score. The document frequencies come from the gated candidates themselves,
so a lookup costs one indexed query and a few hundred short texts at most. Two cases come first:

- a report whose text **cites an open order's number** (a repeat call: "群众再次来电反映工单
  2025…所述问题") is that order's duplicate, score 1.0;
- a report with **no text yet** (the agent's console before the problem is typed) has nothing to
  compare: the open orders of the same item in the same grid are listed newest first with score
  None (the simple rule, shown without a score).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q

from insight.duplicates import DuplicateIndex, MatcherConfig, Report
from orders.choices import OPEN
from orders.models import Order
from orgs.choices import UnitKind
from orgs.models import Unit

CANDIDATE_CAP = 500


def neighbour_grid_ids(grid_id: int | None) -> frozenset[int]:
    """The other active grids of the grid's community (its siblings)."""
    if grid_id is None:
        return frozenset()
    parent = Unit.objects.filter(pk=grid_id).values_list("parent_id", flat=True).first()
    if parent is None:
        return frozenset()
    siblings = Unit.objects.filter(parent_id=parent, kind=UnitKind.GRID, is_active=True).exclude(pk=grid_id)
    return frozenset(siblings.values_list("pk", flat=True))


def order_text(order: Any) -> str:
    return f"{order.title or ''}。{order.content or ''}"


def _report(order: Any, neighbours: frozenset[int] = frozenset()) -> Report:
    return Report(
        id=order.pk if order.pk is not None else "probe",
        text=order_text(order),
        at=order.created_at,
        grid_id=order.grid_id,
        neighbour_grid_ids=neighbours,
        item_id=order.item_id,
    )


def order_duplicate_matcher(
    order: Order, *, days: int = 30, limit: int = 10, config: MatcherConfig | None = None
) -> list[tuple[Order, float | None]]:
    """Likely duplicates of ``order`` with their scores, best first (see the module docstring)."""
    if order.created_at is None:
        return []
    neighbours = neighbour_grid_ids(order.grid_id)
    if order.grid_id is not None:
        place = Q(grid_id__in=[order.grid_id, *neighbours])
    elif order.item_id is not None:
        place = Q(item_id=order.item_id)
    else:
        return []
    window = dt.timedelta(days=days)
    qs = Order.objects.filter(
        place,
        status__in=sorted(OPEN),
        parent__isnull=True,
        created_at__gte=order.created_at - window,
        created_at__lte=order.created_at + window,
    )
    if order.pk is not None:
        qs = qs.exclude(pk=order.pk)
    found = list(qs.select_related("item", "grid").order_by("-created_at", "-pk")[:CANDIDATE_CAP])
    if not found:
        return []
    text = f"{order.title or ''}{order.content or ''}"
    if not text.strip():
        same = [o for o in found if o.item_id is not None and o.item_id == order.item_id]
        if order.grid_id is not None:
            same = [o for o in same if o.grid_id == order.grid_id]
        return [(o, None) for o in same[:limit]]
    cited: list[tuple[Order, float | None]] = [(o, 1.0) for o in found if o.number and o.number in text]
    base = config or MatcherConfig()
    index = DuplicateIndex(
        config=MatcherConfig(
            window_hours=days * 24.0,
            threshold=base.threshold,
            unplaced_threshold=base.unplaced_threshold,
            concept_weight=base.concept_weight,
            conflict_factor=base.conflict_factor,
            same_item_bonus=base.same_item_bonus,
        )
    )
    by_id = {o.pk: o for o in found}
    index.add_many(_report(o) for o in found)
    ranked = index.candidates(_report(order, neighbours), limit=limit)
    cited_ids = {o.pk for o, _ in cited}
    scored = [(by_id[int(c.report.id)], c.match.score) for c in ranked if int(c.report.id) not in cited_ids]
    return (cited + scored)[:limit]
