"""Reads the workbench pages need beyond ``orders.selectors``: every list here starts from
``orders.selectors.orders_visible_to`` (SECURITY.md AC-1) and costs a fixed number of queries
however many rows it returns (pinned in the view tests).

- ``similar_open_orders``, ``scored_duplicates``: likely duplicates of a call being taken (an
  unsaved order stands for the new report) or of an order, with the matcher's similarity, through
  ``orders.selectors.order_duplicates_visible_to``;
- ``suggested_leads``: the responsibility list's lead unit for a page of orders at once — the
  same answer as ``catalog.selectors.rule_for`` + ``resolve_lead_unit`` per order (a test holds
  them equal), in four queries instead of two or three per row;
- ``address_suggestions``, ``unit_search``: the pickers;
- ``pending_decisions``: extension and suspension requests a dispatcher or a parent unit decides;
- ``my_assignments`` and ``reviewable_replies``: the handler's own assignments and the replies of
  units below waiting for the handler's review;
- ``deadline_board``: near or past deadlines grouped by unit (supervisor board);
- ``territory_outline``: district outlines for the residents' map (cached).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.core.cache import cache
from django.db.models import F, Q, QuerySet
from shapely.geometry import shape
from shapely.ops import unary_union

from catalog.models import CatalogItem, ResponsibilityRule
from orders import permissions
from orders.choices import ASSIGNMENT_ACTIVE, AssignmentStatus, OrderStatus, ReplyStatus, RequestStatus
from orders.models import Assignment, ExtensionRequest, Order, Reply, SuspensionRequest
from orders.selectors import (
    QUEUE_SELECT,
    order_duplicates_visible_to,
    orders_visible_among,
    orders_visible_to,
)
from orders.services.supervision import yellow_at
from orgs.addresses import normalize_address
from orgs.choices import UnitKind
from orgs.geo import geometry_to_geojson
from orgs.models import Address, Unit, UnitClosure
from orgs.selectors import holding_subtree_list, membership_unit_list

SUGGEST_LIMIT = 8
SIMILAR_LIMIT = 6
HISTORY_LIMIT = 10
UNIT_SEARCH_LIMIT = 12
OUTLINE_CACHE_KEY = "workbench:territory-outline:v1"
OUTLINE_CACHE_SECONDS = 3600
# The board looks this far ahead for deadlines whose yellow mark may already be passed.
BOARD_LOOKAHEAD = dt.timedelta(days=7)
# At most this many replied assignments below a unit are looked at for its review list.
REVIEW_SCAN = 500
# Delegation reaches this far down (a street → its communities and their grids).
DELEGATE_DEPTH = 2


# --- the agent's console ------------------------------------------------------------------------


@dataclass(frozen=True)
class SimilarOrder:
    """A likely duplicate as the pages show it: the order and its similarity (0–1, or None when
    the candidate comes from the simple rule — same item, same grid — with nothing to compare)."""

    order: Order
    score: float | None

    @property
    def percent(self) -> int | None:
        """The similarity as a whole percentage (``相似度 87%``), or None without a score."""
        return None if self.score is None else round(max(0.0, min(1.0, self.score)) * 100)


def scored_duplicates(actor: Any, order: Order, *, limit: int = 10) -> list[SimilarOrder]:
    """Likely duplicates of ``order`` within the actor's scope, best first, with their scores."""
    return [SimilarOrder(o, score) for o, score in order_duplicates_visible_to(actor, order, limit=limit)]


def similar_open_orders(
    actor: Any,
    *,
    item: CatalogItem | None,
    grid: Unit | None,
    now: dt.datetime,
    title: str = "",
    content: str = "",
    limit: int = SIMILAR_LIMIT,
) -> list[SimilarOrder]:
    """Open orders that look like the report being taken, within the actor's scope, best first
    with their similarity. An unsaved order stands for the new report, so the duplicate finder
    behind ``order_duplicate_candidates`` (insight's matcher: same or neighbouring grid, recent,
    similar text) serves this page unchanged."""
    if item is None or grid is None:
        return []
    probe = Order(item=item, grid=grid, created_at=now, title=title, content=content)
    return scored_duplicates(actor, probe, limit=limit)


def caller_history(actor: Any, phone: str, *, limit: int = HISTORY_LIMIT) -> list[Order]:
    """The caller's earlier orders (keyed phone hash), within the actor's scope, newest first."""
    from orders.selectors import orders_of_requester

    if not (phone or "").strip():
        return []
    return list(orders_of_requester(actor, phone).select_related(*QUEUE_SELECT)[:limit])


def call_orders(actor: Any, call_id: str, *, limit: int = HISTORY_LIMIT) -> list[Order]:
    """Orders registered from this call, within the actor's scope."""
    return list(
        orders_visible_to(actor)
        .filter(call_id=call_id)
        .select_related(*QUEUE_SELECT)
        .order_by("-created_at", "-pk")[:limit]
    )


def address_suggestions(query: str, *, limit: int = SUGGEST_LIMIT) -> list[Address]:
    """Addresses of the unified list matching what was typed (normalised, so ``3#楼`` finds
    ``3号楼``), with their grid and its community."""
    text = (query or "").strip()
    if len(text) < 2:
        return []
    normalized = normalize_address(text)
    match = Q(text__icontains=text)
    if normalized:
        match |= Q(normalized__contains=normalized)
    return list(
        Address.objects.filter(match).select_related("grid__parent").order_by("normalized", "pk")[:limit]
    )


def grid_with_parent(grid_id: int | None) -> Unit | None:
    if grid_id is None:
        return None
    return Unit.objects.select_related("parent").filter(pk=grid_id, kind=UnitKind.GRID).first()


# --- units --------------------------------------------------------------------------------------


def unit_search(
    query: str,
    *,
    within: Unit | int | None = None,
    departments: bool = False,
    exclude_kinds: Iterable[str] = (UnitKind.BUILDING,),
    limit: int = UNIT_SEARCH_LIMIT,
) -> list[Unit]:
    """Active units whose name or code matches, in ``within``'s subtree (and, with
    ``departments``, any department or station: the 条 line takes orders from every level)."""
    text = (query or "").strip()
    if not text:
        return []
    qs = Unit.objects.filter(Q(name__icontains=text) | Q(code__startswith=text), is_active=True).exclude(
        kind__in=list(exclude_kinds)
    )
    if within is not None:
        inside = Q(pk__in=UnitClosure.objects.filter(ancestor_id=_pk(within)).values("descendant_id"))
        if departments:
            inside |= Q(kind__in=[UnitKind.DEPARTMENT, UnitKind.STATION])
        qs = qs.filter(inside)
    return list(qs.select_related("parent").order_by("level", "code")[:limit])


def delegate_targets(unit: Unit | int) -> list[Unit]:
    """Units a handler may delegate down to: active units up to two levels below, no buildings."""
    return list(
        Unit.objects.filter(
            pk__in=UnitClosure.objects.filter(
                ancestor_id=_pk(unit), depth__gt=0, depth__lte=DELEGATE_DEPTH
            ).values("descendant_id"),
            is_active=True,
        )
        .exclude(kind=UnitKind.BUILDING)
        .order_by("level", "code")
    )


def _pk(unit: Unit | int) -> int:
    return unit if isinstance(unit, int) else int(unit.pk)


# --- the responsibility list for a page of orders ----------------------------------------------


def suggested_leads(orders: Sequence[Order]) -> dict[int, Unit | None]:
    """``{order id: lead unit}`` by the responsibility list, for orders with an item.

    Same rule as ``catalog.selectors.rule_for`` (the rule of the nearest area containing the
    order's grid, else the city-wide one) and ``resolve_lead_unit`` (the named unit, or the
    grid's nearest ancestor of the lead kind). Four queries for the whole page.
    """
    wanted = [o for o in orders if o.item_id is not None]
    result: dict[int, Unit | None] = {o.pk: None for o in orders}
    if not wanted:
        return result
    rules = list(
        ResponsibilityRule.objects.filter(item_id__in={o.item_id for o in wanted}).select_related("lead_unit")
    )
    by_item: dict[int, list[ResponsibilityRule]] = defaultdict(list)
    for each in rules:
        by_item[each.item_id].append(each)
    grid_ids = {o.grid_id for o in wanted if o.grid_id is not None}
    # grid → {ancestor id: depth}, one query for every grid on the page
    ancestry: dict[int, dict[int, int]] = defaultdict(dict)
    for descendant, ancestor, depth in UnitClosure.objects.filter(descendant_id__in=grid_ids).values_list(
        "descendant_id", "ancestor_id", "depth"
    ):
        ancestry[descendant][ancestor] = depth
    chosen: dict[int, ResponsibilityRule | None] = {}
    for order in wanted:
        candidates = by_item.get(order.item_id or 0, [])
        citywide = next((r for r in candidates if r.area_id is None), None)
        areas = {r.area_id: r for r in candidates if r.area_id is not None}
        rule: ResponsibilityRule | None = citywide
        if order.grid_id is not None and areas:
            depths = ancestry.get(order.grid_id, {})
            inside = [(depths[a], a) for a in areas if a in depths]
            if inside:
                rule = areas[min(inside)[1]]
        chosen[order.pk] = rule
    kinds = {r.lead_kind for r in chosen.values() if r is not None and r.lead_unit_id is None and r.lead_kind}
    ancestor_ids = {a for depths in ancestry.values() for a in depths}
    by_kind: dict[str, dict[int, Unit]] = defaultdict(dict)
    if kinds and ancestor_ids:
        for unit in Unit.objects.filter(pk__in=ancestor_ids, kind__in=kinds, is_active=True):
            by_kind[unit.kind][unit.pk] = unit
    for order in wanted:
        found = chosen[order.pk]
        if found is None:
            continue
        rule = found
        if rule.lead_unit_id is not None:
            result[order.pk] = rule.lead_unit
            continue
        if order.grid_id is None or not rule.lead_kind:
            continue
        depths = ancestry.get(order.grid_id, {})
        matches = [(depths[pk], unit) for pk, unit in by_kind[rule.lead_kind].items() if pk in depths]
        if matches:
            # the deepest unit of that kind: the one nearest the grid
            result[order.pk] = min(matches, key=lambda m: m[0])[1]
    return result


def rule_assists(order: Order) -> list[Unit]:
    """The assisting units the responsibility list names for the order (none without a rule)."""
    from catalog.selectors import rule_for

    if order.item is None:
        return []
    rule = rule_for(order.item, order.grid)
    return list(rule.assist_units.order_by("code")) if rule is not None else []


def units_by_pk(pks: Iterable[Any]) -> list[Unit]:
    """Units for ids sent back by a form (kept checked on a re-rendered picker)."""
    ids = [int(p) for p in pks if str(p).isdigit()]
    return list(Unit.objects.filter(pk__in=ids).order_by("level", "code")) if ids else []


# --- decisions waiting for a dispatcher or a parent unit ------------------------------------


@dataclass
class Decision:
    """A pending extension or suspension request, with what the page shows of it."""

    kind: str  # "extension" | "suspension"
    request: ExtensionRequest | SuspensionRequest
    order: Order
    unit: Unit


def pending_decisions(
    actor: Any, *, limit: int = 50, as_dispatcher: bool = True, as_parent: bool = True
) -> list[Decision]:
    """Extension and suspension requests ``actor`` decides: as a dispatcher of the order's
    dispatch level (top lead's and assists' extensions, every suspension), or as the parent unit
    of a delegated child (its extension). Pending requests are few, so they are found first and
    then kept only where ``orders_visible_to`` holds their order. Four queries."""
    dispatch_levels = holding_subtree_list(actor, permissions.DISPATCH_ROLES)
    related = ("assignment__unit", "order", *(f"order__{name}" for name in QUEUE_SELECT))
    pending = ExtensionRequest.objects.filter(status=RequestStatus.PENDING)
    extensions: list[ExtensionRequest] = []
    suspensions: list[SuspensionRequest] = []
    # Separate queries rather than one with an OR across joins (which plans badly on a big
    # city); each lists ids first and loads the rows of the first ``limit``.
    if as_dispatcher:
        levels = set(dispatch_levels.values_list("descendant_id", flat=True))
        if levels:
            extensions += _first_requests(
                pending.filter(assignment__parent__isnull=True), levels, limit, related
            )
            suspensions += _first_requests(
                SuspensionRequest.objects.filter(status=RequestStatus.PENDING), levels, limit, related
            )
    if as_parent:
        wanted = _child_extension_ids(actor, pending, limit)
        found = ExtensionRequest.objects.select_related(*related).in_bulk(wanted)
        extensions += [found[pk] for pk in wanted]
    visible = _visible_ids(actor, {x.order_id for x in extensions} | {x.order_id for x in suspensions})
    rows: list[Decision] = [
        Decision("extension", x, x.order, x.assignment.unit) for x in extensions if x.order_id in visible
    ]
    rows += [
        Decision("suspension", x, x.order, x.assignment.unit) for x in suspensions if x.order_id in visible
    ]
    rows.sort(key=lambda d: (d.request.created_at, d.request.pk))
    return rows


def pending_decisions_count(
    actor: Any, *, as_dispatcher: bool = True, as_parent: bool = True, cap: int = 99
) -> int:
    """How many requests ``pending_decisions`` would list, counting no further than ``cap + 1``
    per kind (for a tab's badge; the list itself is read only on its own tab)."""
    total = 0
    pending = ExtensionRequest.objects.filter(status=RequestStatus.PENDING)
    if as_dispatcher:
        levels = holding_subtree_list(actor, permissions.DISPATCH_ROLES)
        total += (
            pending.filter(assignment__parent__isnull=True, order__dispatch_unit_id__in=levels)
            .order_by()[: cap + 1]
            .count()
        )
        total += (
            SuspensionRequest.objects.filter(status=RequestStatus.PENDING, order__dispatch_unit_id__in=levels)
            .order_by()[: cap + 1]
            .count()
        )
    if as_parent:
        total += min(len(_child_extension_ids(actor, pending, cap + 1)), cap + 1)
    return total


def _child_extension_ids(actor: Any, pending: QuerySet[ExtensionRequest], limit: int) -> list[int]:
    """The oldest ``limit`` pending extension requests of delegated children of the actor's
    units (few: listed with their parent's unit, chosen here)."""
    units = set(handling_unit_ids(actor))
    listed = pending.filter(assignment__parent__isnull=False).order_by("created_at", "pk")
    return [pk for pk, unit in listed.values_list("pk", "assignment__parent__unit_id") if unit in units][
        :limit
    ]


def review_count(actor: Any, *, cap: int = 99) -> int:
    """How many replies ``reviewable_replies`` would list (capped), from the assignments alone."""
    children, assists = _replied_below(actor)
    return int(children.order_by()[: cap + 1].count()) + int(assists.order_by()[: cap + 1].count())


def _replied_below(actor: Any) -> tuple[QuerySet[Assignment], QuerySet[Assignment]]:
    """Replied assignments the actor's units review: delegated children of their accepted
    assignments, and assisting units of the orders they lead."""
    units = handling_unit_ids(actor)
    # Written from the replied side (the partial indexes ``assignment_replied_child`` and
    # ``assignment_replied_assist``): a department with 27,000 accepted assignments probed each
    # for a replied child (160 ms for none at 1M orders).
    children = Assignment.objects.filter(
        status=AssignmentStatus.REPLIED,
        parent__isnull=False,
        parent__unit_id__in=units,
        parent__status=AssignmentStatus.ACCEPTED,
    )
    # a join, not a semi-join: PostgreSQL then starts from the few replied assists and probes
    # their order's lead (an order has at most one active top lead, so no row repeats)
    assists = Assignment.objects.filter(
        role="assist",
        parent__isnull=True,
        status=AssignmentStatus.REPLIED,
        order__assignments__unit_id__in=units,
        order__assignments__status=AssignmentStatus.ACCEPTED,
        order__assignments__role="lead",
        order__assignments__parent__isnull=True,
    )
    return children, assists


def _first_requests(rows: QuerySet[Any], levels: set[int], limit: int, related: Sequence[str]) -> list[Any]:
    """The oldest ``limit`` pending requests of orders dispatched at one of ``levels``."""
    listed = rows.order_by("created_at", "pk").values_list("pk", "order__dispatch_unit_id")
    wanted = [pk for pk, level in listed if level in levels][:limit]
    found = rows.model.objects.select_related(*related).in_bulk(wanted)
    return [found[pk] for pk in wanted]


def _visible_ids(actor: Any, order_ids: set[int]) -> set[int]:
    """Which of a few orders ``actor`` may see (one query; none for an empty set)."""
    if not order_ids:
        return set()
    return set(orders_visible_among(actor, order_ids).values_list("pk", flat=True))


# --- the handler --------------------------------------------------------------------------------


def handling_unit_ids(actor: Any) -> list[int]:
    """The units where ``actor`` handles (handler or dispatcher membership): one query, kept on
    the actor object for the rest of the request (a page asks several times)."""
    return membership_unit_list(actor, permissions.HANDLING_ROLES)


def with_my_assignments(orders: Sequence[Order], unit_ids: Sequence[int]) -> None:
    """Attach ``order.mine``: the active assignments of ``orders`` at ``unit_ids`` (one query),
    and ``order.my``: the one the page acts on (the deepest, i.e. the latest delegated)."""
    if not orders:
        return
    rows = (
        Assignment.objects.filter(
            order_id__in=[o.pk for o in orders],
            unit_id__in=list(unit_ids),
            status__in=list(ASSIGNMENT_ACTIVE),
        )
        .select_related("unit")
        .order_by("pk")
    )
    by_order: dict[int, list[Assignment]] = defaultdict(list)
    for a in rows:
        by_order[a.order_id].append(a)
    for order in orders:
        mine = by_order.get(order.pk, [])
        order.mine = mine  # type: ignore[attr-defined]
        order.my = mine[-1] if mine else None  # type: ignore[attr-defined]


INBOX_TABS: dict[str, list[str]] = {
    "pending": [AssignmentStatus.PENDING],
    "working": [AssignmentStatus.ACCEPTED],
    "replied": [AssignmentStatus.REPLIED, AssignmentStatus.RETURN_REQUESTED],
}


# The deadline each inbox tab is ordered by: the unit's own clock.
INBOX_ORDER: dict[str, Any] = {
    "pending": F("accept_by").asc(nulls_last=True),
    "working": F("reply_by").asc(nulls_last=True),
    "replied": F("replied_at").desc(nulls_last=True),
}


def inbox_assignments(actor: Any, tab: str) -> QuerySet[Assignment]:
    """The handler's queue, narrowed by its own indexed predicate: the active assignments in the
    tab's states (to accept, being handled, answered and waiting above) at units where the actor
    handles, ordered by the unit's own deadline; the orders shown are checked against
    ``orders_visible_to`` (``visible_page``)."""
    return Assignment.objects.filter(
        unit_id__in=handling_unit_ids(actor), status__in=INBOX_TABS[tab]
    ).order_by(INBOX_ORDER[tab], "pk")


def dispatch_orders(actor: Any, status: str) -> QuerySet[Order]:
    """The dispatcher's queue in one state: orders waiting at a dispatch level in the actor's
    dispatcher subtree (the hot partial index on dispatch unit, status and creation time), newest
    first — ``order_list_for_queue(queue="dispatch")`` without the scope's OR, which these rows
    meet by construction (the holding axis admits every order at a desk's dispatch level)."""
    return Order.objects.filter(
        dispatch_unit_id__in=holding_subtree_list(actor, permissions.DISPATCH_ROLES), status=status
    ).order_by("-created_at", "-pk")


def callback_orders(actor: Any) -> QuerySet[Order]:
    """Orders awaiting a callback at a dispatch level in the actor's callback subtree (narrowed
    like ``dispatch_orders``), newest first."""
    return Order.objects.filter(
        dispatch_unit_id__in=holding_subtree_list(actor, permissions.CALLBACK_ROLES),
        status=OrderStatus.AWAITING_CALLBACK,
    ).order_by("-created_at", "-pk")


def visible_page(
    actor: Any, base: QuerySet[Any], *, number: int, per_page: int, field: str = "pk"
) -> tuple[list[Order], bool]:
    """One page of a narrowed queue (orders, or rows naming orders in ``field``): the page's
    order ids (one more, to know whether a next page exists), the scope check
    ``orders_visible_to`` on just those ids, and the orders with their units. Three small
    queries however big the city: a ``COUNT`` or an ``OR`` of scope subqueries over a million
    orders is what makes a queue slow, not a page of twenty."""
    start = (number - 1) * per_page
    ids: list[int] = []
    for pk in base.values_list(field, flat=True)[start : start + 2 * per_page + 2]:
        if pk not in ids:
            ids.append(pk)
        if len(ids) > per_page:
            break
    has_next = len(ids) > per_page
    ids = ids[:per_page]
    visible = _visible_ids(actor, set(ids))
    found = Order.objects.select_related(*QUEUE_SELECT).in_bulk([pk for pk in ids if pk in visible])
    return [found[pk] for pk in ids if pk in found], has_next


def reviewable_replies(actor: Any, *, limit: int = 50) -> list[Reply]:
    """Replies of delegated children (and of assisting units) waiting for the review of a unit
    where ``actor`` handles. Top leads' replies are the dispatcher's (the dispatch queue). Found
    through the assignments (the unit's accepted ones, their replied children; replied assists
    of orders the unit leads), then kept where ``orders_visible_to`` holds their order."""
    children, assists = _replied_below(actor)
    related = ("assignment__unit", "order", *(f"order__{name}" for name in QUEUE_SELECT))
    pending = Reply.objects.filter(status=ReplyStatus.PENDING_REVIEW).select_related(*related)
    # The replied assignments are few: listed first, their replies then found by the index.
    replied = list(children.values_list("pk", flat=True)[:REVIEW_SCAN]) + list(
        assists.values_list("pk", flat=True)[:REVIEW_SCAN]
    )
    rows = (
        list(pending.filter(assignment_id__in=replied).order_by("created_at", "pk")[:limit])
        if replied
        else []
    )
    visible = _visible_ids(actor, {r.order_id for r in rows})
    return [r for r in rows if r.order_id in visible]


# --- the supervisor board ------------------------------------------------------------------------


@dataclass
class UnitDeadlines:
    unit: Unit
    yellow: int = 0
    red: int = 0
    rows: list[Assignment] = field(default_factory=list)


BOARD_BATCH = 500
BOARD_BATCHES = 20


def _due_candidates(actor: Any, rows: QuerySet[Assignment], want: int) -> list[int]:
    """Ids of ``rows`` (already ordered by their deadline) whose order ``actor`` may see: taken
    in batches, each checked against ``orders_visible_to``, until ``want`` are found."""
    kept: list[int] = []
    for batch in range(BOARD_BATCHES):
        chunk = list(rows.values_list("pk", "order_id")[batch * BOARD_BATCH : (batch + 1) * BOARD_BATCH])
        if not chunk:
            break
        visible = _visible_ids(actor, {order_id for _pk, order_id in chunk})
        kept += [pk for pk, order_id in chunk if order_id in visible]
        if len(kept) >= want or len(chunk) < BOARD_BATCH:
            break
    return kept[:want]


def deadline_board(
    actor: Any, *, now: dt.datetime, horizon: dt.timedelta, limit: int = 200
) -> list[UnitDeadlines]:
    """Active assignments (pending or accepted, clock running) whose next deadline is past (red)
    or near (yellow: the deadline sweep's yellow mark is passed, or the deadline is within
    ``horizon``), of orders ``actor`` may see, grouped by unit, the most overdue units first.

    The candidates come from the deadline sweep's own partial indexes (pending by accept-by,
    accepted by reply-by), soonest first, and are checked against ``orders_visible_to`` in
    batches. Each row gets ``kind`` ("accept" or "reply"), ``due``, ``level`` and ``yellow_mark``."""
    lookahead = now + max(horizon, BOARD_LOOKAHEAD)
    running = Assignment.objects.filter(paused_at__isnull=True)
    pending = running.filter(status=AssignmentStatus.PENDING, accept_by__lte=lookahead).order_by(
        "accept_by", "pk"
    )
    accepted = running.filter(status=AssignmentStatus.ACCEPTED, reply_by__lte=lookahead).order_by(
        "reply_by", "pk"
    )
    ids = _due_candidates(actor, pending, limit) + _due_candidates(actor, accepted, limit)
    rows = list(
        Assignment.objects.filter(pk__in=ids).select_related(
            "unit", "order__item", "order__grid", "order__holder_unit"
        )
    )
    groups: dict[int, UnitDeadlines] = {}
    for a in rows:
        pending_row = a.status == AssignmentStatus.PENDING
        due = a.accept_by if pending_row else a.reply_by
        if due is None:
            continue
        mark = yellow_at(a.dispatched_at, due)
        if due <= now:
            level = "red"
        elif now >= mark or due - now <= horizon:
            level = "yellow"
        else:
            continue
        a.kind = "accept" if pending_row else "reply"  # type: ignore[attr-defined]
        a.due = due  # type: ignore[attr-defined]
        a.level = level  # type: ignore[attr-defined]
        a.yellow_mark = mark  # type: ignore[attr-defined]
        group = groups.setdefault(a.unit_id, UnitDeadlines(unit=a.unit))
        group.rows.append(a)
        if level == "red":
            group.red += 1
        else:
            group.yellow += 1
    ordered = sorted(groups.values(), key=lambda g: (-g.red, -g.yellow, g.unit.code))
    for group in ordered:
        group.rows.sort(key=lambda a: a.due)  # type: ignore[attr-defined]
    return ordered


# --- the residents' map -----------------------------------------------------------------------


def territory_outline() -> dict[str, Any]:
    """GeoJSON of the districts' outlines (the union of their grids), for the residents' map
    on a plain background; cached for an hour. Empty when no grid has a boundary."""
    cached = cache.get(OUTLINE_CACHE_KEY)
    if cached is not None:
        return dict(cached)
    grids = Unit.objects.filter(kind=UnitKind.GRID, is_active=True, boundary__isnull=False)
    district_of = dict(
        UnitClosure.objects.filter(
            descendant_id__in=grids.values("pk"), ancestor__kind=UnitKind.DISTRICT
        ).values_list("descendant_id", "ancestor_id")
    )
    shapes: dict[int, list[Any]] = defaultdict(list)
    for pk, boundary in grids.values_list("pk", "boundary").iterator(chunk_size=2000):
        try:
            shapes[district_of.get(pk, 0)].append(shape(cast(dict[str, Any], boundary)))
        except (ValueError, TypeError, AttributeError, KeyError):
            continue
    names = dict(Unit.objects.filter(pk__in=[k for k in shapes if k]).values_list("pk", "name"))
    features = []
    for key, parts in sorted(shapes.items()):
        outline = unary_union(parts).simplify(0.0005, preserve_topology=True)
        features.append(
            {
                "type": "Feature",
                "properties": {"name": names.get(key, "")},
                "geometry": geometry_to_geojson(outline),
            }
        )
    data = {"type": "FeatureCollection", "features": features}
    cache.set(OUTLINE_CACHE_KEY, data, OUTLINE_CACHE_SECONDS)
    return data


def grid_feature(grid: Unit | None, *, highlight: bool = False) -> dict[str, Any]:
    """A FeatureCollection with the grid's polygon (empty when it has none)."""
    features = []
    if grid is not None and grid.boundary:
        features.append(
            {
                "type": "Feature",
                "properties": {"name": grid.name, "highlight": highlight},
                "geometry": grid.boundary,
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --- small helpers for the queues ------------------------------------------------------------


def merged_awaiting_callback(actor: Any, *, limit: int = 50) -> list[Order]:
    """Merged duplicates whose parent has its answer and whose own resident has not been called
    back yet: the callback agent calls them too (``order_callback_merged``). Narrowed by the
    callback level first, those already called back dropped, then checked against
    ``orders_visible_to``."""
    from orders.models import Callback

    candidates = list(
        Order.objects.filter(
            status=OrderStatus.MERGED,
            dispatch_unit_id__in=holding_subtree_list(actor, permissions.CALLBACK_ROLES),
            parent__status__in=[OrderStatus.AWAITING_CALLBACK, OrderStatus.CLOSED],
        )
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[: limit * 4]
    )
    called = set(Callback.objects.filter(order_id__in=candidates).values_list("order_id", flat=True))
    wanted = [pk for pk in candidates if pk not in called][:limit]
    visible = _visible_ids(actor, set(wanted))
    found = Order.objects.select_related(*QUEUE_SELECT, "parent").in_bulk(
        [pk for pk in wanted if pk in visible]
    )
    return [found[pk] for pk in wanted if pk in found]


__all__ = [
    "Decision",
    "SimilarOrder",
    "UnitDeadlines",
    "address_suggestions",
    "call_orders",
    "caller_history",
    "deadline_board",
    "delegate_targets",
    "grid_feature",
    "grid_with_parent",
    "handling_unit_ids",
    "merged_awaiting_callback",
    "pending_decisions",
    "reviewable_replies",
    "scored_duplicates",
    "similar_open_orders",
    "suggested_leads",
    "territory_outline",
    "unit_search",
    "with_my_assignments",
]
