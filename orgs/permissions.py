"""Who may change the tree and memberships, and the two scope booleans other apps build on.

Each app owns its own ``can_<action>``; these are the org-level building blocks:
``user_can_act_for`` (holding axis) and ``user_oversees`` (location axis). See
``orgs.selectors`` for the scope rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.permissions import can_admin
from orgs.choices import HOLDING_ROLES, LOCATION_ROLES
from orgs.models import Membership, Unit, UnitClosure
from orgs.selectors import _has_scope, location_scope_q


def can_manage_units(user: Any) -> bool:
    """The system administrator edits the tree (SECURITY.md AC-3, ``core.permissions``)."""
    return can_admin(user, "orgs.unit", "change")


def can_manage_memberships(user: Any) -> bool:
    """Memberships are roles: only the security administrator grants and revokes them (AC-3)."""
    return can_admin(user, "orgs.membership", "add")


def user_can_act_for(user: Any, unit: Unit, roles: Iterable[str] = HOLDING_ROLES) -> bool:
    """Holding axis: does ``user`` hold one of ``roles`` at ``unit`` or an ancestor? (one query)"""
    if not _has_scope(user):
        return False
    return Membership.objects.filter(
        user_id=user.pk,
        role__in=list(roles),
        unit__is_active=True,
        unit_id__in=UnitClosure.objects.filter(descendant_id=unit.pk).values("ancestor_id"),
    ).exists()


def user_oversees(user: Any, unit: Unit, roles: Iterable[str] = LOCATION_ROLES) -> bool:
    """Location axis: does ``unit`` lie in the territory of one of the user's units? (one query)"""
    if not _has_scope(user):
        return False
    return Unit.objects.filter(location_scope_q(user, "pk", roles), pk=unit.pk).exists()
