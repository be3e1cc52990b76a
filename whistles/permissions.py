"""Who may do what in 吹哨报到: ``can_<action>(actor, obj)`` (STYLE.md rule 13).

Built on memberships (roles in ``orgs.choices.Role``) and the org scope helpers:

- **The whistle's own work** (blow, assign tasks, close and rate, cancel) belongs to the street or
  community that blows: a member holding ``WHISTLE_ROLES`` (secretary 书记, leader, handler) *at
  that very unit*.
- **A summons' work** (acknowledge, check in, reply to tasks) belongs to the summoned department
  or station: a member holding ``SUMMONS_ROLES`` (handler, dispatcher, leader) at the summoned
  unit or at the department above a station (the holding rule of ``orgs``, limited to 条 units,
  so a territorial dispatcher never answers for a department).
- **Seeing** a whistle (``whistles.selectors.whistles_visible_to``): the territory it lies in
  (location roles), the units holding it (the blowing unit's subtree), and the departments it
  summons.

Views and the API call these to decide what to show; the services check them again.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from orgs.choices import Role, UnitKind
from orgs.models import Membership, Unit, UnitClosure
from orgs.selectors import _has_scope
from whistles.models import Summons, Whistle, WhistleTask

WHISTLE_ROLES = frozenset({Role.SECRETARY, Role.LEADER, Role.HANDLER})
SUMMONS_ROLES = frozenset({Role.HANDLER, Role.DISPATCHER, Role.LEADER})
BLOWING_KINDS = frozenset({UnitKind.STREET, UnitKind.COMMUNITY})
SUMMONABLE_KINDS = frozenset({UnitKind.DEPARTMENT, UnitKind.STATION})


def blowing_units(actor: Any) -> QuerySet[Unit]:
    """The streets and communities ``actor`` may blow whistles for."""
    if not _has_scope(actor):
        return Unit.objects.none()
    return Unit.objects.filter(
        is_active=True,
        kind__in=BLOWING_KINDS,
        pk__in=Membership.objects.filter(user_id=actor.pk, role__in=list(WHISTLE_ROLES)).values("unit_id"),
    ).order_by("code")


def _acts_at(actor: Any, unit_id: int, roles: frozenset[str]) -> bool:
    if not _has_scope(actor):
        return False
    return Membership.objects.filter(
        user_id=actor.pk, unit_id=unit_id, role__in=list(roles), unit__is_active=True
    ).exists()


def can_blow(actor: Any, unit: Unit) -> bool:
    return unit.kind in BLOWING_KINDS and unit.is_active and _acts_at(actor, unit.pk, WHISTLE_ROLES)


def can_manage(actor: Any, whistle: Whistle) -> bool:
    """Assign tasks, close and rate, cancel: the blowing unit's secretary, leader or handler."""
    return _acts_at(actor, whistle.unit_id, WHISTLE_ROLES)


def department_membership_unit_ids(actor: Any) -> QuerySet[Membership, Any]:
    """Subquery: the departments and stations where ``actor`` holds a summons role."""
    return Membership.objects.filter(
        user_id=actor.pk,
        role__in=list(SUMMONS_ROLES),
        unit__is_active=True,
        unit__kind__in=SUMMONABLE_KINDS,
    ).values("unit_id")


def summons_unit_ids(actor: Any) -> QuerySet[UnitClosure, Any]:
    """Subquery: the units whose summonses ``actor`` answers (their departments and stations,
    and the stations below their departments)."""
    return UnitClosure.objects.filter(ancestor_id__in=department_membership_unit_ids(actor)).values(
        "descendant_id"
    )


def can_act_for_unit(actor: Any, unit_id: int) -> bool:
    if not _has_scope(actor):
        return False
    return UnitClosure.objects.filter(
        descendant_id=unit_id, ancestor_id__in=department_membership_unit_ids(actor)
    ).exists()


def can_acknowledge(actor: Any, summons: Summons) -> bool:
    return can_act_for_unit(actor, summons.unit_id)


def can_check_in(actor: Any, summons: Summons) -> bool:
    return can_act_for_unit(actor, summons.unit_id)


def can_assign_task(actor: Any, summons: Summons, whistle: Whistle) -> bool:
    return summons.whistle_id == whistle.pk and can_manage(actor, whistle)


def can_reply_task(actor: Any, task: WhistleTask, summons: Summons) -> bool:
    return task.summons_id == summons.pk and can_act_for_unit(actor, summons.unit_id)


def can_close(actor: Any, whistle: Whistle) -> bool:
    return can_manage(actor, whistle)


def can_cancel(actor: Any, whistle: Whistle) -> bool:
    return can_manage(actor, whistle)


def can_view(actor: Any, whistle: Whistle) -> bool:
    from whistles.selectors import whistles_visible_to

    return whistles_visible_to(actor).filter(pk=whistle.pk).exists()
