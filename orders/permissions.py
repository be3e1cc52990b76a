"""Who may do what to an order: ``can_<action>(actor, order[, assignment])`` (STYLE.md rule 13).

Built on the org scope helpers (``orgs.permissions.user_can_act_for`` / ``user_oversees``) and
memberships (roles in ``orgs.choices.Role``):

- **Unit work** (accept, return, delegate, contact, extension and suspension requests, reply)
  belongs to the unit an assignment is addressed to: a member holding ``HANDLING_ROLES`` *at that
  very unit* (SECURITY.md AC-1: "a handler acts only on orders dispatched to their unit"). A
  district's dispatcher handles what is dispatched to the district (and delegates it down).
- **Dispatch work** (dispatch, merge, rule on returns, extensions and suspensions, review the
  lead's reply, reopen, close, withdraw) belongs to dispatchers acting for the order's dispatch
  unit (at it or above it: the city may step in for a district).
- **Intake** (answer directly, submit, withdraw a registered order) belongs to the agent or
  dispatcher acting for the intake unit, or to the person who registered it.
- **Callback** belongs to callback agents acting for the dispatch unit.
- **Supervision** (urge, supervise, escalate): supervisors overseeing the order's grid (location
  axis) or acting for its dispatch unit, and the dispatchers; the first-receiver unit 首接单位 may
  urge the units it coordinates.
- **Reveal** the requester's number: the current holder (a unit with an accepted, active
  assignment), the callback agent while the callback is due; a confidential order only through
  the hotline (``Role.AGENT``).

These functions answer "may" for the actor; the services also check the state. Reads go through
``orders.selectors.orders_visible_to``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orders.choices import AssignmentRole, AssignmentStatus, OrderStatus
from orders.models import Assignment, Order
from orgs.choices import Role
from orgs.models import Membership, Unit, UnitClosure
from orgs.permissions import user_can_act_for, user_oversees
from orgs.selectors import _has_scope, membership_unit_list

HANDLING_ROLES = frozenset({Role.HANDLER, Role.DISPATCHER})
DISPATCH_ROLES = frozenset({Role.DISPATCHER})
INTAKE_ROLES = frozenset({Role.AGENT, Role.DISPATCHER})
CALLBACK_ROLES = frozenset({Role.CALLBACK_AGENT})
HOTLINE_ROLES = frozenset({Role.AGENT})
SUPERVISION_ROLES = frozenset({Role.SUPERVISOR})
# bulk export of the order search (SECURITY.md PI-4): who may ask, and who may approve
EXPORT_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.LEADER})
EXPORT_APPROVER_ROLES = frozenset({Role.LEADER, Role.SUPERVISOR})
# Anyone who may register an order on someone's behalf.
CREATE_ROLES = frozenset({Role.AGENT, Role.DISPATCHER, Role.HANDLER, Role.GRID_WORKER, Role.SECRETARY})


def acts_at(actor: Any, unit: Unit | int | None, roles: Iterable[str] = HANDLING_ROLES) -> bool:
    """A membership with one of ``roles`` at exactly ``unit`` (active unit, active user)."""
    if unit is None or not _has_scope(actor):
        return False
    unit_id = unit if isinstance(unit, int) else unit.pk
    return Membership.objects.filter(
        user_id=actor.pk, unit_id=unit_id, role__in=list(roles), unit__is_active=True
    ).exists()


def acts_for(actor: Any, unit: Unit | None, roles: Iterable[str]) -> bool:
    """A membership with one of ``roles`` at ``unit`` or an ancestor (orgs' holding rule)."""
    return unit is not None and user_can_act_for(actor, unit, roles)


def actor_unit(actor: Any, unit: Unit | int | None, roles: Iterable[str]) -> Unit | None:
    """The unit through which ``actor`` acts for ``unit``: their deepest membership unit with one
    of ``roles`` among ``unit`` and its ancestors (for the timeline's "from which unit")."""
    if unit is None or not _has_scope(actor):
        return None
    unit_id = unit if isinstance(unit, int) else unit.pk
    membership = (
        Membership.objects.filter(
            user_id=actor.pk,
            role__in=list(roles),
            unit__is_active=True,
            unit_id__in=UnitClosure.objects.filter(descendant_id=unit_id).values("ancestor_id"),
        )
        .select_related("unit")
        .order_by("-unit__level")
        .first()
    )
    return membership.unit if membership is not None else None


# --- intake -----------------------------------------------------------------------------------


def actor_has_scope(actor: Any) -> bool:
    """An authenticated, active staff account (the precondition of every ``can_*``)."""
    return _has_scope(actor)


def can_create(actor: Any) -> bool:
    """Staff register orders; residents and integrations create with ``actor=None`` (the channel
    layer authenticates them)."""
    if not _has_scope(actor):
        return False
    return Membership.objects.filter(
        user_id=actor.pk, role__in=list(CREATE_ROLES), unit__is_active=True
    ).exists()


def _intake(actor: Any, order: Order) -> bool:
    if not _has_scope(actor):
        return False
    if order.created_by_id is not None and order.created_by_id == actor.pk:
        return True
    unit = order.intake_unit or order.dispatch_unit
    return acts_for(actor, unit, INTAKE_ROLES)


def can_answer_directly(actor: Any, order: Order) -> bool:
    return _intake(actor, order)


def can_submit(actor: Any, order: Order) -> bool:
    return _intake(actor, order)


def can_withdraw(actor: Any, order: Order) -> bool:
    if order.status == OrderStatus.REGISTERED:
        return _intake(actor, order) or can_dispatch(actor, order)
    return can_dispatch(actor, order)


# --- dispatch -----------------------------------------------------------------------------------


def can_dispatch(actor: Any, order: Order) -> bool:
    return acts_for(actor, order.dispatch_unit, DISPATCH_ROLES)


def can_merge(actor: Any, child: Order, parent: Order) -> bool:
    return can_dispatch(actor, child) and (can_dispatch(actor, parent) or _sees_as_dispatcher(actor, parent))


def _sees_as_dispatcher(actor: Any, order: Order) -> bool:
    """A dispatcher whose scope holds one of the order's assignments may merge into it."""
    if not _has_scope(actor):
        return False
    from orgs.selectors import holding_scope_q

    return Assignment.objects.filter(
        holding_scope_q(actor, "unit", DISPATCH_ROLES), order_id=order.pk
    ).exists()


def can_rule_return(actor: Any, order: Order) -> bool:
    return can_dispatch(actor, order)


def can_reopen(actor: Any, order: Order) -> bool:
    return can_dispatch(actor, order)


def can_close(actor: Any, order: Order) -> bool:
    return can_dispatch(actor, order)


# --- unit work ------------------------------------------------------------------------------------


def can_accept(actor: Any, order: Order, assignment: Assignment) -> bool:
    return assignment.order_id == order.pk and acts_at(actor, assignment.unit_id)


def can_return(actor: Any, order: Order, assignment: Assignment) -> bool:
    return assignment.order_id == order.pk and acts_at(actor, assignment.unit_id)


def can_delegate(actor: Any, order: Order, assignment: Assignment) -> bool:
    return assignment.order_id == order.pk and acts_at(actor, assignment.unit_id)


def can_record_contact(actor: Any, order: Order, assignment: Assignment) -> bool:
    return assignment.order_id == order.pk and acts_at(actor, assignment.unit_id)


def can_reply(actor: Any, order: Order, assignment: Assignment) -> bool:
    return assignment.order_id == order.pk and acts_at(actor, assignment.unit_id)


def can_request_extension(actor: Any, order: Order, assignment: Assignment) -> bool:
    return assignment.order_id == order.pk and acts_at(actor, assignment.unit_id)


def can_request_suspension(actor: Any, order: Order, assignment: Assignment) -> bool:
    return assignment.order_id == order.pk and acts_at(actor, assignment.unit_id)


def _reviewer_unit_id(order: Order, assignment: Assignment) -> int | None:
    """Who reviews an assignment's reply or decides its extension: the parent unit for a
    delegated child, the lead unit for an assist, the dispatch unit for the top lead (None)."""
    if assignment.parent_id is not None:
        parent = Assignment.objects.filter(pk=assignment.parent_id).values_list("unit_id", flat=True).first()
        return int(parent) if parent is not None else None
    if assignment.role == AssignmentRole.ASSIST:
        return order.first_receiver_unit_id or order.lead_unit_id
    return None


def can_review(actor: Any, order: Order, assignment: Assignment) -> bool:
    """The dispatcher reviews the lead's reply; the parent unit a delegated reply; the lead
    (first-receiver) unit an assisting unit's reply."""
    if assignment.order_id != order.pk:
        return False
    reviewer = _reviewer_unit_id(order, assignment)
    if reviewer is None:
        return can_dispatch(actor, order)
    return acts_at(actor, reviewer)


def can_decide_extension(actor: Any, order: Order, assignment: Assignment) -> bool:
    if assignment.order_id != order.pk:
        return False
    if assignment.parent_id is not None:
        reviewer = _reviewer_unit_id(order, assignment)
        return reviewer is not None and acts_at(actor, reviewer)
    return can_dispatch(actor, order)


def can_decide_suspension(actor: Any, order: Order) -> bool:
    return can_dispatch(actor, order)


def can_resume(actor: Any, order: Order) -> bool:
    """The dispatcher, or the lead unit itself once the reason for the suspension is gone."""
    return can_dispatch(actor, order) or acts_at(actor, order.lead_unit_id)


# --- callback ------------------------------------------------------------------------------------


def can_callback(actor: Any, order: Order) -> bool:
    return acts_for(actor, order.dispatch_unit, CALLBACK_ROLES)


# --- supervision -----------------------------------------------------------------------------


def _supervisor(actor: Any, order: Order) -> bool:
    if order.grid is not None and user_oversees(actor, order.grid, SUPERVISION_ROLES):
        return True
    return acts_for(actor, order.dispatch_unit, SUPERVISION_ROLES)


def can_urge(actor: Any, order: Order) -> bool:
    return (
        _supervisor(actor, order)
        or can_dispatch(actor, order)
        or acts_at(actor, order.first_receiver_unit_id)
    )


def can_supervise(actor: Any, order: Order) -> bool:
    return _supervisor(actor, order) or can_dispatch(actor, order)


def can_escalate(actor: Any, order: Order) -> bool:
    return _supervisor(actor, order) or can_dispatch(actor, order)


# --- personal data ----------------------------------------------------------------------------


def holder_units(order: Order) -> list[int]:
    """Units currently working the order: active accepted assignments with no active child."""
    active = Assignment.objects.filter(order_id=order.pk, status=AssignmentStatus.ACCEPTED)
    busy_parents = Assignment.objects.filter(
        order_id=order.pk,
        status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED, AssignmentStatus.REPLIED],
        parent__isnull=False,
    ).values("parent_id")
    return list(active.exclude(pk__in=busy_parents).values_list("unit_id", flat=True))


def can_reveal_phone(actor: Any, order: Order) -> bool:
    """Current holder only; the callback agent while the callback is due; confidential orders
    only through the hotline (agents)."""
    if not _has_scope(actor):
        return False
    if order.confidential:
        return acts_for(actor, order.intake_unit or order.dispatch_unit, HOTLINE_ROLES)
    if order.status == OrderStatus.AWAITING_CALLBACK and can_callback(actor, order):
        return True
    return any(acts_at(actor, unit_id) for unit_id in holder_units(order))


def can_see_requester(actor: Any, order: Order) -> bool:
    """Whether pages may show the requester at all (masked): never to handlers of a confidential
    order; the hotline, dispatchers and callback agents see the masked values."""
    if not order.confidential:
        return True
    unit = order.intake_unit or order.dispatch_unit
    return acts_for(actor, unit, HOTLINE_ROLES | DISPATCH_ROLES | CALLBACK_ROLES)


def can_request_export(actor: Any) -> bool:
    """A dispatcher, supervisor or leader membership at an active unit (from the request's cached
    memberships: no query on a page that has already read them)."""
    return _has_scope(actor) and bool(membership_unit_list(actor, EXPORT_ROLES))
