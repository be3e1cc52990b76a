"""Dispatch 派单 and the dispatcher's decisions: dispatch (lead + assists), rule on a return,
escalate to the level above, reopen, close."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from catalog.models import CatalogItem
from catalog.selectors import resolve_lead_unit, rule_for
from orders import deadlines, permissions
from orders.choices import Action, AssignmentRole, AssignmentStatus, OrderStatus
from orders.errors import InvalidInput
from orders.models import Assignment, Order, OrderEvent
from orders.services._core import (
    apply_clock,
    begin,
    cancel_active,
    dispatchers,
    move_assignment,
    notify,
    require,
    require_reason,
    sync,
    top_lead,
    transition,
    unit_people,
)
from orders.states import AssignmentAction
from orgs.choices import UnitKind
from orgs.models import Unit, UnitClosure

DISPATCHABLE_ELSEWHERE = frozenset({UnitKind.DEPARTMENT, UnitKind.STATION})


def _check_target(unit: Unit, dispatch_unit_id: int) -> None:
    """A unit may receive an order dispatched at ``dispatch_unit``: an active unit in its subtree,
    or any active department or station (the 条 line takes orders from every level)."""
    if not unit.is_active:
        raise InvalidInput(_("单位「%(n)s」已停用。") % {"n": unit.name})
    if unit.kind in DISPATCHABLE_ELSEWHERE:
        return
    inside = UnitClosure.objects.filter(ancestor_id=dispatch_unit_id, descendant_id=unit.pk).exists()
    if not inside:
        raise InvalidInput(_("单位「%(n)s」不在本级派单范围内。") % {"n": unit.name})


def _next_round(order: Order) -> int:
    top = Assignment.objects.filter(order_id=order.pk).aggregate(r=Max("round"))["r"]
    return int(top or 0) + 1


def limits_for(order: Order, item: CatalogItem | None) -> tuple[deadlines.Limits, Any]:
    """(limits, rule): the responsibility rule's limits for the item where the order is, or the
    configured defaults (by urgency) when there is none."""
    rule = rule_for(item, order.grid) if item is not None else None
    if rule is not None:
        return deadlines.limits_of_rule(rule), rule
    return deadlines.default_limits(order.urgency), None


@transaction.atomic
def order_dispatch(
    *,
    order: Order,
    actor: Any,
    now: dt.datetime,
    lead_unit: Unit | None = None,
    assist_units: Sequence[Unit] | None = None,
    item: CatalogItem | None = None,
    limits: deadlines.Limits | None = None,
    note: str = "",
) -> OrderEvent:
    """Awaiting dispatch → awaiting acceptance: one lead assignment and any assisting ones, each
    with fresh accept-by / contact-by / reply-by from the responsibility list (``limits`` overrides).

    Without ``lead_unit`` the responsibility list suggests one (``catalog.selectors.rule_for`` and
    ``resolve_lead_unit`` for the order's item and grid); without ``assist_units`` the rule's.
    """
    current = begin(order, Action.DISPATCH)
    require(permissions.can_dispatch(actor, current))
    item = item or current.item
    if item is not None and not item.is_active:
        raise InvalidInput(_("事项「%(n)s」已停用。") % {"n": item.name})
    rule_limits, rule = limits_for(current, item)
    lead = lead_unit
    if lead is None and rule is not None:
        lead = resolve_lead_unit(rule, current.grid)
    if lead is None:
        raise InvalidInput(_("请选择主办单位（责任清单未能确定主办单位）。"))
    if assist_units is None:
        assists = [u for u in (rule.assist_units.all() if rule is not None else []) if u.pk != lead.pk]
    else:
        assists = list(assist_units)
    if any(u.pk == lead.pk for u in assists):
        raise InvalidInput(_("协办单位不能与主办单位相同。"))
    if len({u.pk for u in assists}) != len(assists):
        raise InvalidInput(_("协办单位重复。"))
    for unit in [lead, *assists]:
        _check_target(unit, current.dispatch_unit_id)
    use = limits or rule_limits
    round_no = _next_round(current)
    created: list[Assignment] = []
    for unit, role in [(lead, AssignmentRole.LEAD), *[(u, AssignmentRole.ASSIST) for u in assists]]:
        created.append(
            Assignment.objects.create(
                order_id=current.pk,
                unit=unit,
                role=role,
                status=AssignmentStatus.PENDING,
                round=round_no,
                dispatched_by=actor,
                dispatched_at=now,
                limit_unit=use.unit,
                accept_within=use.accept,
                contact_within=use.contact,
                reply_within=use.reply,
            )
        )
    clock = apply_clock(current, [deadlines.op_start(a.pk, use) for a in created], now=now)
    payload = {
        "lead": lead.pk,
        "assists": [u.pk for u in assists],
        "item": item.pk if item else None,
        "rule": rule.pk if rule is not None else None,
        "round": round_no,
        **clock,
    }
    event = transition(
        current,
        Action.DISPATCH,
        actor=actor,
        now=now,
        to_status=OrderStatus.AWAITING_ACCEPTANCE,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES),
        assignment=created[0],
        reason=note.strip(),
        payload=payload,
        fields={"item_id": item.pk if item else None, "first_receiver_unit_id": None},
    )
    notify(event, current, unit_people(*(a.unit_id for a in created)), actor=actor)
    sync(order, current)
    return event


@transaction.atomic
def order_return_uphold(*, order: Order, actor: Any, now: dt.datetime, reason: str = "") -> OrderEvent:
    """The return is right: the lead assignment is returned, every other one cancelled, and the
    order waits for re-dispatch (which gives the next unit fresh limits)."""
    current = begin(order, Action.RETURN_UPHOLD)
    require(permissions.can_rule_return(actor, current))
    lead = top_lead(current)
    if lead is None or lead.status != AssignmentStatus.RETURN_REQUESTED:
        raise InvalidInput(_("没有待审核的退单。"))
    move_assignment(lead, AssignmentAction.RETURN_UPHOLD, now=now)
    cancelled = cancel_active(current, now=now)
    event = transition(
        current,
        Action.RETURN_UPHOLD,
        actor=actor,
        now=now,
        to_status=OrderStatus.AWAITING_DISPATCH,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES),
        assignment=lead,
        reason=(reason or "").strip(),
        payload={"cancelled": cancelled},
        fields={"lead_unit_id": None, "first_receiver_unit_id": None},
    )
    others = Assignment.objects.filter(pk__in=cancelled).values_list("unit_id", flat=True)
    notify(event, current, unit_people(lead.unit_id, *others), actor=actor)
    sync(order, current)
    return event


@transaction.atomic
def order_return_reject(*, order: Order, actor: Any, now: dt.datetime, reason: str) -> OrderEvent:
    """The return is refused: the same unit must accept (its limits run on unchanged)."""
    current = begin(order, Action.RETURN_REJECT)
    require(permissions.can_rule_return(actor, current))
    text = require_reason(reason, what=_("请填写驳回退单的理由。"))
    lead = top_lead(current)
    if lead is None or lead.status != AssignmentStatus.RETURN_REQUESTED:
        raise InvalidInput(_("没有待审核的退单。"))
    move_assignment(lead, AssignmentAction.RETURN_REJECT, now=now)
    event = transition(
        current,
        Action.RETURN_REJECT,
        actor=actor,
        now=now,
        to_status=OrderStatus.AWAITING_ACCEPTANCE,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES),
        assignment=lead,
        reason=text,
    )
    notify(event, current, unit_people(lead.unit_id), actor=actor)
    sync(order, current)
    return event


@transaction.atomic
def order_escalate(*, order: Order, actor: Any, now: dt.datetime, reason: str) -> OrderEvent:
    """上报: the order goes back to awaiting dispatch one level up (the dispatch unit's parent);
    every active assignment is cancelled."""
    current = begin(order, Action.ESCALATE)
    if actor is not None:  # None: the sweep's escalation rule (system)
        require(permissions.can_escalate(actor, current))
    text = require_reason(reason, what=_("请填写上报理由。"))
    level = current.dispatch_unit
    above = level.parent if level is not None else None
    if above is None:
        raise InvalidInput(_("已是最高派单层级，不能再上报。"))
    cancelled = cancel_active(current, now=now)
    event = transition(
        current,
        Action.ESCALATE,
        actor=actor,
        now=now,
        to_status=OrderStatus.AWAITING_DISPATCH,
        actor_unit=permissions.actor_unit(
            actor, level.pk, permissions.DISPATCH_ROLES | permissions.SUPERVISION_ROLES
        )
        if actor is not None
        else None,
        reason=text,
        payload={"from_level": level.pk, "to_level": above.pk, "cancelled": cancelled},
        fields={"dispatch_unit_id": above.pk, "lead_unit_id": None, "first_receiver_unit_id": None},
    )
    notify(event, current, dispatchers(current), actor=actor)
    sync(order, current)
    return event


@transaction.atomic
def order_reopen(
    *, order: Order, actor: Any, now: dt.datetime, reason: str, lead_unit: Unit | None = None
) -> OrderEvent:
    """重办: awaiting callback (a dissatisfied resident) or closed → in progress. The last lead
    unit (or ``lead_unit``) gets a new, accepted assignment with fresh limits."""
    current = begin(order, Action.REOPEN)
    require(permissions.can_reopen(actor, current))
    text = require_reason(reason, what=_("请填写重办理由。"))
    last = (
        Assignment.objects.filter(order_id=current.pk, role=AssignmentRole.LEAD, parent__isnull=True)
        .order_by("-round", "-pk")
        .first()
    )
    unit = lead_unit or (last.unit if last is not None else None)
    if unit is None:
        raise InvalidInput(_("请选择重办的主办单位。"))
    _check_target(unit, current.dispatch_unit_id)
    cancel_active(current, now=now)
    if last is not None and lead_unit is None:
        use = deadlines.Limits(last.limit_unit, last.accept_within, last.contact_within, last.reply_within)
    else:
        use, _rule = limits_for(current, current.item)
    assignment = Assignment.objects.create(
        order_id=current.pk,
        unit=unit,
        role=AssignmentRole.LEAD,
        status=AssignmentStatus.ACCEPTED,
        round=_next_round(current),
        dispatched_by=actor,
        dispatched_at=now,
        accepted_at=now,
        limit_unit=use.unit,
        accept_within=use.accept,
        contact_within=use.contact,
        reply_within=use.reply,
    )
    clock = apply_clock(current, [deadlines.op_start(assignment.pk, use)], now=now)
    event = transition(
        current,
        Action.REOPEN,
        actor=actor,
        now=now,
        to_status=OrderStatus.IN_PROGRESS,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES),
        assignment=assignment,
        reason=text,
        payload={"lead": unit.pk, **clock},
        fields={
            "reopen_count": current.reopen_count + 1,
            "closed_at": None,
            "first_receiver_unit_id": unit.pk,
        },
    )
    notify(event, current, unit_people(unit.pk), actor=actor)
    sync(order, current)
    return event


@transaction.atomic
def order_close(*, order: Order, actor: Any, now: dt.datetime, reason: str) -> OrderEvent:
    """Close without a satisfied callback (resident unreachable, or the dispatcher's decision on a
    dissatisfied one): the reason is required and recorded."""
    current = begin(order, Action.CLOSE)
    require(permissions.can_close(actor, current))
    text = require_reason(reason, what=_("请填写办结理由。"))
    event = transition(
        current,
        Action.CLOSE,
        actor=actor,
        now=now,
        to_status=OrderStatus.CLOSED,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES),
        reason=text,
        fields={"closed_at": now},
    )
    sync(order, current)
    return event
