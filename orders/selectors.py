"""Every read of orders. Every list starts from ``orders_visible_to`` (SECURITY.md AC-1).

The scope (DESIGN.md "The organisation") has two axes:

- **holding** — orders one of whose assignments (current or past) is at a unit in the subtree of
  a unit where the user holds a holding role (``orgs.choices.HOLDING_ROLES``); orders waiting at a
  dispatch level, or registered at an intake unit, in the subtree of a unit where the user is a
  dispatcher, agent or callback agent; and orders the user registered;
- **location** — orders whose grid lies in the territory of a unit where the user holds a
  location role (``LOCATION_ROLES``: leaders, secretaries, supervisors, grid workers, display).

Each is a subquery through ``UnitClosure``; the result is one query without duplicates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from catalog.models import CatalogItem, KnowledgeAnswer
from core.crypto import search_hash
from orders import permissions
from orders.choices import ASSIGNMENT_ACTIVE, OPEN, NotificationChannel, OrderStatus
from orders.models import Assignment, ExportStatus, Notification, Order, OrderEvent, OrderExport
from orgs.choices import HOLDING_ROLES, LOCATION_ROLES, TERRITORIAL_KINDS, Role, UnitKind
from orgs.models import Membership, Unit, UnitClosure
from orgs.selectors import (
    _has_scope,
    holding_subtree_ids,
    holding_subtree_list,
    location_scope_q,
    membership_unit_list,
    subtree_ids_of,
    unit_subtree_ids,
)

QUEUE_SELECT = ("item", "grid", "dispatch_unit", "lead_unit", "holder_unit")
DESK_ROLES = frozenset({Role.DISPATCHER, Role.AGENT, Role.CALLBACK_AGENT})


def orders_visible_to(actor: Any) -> QuerySet[Order]:
    """THE scoping selector: every order ``actor`` may see (holding axis ∪ location axis)."""
    if not _has_scope(actor):
        return Order.objects.none()
    held = holding_subtree_ids(actor)
    desk = holding_subtree_ids(actor, DESK_ROLES)
    # The assignment arm is a correlated EXISTS, last: under an OR, PostgreSQL cannot turn
    # ``pk IN (SELECT order_id ...)`` into a semi-join and re-runs it over every assignment in
    # scope per candidate order (27.8 s for a city dispatcher's queue at 1M orders); the EXISTS
    # probes ``assignment(order_id)`` for the rows the cheap arms did not already admit.
    assigned = Exists(Assignment.objects.filter(order_id=OuterRef("pk"), unit_id__in=held))
    return Order.objects.filter(
        Q(dispatch_unit_id__in=desk)
        | Q(intake_unit_id__in=desk)
        | Q(created_by_id=actor.pk)
        | location_scope_q(actor, "grid")
        | assigned
    )


def _under_units(field: str, units: list[int], **closure: Any) -> Exists:
    """Whether the unit in the outer row's ``field`` lies in the subtree of one of ``units``: a
    probe of that unit's few ancestors (``unitclosure(descendant, ancestor)``)."""
    return Exists(UnitClosure.objects.filter(descendant_id=OuterRef(field), ancestor_id__in=units, **closure))


def orders_visible_among(actor: Any, order_ids: Iterable[int]) -> QuerySet[Order]:
    """``orders_visible_to(actor)`` restricted to a few known ``order_ids`` — the same rule, asked
    the other way round: each arm probes the ancestors of the order's own units instead of listing
    the actor's whole subtree (a city's is every unit: 18,748 at scale 1). For an order page, a
    page of a queue, a few candidates; a long list goes through ``orders_visible_to``.
    ``test_orders_visible_to`` checks that both agree for every role.

    The actor's memberships are read first (one small query) and passed as literals, and an arm
    with no units is left out: behind a subquery PostgreSQL guessed a territory of 580 units and
    hashed the city's 18,748 instead of probing each order's few ancestors (27 ms for a page of
    200 orders on the supervisor board at 1M orders)."""
    ids = list(order_ids)
    if not _has_scope(actor) or not ids:
        return Order.objects.none()
    held = membership_unit_list(actor, HOLDING_ROLES)
    desk = membership_unit_list(actor, DESK_ROLES)
    territory = membership_unit_list(actor, LOCATION_ROLES, territorial_only=True)
    scope = Q(created_by_id=actor.pk)
    if desk:
        scope |= _under_units("dispatch_unit_id", desk) | _under_units("intake_unit_id", desk)
    if territory:
        in_territory = {"descendant__kind__in": TERRITORIAL_KINDS}
        # A station lies in the territory of its street (orgs.selectors.location_scope_q).
        station_in_territory = Exists(
            Unit.objects.filter(pk=OuterRef("grid_id"), kind=UnitKind.STATION).filter(
                _under_units("located_in_id", territory, **in_territory)
            )
        )
        scope |= _under_units("grid_id", territory, **in_territory) | station_in_territory
    if held:
        scope |= Q(
            Exists(Assignment.objects.filter(order_id=OuterRef("pk")).filter(_under_units("unit_id", held)))
        )
    return Order.objects.filter(pk__in=ids).filter(scope)


def order_get_for_user(actor: Any, pk: int) -> tuple[Order, bool]:
    """The order if ``actor`` may see it, and whether they may act on it now (Healthchecks'
    ``_get_check_for_user``). Raises ``Order.DoesNotExist`` otherwise (→ 404, never 403)."""
    order = orders_visible_among(actor, [pk]).select_related(*QUEUE_SELECT, "intake_unit", "parent").get()
    return order, order_can_write(actor, order)


def order_can_write(actor: Any, order: Order) -> bool:
    """Whether some action is open to ``actor`` on ``order`` in its current state."""
    if order.status in (OrderStatus.MERGED, OrderStatus.WITHDRAWN):
        return False
    if permissions.can_dispatch(actor, order):
        return True
    active_units = set(
        Assignment.objects.filter(order_id=order.pk, status__in=list(ASSIGNMENT_ACTIVE)).values_list(
            "unit_id", flat=True
        )
    )
    if any(permissions.acts_at(actor, unit_id) for unit_id in active_units):
        return True
    if order.status == OrderStatus.AWAITING_CALLBACK and permissions.can_callback(actor, order):
        return True
    if order.status == OrderStatus.REGISTERED and permissions.can_submit(actor, order):
        return True
    return order.status in OPEN and permissions.can_urge(actor, order)


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)


def order_list_for_queue(
    actor: Any,
    *,
    queue: str | None = None,
    status: str | Iterable[str] | None = None,
    urgency: str | None = None,
    channel: str | None = None,
    item: CatalogItem | int | None = None,
    unit: Unit | int | None = None,
    location: Unit | int | None = None,
    due_before: dt.datetime | None = None,
    due_after: dt.datetime | None = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
    ordering: str = "created",
) -> QuerySet[Order]:
    """A work queue or filtered list, always within ``orders_visible_to(actor)``.

    ``queue``: ``"mine"`` — orders with an active assignment at a unit where the actor handles;
    ``"dispatch"`` — orders waiting for a dispatcher of the actor's scope (to dispatch, rule on a
    return, review a reply); ``"callback"`` — orders awaiting a callback; None — everything visible.
    ``unit`` filters to orders assigned within that unit's subtree (holding), ``location`` to orders
    whose grid lies in that unit's subtree. ``ordering``: ``"created"`` (newest first) or ``"due"``
    (soonest reply-by first, none last); both end in ``pk`` so the order is stable (cursors).
    """
    # A work queue's own predicate lies inside ``orders_visible_to(actor)`` (its units are among the
    # actor's holding or desk units; ``test_queues_within_scope`` pins it), so a queue starts from
    # that predicate alone: under the scope's OR, PostgreSQL cannot drive the query from the
    # queue's few rows and scans the orders instead (12 s for a street's queue at 1M orders).
    if queue is None:
        qs = orders_visible_to(actor)
    elif not _has_scope(actor):
        qs = Order.objects.none()
    else:
        qs = Order.objects.all()
    # The actor's units are read first and passed as literals: PostgreSQL then estimates the queue
    # from the statistics of those very units (a city's subtree is every unit; a department has
    # 36,000 active assignments, a street 300) and picks the plan for that size; behind a nested
    # subquery it guessed and scanned 1M orders for a street's 20 rows.
    if queue == "mine":
        units = membership_unit_list(actor, permissions.HANDLING_ROLES)
        qs = qs.filter(
            pk__in=Assignment.objects.filter(unit_id__in=units, status__in=list(ASSIGNMENT_ACTIVE)).values(
                "order_id"
            )
        )
    elif queue == "dispatch":
        qs = qs.filter(
            dispatch_unit_id__in=holding_subtree_list(actor, permissions.DISPATCH_ROLES),
            status__in=[
                OrderStatus.AWAITING_DISPATCH,
                OrderStatus.RETURN_REQUESTED,
                OrderStatus.AWAITING_REVIEW,
            ],
        )
    elif queue == "callback":
        qs = qs.filter(
            dispatch_unit_id__in=holding_subtree_list(actor, permissions.CALLBACK_ROLES),
            status=OrderStatus.AWAITING_CALLBACK,
        )
    elif queue is not None:
        raise ValueError(f"unknown queue {queue!r}")
    statuses = _as_list(status)
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    if urgency:
        qs = qs.filter(urgency=urgency)
    if channel:
        qs = qs.filter(channel=channel)
    if item is not None:
        qs = qs.filter(item_id=item if isinstance(item, int) else item.pk)
    if unit is not None:
        qs = qs.filter(
            pk__in=Assignment.objects.filter(unit_id__in=unit_subtree_ids(unit)).values("order_id")
        )
    if location is not None:
        qs = qs.filter(grid_id__in=unit_subtree_ids(location))
    if due_before is not None:
        qs = qs.filter(due_at__lt=due_before)
    if due_after is not None:
        qs = qs.filter(due_at__gte=due_after)
    if created_from is not None:
        qs = qs.filter(created_at__gte=created_from)
    if created_to is not None:
        qs = qs.filter(created_at__lt=created_to)
    qs = qs.select_related(*QUEUE_SELECT)
    if ordering == "due":
        return qs.order_by(F("due_at").asc(nulls_last=True), "pk")
    if ordering == "created":
        return qs.order_by("-created_at", "-pk")
    raise ValueError(f"unknown ordering {ordering!r}")


def order_timeline(order: Order) -> QuerySet[OrderEvent]:
    """The order's events, oldest first, with who and where."""
    return (
        OrderEvent.objects.filter(order_id=order.pk)
        .select_related("actor", "actor_unit", "assignment__unit")
        .order_by("seq")
    )


def order_assignments(order: Order) -> QuerySet[Assignment]:
    return Assignment.objects.filter(order_id=order.pk).select_related("unit").order_by("round", "pk")


# A duplicate matcher registered by an app above orders (insight, in its AppConfig.ready): it
# takes (order, days=, limit=) and returns candidate orders with a score in [0, 1] (or None when
# it had nothing to score on), best first.
# Orders never imports that app (STYLE.md rule 10); without a matcher the simple query serves.
DuplicateMatcher = Callable[..., list[tuple[Order, float | None]]]
_duplicate_matcher: DuplicateMatcher | None = None


def register_duplicate_matcher(matcher: DuplicateMatcher | None) -> DuplicateMatcher | None:
    """Install ``matcher`` behind ``order_duplicate_candidates`` (None: the simple query);
    returns the one it replaces."""
    global _duplicate_matcher
    previous, _duplicate_matcher = _duplicate_matcher, matcher
    return previous


def order_duplicate_candidates_scored(
    order: Order, *, days: int = 30, limit: int = 10
) -> list[tuple[Order, float | None]]:
    """Likely duplicates with the registered matcher's score (None from the simple query:
    open orders of the same item in the same grid, created within ``days``, newest first)."""
    if _duplicate_matcher is not None:
        return [(o, score) for o, score in _duplicate_matcher(order, days=days, limit=limit)[:limit]]
    if order.grid_id is None or order.item_id is None:
        return []
    window = dt.timedelta(days=days)
    found = (
        Order.objects.filter(
            grid_id=order.grid_id,
            item_id=order.item_id,
            status__in=sorted(OPEN),
            parent__isnull=True,
            created_at__gte=order.created_at - window,
            created_at__lte=order.created_at + window,
        )
        .exclude(pk=order.pk)
        .select_related("item", "grid")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [(o, None) for o in found]


def order_duplicate_candidates(order: Order, *, days: int = 30, limit: int = 10) -> list[Order]:
    """Likely duplicates of ``order``, best first (``order_duplicate_candidates_scored`` without
    the scores)."""
    return [o for o, _score in order_duplicate_candidates_scored(order, days=days, limit=limit)]


def order_duplicates_visible_to(
    actor: Any, order: Order, *, days: int = 30, limit: int = 10
) -> list[tuple[Order, float | None]]:
    """``order_duplicate_candidates_scored`` limited to the orders ``actor`` may see, best first.

    The matcher looks across scopes; one query more keeps the candidates ``orders_visible_to``
    admits and reads them back with ``QUEUE_SELECT`` (the pages and the API show their units).
    The score is the matcher's similarity in [0, 1], or None from the simple query (no matcher
    registered) or for a report with no text yet."""
    candidates = order_duplicate_candidates_scored(order, days=days, limit=limit)
    if not candidates:
        return []
    rows = (
        orders_visible_among(actor, [o.pk for o, _score in candidates])
        .select_related(*QUEUE_SELECT)
        .in_bulk()
    )
    return [(rows[o.pk], score) for o, score in candidates if o.pk in rows]


def orders_of_requester(actor: Any, phone: str) -> QuerySet[Order]:
    """The caller's earlier orders (by keyed phone hash), within the actor's scope."""
    digest = search_hash(phone, kind="phone")
    if not digest:
        return Order.objects.none()
    return orders_visible_to(actor).filter(requester_phone_hash=digest).order_by("-created_at", "-pk")


def order_by_number(number: str) -> Order | None:
    """Unscoped lookup by number — for the resident follow-up check only (which then verifies the
    phone's last four digits); never for staff pages."""
    return Order.objects.filter(number=number.strip()).first()


def reply_templates(item: CatalogItem | None, today: dt.date) -> list[KnowledgeAnswer]:
    """Knowledge-base answers attached to the item (valid today): reply templates for handlers."""
    if item is None:
        return []
    return list(
        KnowledgeAnswer.objects.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=today),
            Q(valid_until__isnull=True) | Q(valid_until__gte=today),
            item=item,
        ).order_by("pk")
    )


def inbox_for(user: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first."""
    qs = Notification.objects.filter(recipient_id=user.pk, channel=NotificationChannel.IN_APP).select_related(
        "event__order"
    )
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-pk")


# --- bulk exports (SECURITY.md PI-4) -------------------------------------------------------------


def order_exports_of(actor: Any) -> QuerySet[OrderExport]:
    """The actor's own export requests, newest first (without the files)."""
    if not _has_scope(actor):
        return OrderExport.objects.none()
    return (
        OrderExport.objects.filter(requested_by_id=actor.pk)
        .defer("content")
        .select_related("decided_by")
        .order_by("-created_at", "-pk")
    )


def order_exports_approvable_by(actor: Any) -> QuerySet[OrderExport]:
    """Every export (any status) ``actor`` may decide on: someone else's, whose requester holds an
    export role somewhere and *every* such unit lies at or below a unit where ``actor`` is a
    leader or supervisor (an approver never signs off on a scope wider than their own). Two
    ``EXISTS`` through the closure table; no tree walk."""
    units = membership_unit_list(actor, permissions.EXPORT_APPROVER_ROLES)
    if not units:
        return OrderExport.objects.none()
    exporting = Membership.objects.filter(
        user_id=OuterRef("requested_by_id"), role__in=sorted(permissions.EXPORT_ROLES), unit__is_active=True
    )
    return (
        OrderExport.objects.exclude(requested_by_id=actor.pk)
        .filter(Exists(exporting))
        .exclude(Exists(exporting.exclude(unit_id__in=subtree_ids_of(units))))
    )


def order_exports_pending_for(actor: Any) -> QuerySet[OrderExport]:
    """The pending exports ``actor`` may approve or refuse, oldest first (without the files)."""
    return (
        order_exports_approvable_by(actor)
        .filter(status=ExportStatus.PENDING)
        .defer("content")
        .select_related("requested_by")
        .order_by("created_at", "pk")
    )
