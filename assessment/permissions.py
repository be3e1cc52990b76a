"""Who may see and do what in the assessment (``can_<action>``; services check them again).

- Figures of a unit (rates, time measures): whoever oversees it on the location axis (leaders,
  secretaries, supervisors …), whoever acts for it on the holding axis (its handlers and
  dispatchers, and those of units above it), its business administrators.
- Rankings and the monthly briefing of a scope (a city or district): whoever may see the scope's
  figures, and every member of a unit inside it — the briefing 通报 is published to all of them.
- Appeals 申诉: a handler (or dispatcher) acting for a unit the order is assessed against (any
  unit that held one of its lead assignments, or the street or community where the problem is).
  The centre rules: a dispatcher or business administrator acting for the order's dispatch
  level, who is not a member of the appealing unit itself.
- Factors: the system administrator, or a business administrator of the city; only the system
  administrator moves the floor of the streets' rating weight.
- The streets' evaluation of departments: a secretary or leader of the street.
"""

from __future__ import annotations

from typing import Any

from core.models.user import AdminRole
from core.permissions import user_admin_role
from orgs.choices import HOLDING_ROLES, Role, UnitKind
from orgs.models import Membership, Unit, UnitClosure
from orgs.permissions import user_can_act_for, user_oversees

ADMIN_ROLES = frozenset({Role.ADMINISTRATOR})
VIEW_HOLDING_ROLES = HOLDING_ROLES | ADMIN_ROLES
APPEAL_ROLES = frozenset({Role.HANDLER, Role.DISPATCHER})
RULING_ROLES = frozenset({Role.DISPATCHER, Role.ADMINISTRATOR})
EVALUATION_ROLES = frozenset({Role.SECRETARY, Role.LEADER})
EVALUATING_KINDS = frozenset({UnitKind.STREET})
EVALUATED_KINDS = frozenset({UnitKind.DEPARTMENT, UnitKind.STATION})


def _has_scope(actor: Any) -> bool:
    return bool(
        actor is not None
        and getattr(actor, "is_authenticated", False)
        and getattr(actor, "is_active", False)
        and getattr(actor, "pk", None)
    )


def is_system_admin(actor: Any) -> bool:
    return user_admin_role(actor) == AdminRole.SYSTEM


def can_view_unit(actor: Any, unit: Unit) -> bool:
    """May ``actor`` see the figures of ``unit`` (and of its subtree)?"""
    if not _has_scope(actor):
        return False
    return user_oversees(actor, unit) or user_can_act_for(actor, unit, VIEW_HOLDING_ROLES)


def can_view_rankings(actor: Any, scope: Unit) -> bool:
    """May ``actor`` see the rankings and briefing of ``scope``?"""
    if not _has_scope(actor):
        return False
    if can_view_unit(actor, scope):
        return True
    inside = UnitClosure.objects.filter(ancestor_id=scope.pk).values("descendant_id")
    return Membership.objects.filter(user_id=actor.pk, unit__is_active=True, unit_id__in=inside).exists()


def can_submit_appeal(actor: Any, unit: Unit) -> bool:
    """May ``actor`` appeal in the name of ``unit``? (Whether the order is assessed against the
    unit is the service's check.)"""
    return _has_scope(actor) and user_can_act_for(actor, unit, APPEAL_ROLES)


def can_rule_appeal(actor: Any, *, dispatch_unit: Unit, appealing_unit_id: int) -> bool:
    """The centre: a dispatcher or business administrator for the order's dispatch level, not
    a member of the unit that appealed (nobody rules on their own unit's appeal)."""
    if not _has_scope(actor):
        return False
    if Membership.objects.filter(user_id=actor.pk, unit_id=appealing_unit_id).exists():
        return False
    return user_can_act_for(actor, dispatch_unit, RULING_ROLES)


def can_view_all_appeals(actor: Any, scope: Unit) -> bool:
    """The centre (and system administrators) see every appeal in a scope."""
    if not _has_scope(actor):
        return False
    return is_system_admin(actor) or user_can_act_for(actor, scope, RULING_ROLES)


def can_configure(actor: Any, city: Unit, *, floor: bool = False) -> bool:
    """Factors of ``city``: the system administrator; a city business administrator for all but
    the floor of the rating weight."""
    if not _has_scope(actor):
        return False
    if is_system_admin(actor):
        return True
    if floor:
        return False
    return Membership.objects.filter(
        user_id=actor.pk, unit_id=city.pk, role__in=list(ADMIN_ROLES), unit__is_active=True
    ).exists()


def can_evaluate_department(actor: Any, rater_unit: Unit) -> bool:
    """A secretary or leader of the street itself."""
    if not _has_scope(actor) or rater_unit.kind not in EVALUATING_KINDS:
        return False
    return Membership.objects.filter(
        user_id=actor.pk, unit_id=rater_unit.pk, role__in=list(EVALUATION_ROLES), unit__is_active=True
    ).exists()
