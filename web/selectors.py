"""Reads the page shell needs: the signed-in user's units and roles, the unread count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orgs.models import Membership


@dataclass(frozen=True)
class UnitRole:
    unit_id: int
    unit_name: str
    role: str
    role_label: str


def user_unit_roles(user: Any) -> list[UnitRole]:
    """The user's memberships (unit + role), one query, ordered by unit code then role."""
    if not getattr(user, "is_authenticated", False):
        return []
    rows = (
        Membership.objects.filter(user=user, unit__is_active=True)
        .select_related("unit")
        .order_by("unit__code", "role")
    )
    return [
        UnitRole(unit_id=m.unit_id, unit_name=m.unit.name, role=m.role, role_label=str(m.get_role_display()))
        for m in rows
    ]


def unread_notification_count(user: Any) -> int | None:
    """Unread notifications of ``user``; ``None`` while no notification inbox exists.

    The notifications workbench replaces the inside of this function (its callers, the top bar
    slot and its polling endpoint, stay as they are).
    """
    if not getattr(user, "is_authenticated", False):
        return None
    from orders.selectors import inbox_for

    return inbox_for(user, unread_only=True).count()
