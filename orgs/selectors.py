"""Reads of the organisation tree and the two scope axes of DESIGN.md ("The organisation").

Every helper here answers with one query (or returns a lazy queryset / ``Q`` built from
subqueries through ``UnitClosure``), never a Python walk over the tree.

The two axes
------------
**Holding** (handlers, dispatchers, agents, callback agents: ``HOLDING_ROLES``): a user acts for
every unit in the tree-subtree of each active unit where they hold one of those roles. A station
is a child of its department, so a department's members hold for its stations too.

**Location** (leaders, secretaries, supervisors, grid workers, display: ``LOCATION_ROLES``): a
user oversees the *territory* of each active territorial unit (city … building) where they hold
one of those roles. The territory of a territorial unit ``T`` is

- every territorial unit in ``T``'s subtree, and
- every station whose ``located_in`` street is in ``T``'s subtree (a station lies in its street).

Departments (条) have no territory and lie in none: a membership at a department or a station
gives nothing on the location axis, and a department is never inside anyone's territory (a city
department hangs under the city in the tree, but is not *in* the city's territory). Orders are
scoped on this axis by their grid, so only the territorial part matters for them; the station
rule lets a street's secretary find the stations working in the street (whistles, ratings).

Inactive units give no scope; an inactive or anonymous user has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from orgs.choices import HOLDING_ROLES, LOCATION_ROLES, TERRITORIAL_KINDS, UnitKind
from orgs.models import Membership, Unit, UnitClosure


def _has_scope(user: Any) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "pk", None)
    )


# --- tree -----------------------------------------------------------------------------------


def unit_subtree_ids(unit: Unit | int) -> QuerySet[UnitClosure, Any]:
    """A subquery of the ids of ``unit`` and all its descendants (use as ``field__in=``)."""
    pk = unit if isinstance(unit, int) else unit.pk
    return UnitClosure.objects.filter(ancestor_id=pk).values("descendant_id")


def unit_subtree(unit: Unit | int, *, include_self: bool = True) -> QuerySet[Unit]:
    """``unit`` and its descendants (or only the descendants), through the closure table."""
    pk = unit if isinstance(unit, int) else unit.pk
    closure = UnitClosure.objects.filter(ancestor_id=pk)
    if not include_self:
        closure = closure.filter(depth__gt=0)
    return Unit.objects.filter(pk__in=closure.values("descendant_id"))


def unit_ancestors(unit: Unit | int, *, include_self: bool = False) -> QuerySet[Unit]:
    """The ancestors of ``unit``, root first."""
    pk = unit if isinstance(unit, int) else unit.pk
    closure = UnitClosure.objects.filter(descendant_id=pk)
    if not include_self:
        closure = closure.filter(depth__gt=0)
    return Unit.objects.filter(pk__in=closure.values("ancestor_id")).order_by("level")


def unit_path(unit: Unit) -> str:
    """The unit's full name path, root first: ``测试市 / 东城区 / 东华门街道``."""
    return " / ".join(u.name for u in unit_ancestors(unit, include_self=True).only("name"))


# --- memberships ----------------------------------------------------------------------------


def _membership_unit_ids(
    user: Any, roles: Iterable[str], *, territorial_only: bool = False
) -> QuerySet[Membership, Any]:
    """Subquery of the active units where ``user`` holds one of ``roles``."""
    qs = Membership.objects.filter(user_id=user.pk, role__in=list(roles), unit__is_active=True)
    if territorial_only:
        qs = qs.filter(unit__kind__in=TERRITORIAL_KINDS)
    return qs.values("unit_id")


def membership_rows(user: Any) -> list[tuple[int, str, str]]:
    """``(unit id, role, unit kind)`` of every membership of ``user`` at an active unit: one small
    query, kept on the user object for the rest of the request (a page asks for several role
    sets). Empty for an inactive or anonymous user."""
    if not _has_scope(user):
        return []
    rows: list[tuple[int, str, str]] | None = getattr(user, "_minhu_membership_rows", None)
    if rows is None:
        rows = list(
            Membership.objects.filter(user_id=user.pk, unit__is_active=True)
            .order_by("unit_id", "role")
            .values_list("unit_id", "role", "unit__kind")
        )
        user._minhu_membership_rows = rows
    return rows


def membership_unit_list(user: Any, roles: Iterable[str], *, territorial_only: bool = False) -> list[int]:
    """The active units where ``user`` holds one of ``roles`` (from ``membership_rows``), to pass
    on as literals.

    PostgreSQL estimates ``ancestor_id IN (1)`` from the statistics of that very unit (a city's
    subtree is every unit, a street's a few dozen) and plans for that size; behind a nested
    subquery it guessed 580 units whoever asked, and a city desk's queues scanned or hashed the
    wrong side (a dispatcher's desk 460 ms, the callback queue 320 ms at 1M orders)."""
    wanted = frozenset(roles)
    return sorted(
        {
            unit_id
            for unit_id, role, kind in membership_rows(user)
            if role in wanted and (not territorial_only or kind in TERRITORIAL_KINDS)
        }
    )


def subtree_ids_of(unit_ids: Iterable[int]) -> QuerySet[UnitClosure, Any]:
    """Subquery: ids of every unit in the subtrees of ``unit_ids`` (literals)."""
    return UnitClosure.objects.filter(ancestor_id__in=list(unit_ids)).values("descendant_id")


def holding_subtree_list(user: Any, roles: Iterable[str] = HOLDING_ROLES) -> QuerySet[UnitClosure, Any]:
    """``holding_subtree_ids`` with the user's units read first (``membership_unit_list``) and
    passed as literals: for the queues that start from it (a dispatch level, a callback desk)."""
    return subtree_ids_of(membership_unit_list(user, roles))


def units_held_by(user: Any, roles: Iterable[str] = HOLDING_ROLES) -> QuerySet[Unit]:
    """The units a user acts for directly: their active membership units with one of ``roles``."""
    if not _has_scope(user):
        return Unit.objects.none()
    return Unit.objects.filter(pk__in=_membership_unit_ids(user, roles))


def units_overseen_by(user: Any, roles: Iterable[str] = LOCATION_ROLES) -> QuerySet[Unit]:
    """The territorial units whose territory a user oversees directly (departments give none)."""
    if not _has_scope(user):
        return Unit.objects.none()
    return Unit.objects.filter(pk__in=_membership_unit_ids(user, roles, territorial_only=True))


def holding_subtree_ids(user: Any, roles: Iterable[str] = HOLDING_ROLES) -> QuerySet[UnitClosure, Any]:
    """Subquery: ids of every unit in the subtree of the units ``user`` holds with ``roles``."""
    return UnitClosure.objects.filter(ancestor_id__in=_membership_unit_ids(user, roles)).values(
        "descendant_id"
    )


def holding_scope_q(user: Any, field: str, roles: Iterable[str] = HOLDING_ROLES) -> Q:
    """Filter any model's FK-to-Unit ``field`` to the holding scope of ``user`` (one query).

    ``Order.objects.filter(holding_scope_q(user, "assignments__unit"))`` — or ``"pk"`` on Unit.
    """
    if not _has_scope(user):
        return Q(pk__in=[])
    return Q(**{f"{field}__in": holding_subtree_ids(user, roles)})


def location_subqueries(
    user: Any, roles: Iterable[str] = LOCATION_ROLES
) -> tuple[QuerySet[UnitClosure, Any], QuerySet[Unit, Any]]:
    """The two id subqueries of a user's territory: territorial units, and stations located there."""
    territorial = UnitClosure.objects.filter(
        ancestor_id__in=_membership_unit_ids(user, roles, territorial_only=True),
        descendant__kind__in=TERRITORIAL_KINDS,
    ).values("descendant_id")
    stations = Unit.objects.filter(kind=UnitKind.STATION, located_in_id__in=territorial).values("pk")
    return territorial, stations


def location_scope_q(user: Any, field: str, roles: Iterable[str] = LOCATION_ROLES) -> Q:
    """Filter any model's FK-to-Unit ``field`` to the territory ``user`` oversees (one query).

    ``Order.objects.filter(location_scope_q(user, "grid"))``. See the module docstring for the
    territory rule (territorial subtree plus the stations located in it).
    """
    if not _has_scope(user):
        return Q(pk__in=[])
    territorial, stations = location_subqueries(user, roles)
    return Q(**{f"{field}__in": territorial}) | Q(**{f"{field}__in": stations})


def user_roles_in(user: Any, unit: Unit) -> frozenset[str]:
    """The roles of ``user`` that apply at ``unit`` (one query).

    A role applies when the user holds it at ``unit`` or an ancestor — except the location roles,
    which apply where the unit lies in the territory of the membership's unit (so a location role
    at a department applies nowhere, and one at a street applies to the stations located there).
    """
    if not _has_scope(user):
        return frozenset()
    tree_ancestors = UnitClosure.objects.filter(descendant_id=unit.pk).values("ancestor_id")
    location_roles = list(LOCATION_ROLES)
    if unit.kind in TERRITORIAL_KINDS:
        anchor: int | None = unit.pk
    elif unit.kind == UnitKind.STATION:
        anchor = unit.located_in_id
    else:
        anchor = None
    applies = Q(unit_id__in=tree_ancestors) & ~Q(role__in=location_roles)
    if anchor is not None:
        territory_ancestors = UnitClosure.objects.filter(descendant_id=anchor).values("ancestor_id")
        applies |= Q(
            unit_id__in=territory_ancestors, role__in=location_roles, unit__kind__in=TERRITORIAL_KINDS
        )
    roles = (
        Membership.objects.filter(applies, user_id=user.pk, unit__is_active=True)
        .values_list("role", flat=True)
        .distinct()
    )
    return frozenset(roles)
