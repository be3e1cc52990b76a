"""The machinery every transition shares (STYLE.md rule 6).

A service runs in one transaction and, in this order:

1. ``begin`` — reloads the order (``SELECT … FOR UPDATE`` on PostgreSQL), refuses a stale caller
   (``StaleTransition`` when the caller's version is not the stored one) and a wrong state
   (``TransitionNotAllowed`` from ``orders.states.TRANSITIONS``);
2. checks permission (``require`` → ``PermissionDenied``) and input (``InvalidInput``);
3. changes assignments with their own conditional UPDATE (``move_assignment``);
4. applies clock operations (``apply_clock``: the same pure code replay uses);
5. ``transition`` — the conditional UPDATE ``WHERE pk, status, version`` that moves the order and
   bumps ``last_seq`` (and ``version``, except for the events in ``RECORDS`` that only record
   something), then appends the ``OrderEvent`` with that seq;
6. writes outbox rows (``notify``) and schedules prompt delivery after commit.

Any error propagates and the transaction rolls back: an illegal action changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from core.workcalendar import WorkCalendar, load_calendar
from orders import deadlines, notifications, permissions
from orders.choices import (
    ASSIGNMENT_ACTIVE,
    TERMINAL,
    WITH_LEAD,
    Action,
    AssignmentRole,
    AssignmentStatus,
    EventType,
    OrderStatus,
)
from orders.errors import InvalidInput, StaleTransition, TransitionNotAllowed
from orders.models import Assignment, Order, OrderEvent
from orders.states import ASSIGNMENT_TRANSITIONS, TRANSITIONS, AssignmentAction

REASON_MAX = 2000
# Events that only record something (no state, assignment, deadline or answer changes): they
# extend the timeline but leave ``version`` alone, so a page opened before an automatic warning or
# someone's urging can still act without "refresh and retry".
RECORDS = frozenset(
    {
        EventType.PHONE_REVEALED,
        EventType.URGED,
        EventType.SUPERVISED,
        EventType.DEADLINE_WARNING,
        EventType.CHILD_MERGED,
        EventType.ATTACHMENT_ADDED,
        EventType.CALLBACK_MERGED,
    }
)


def require(allowed: bool, message: str | None = None) -> None:
    if not allowed:
        raise PermissionDenied(message or _("您没有权限对该工单执行此操作。"))


def require_reason(reason: str, *, what: str | None = None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(what or _("请填写理由。"))
    if len(text) > REASON_MAX:
        raise InvalidInput(_("理由不能超过%(n)d个字。") % {"n": REASON_MAX})
    return text


def status_label(status: str) -> str:
    try:
        return str(OrderStatus(status).label)
    except ValueError:
        return status


def _locked_queryset() -> Any:
    qs = Order.objects.all()
    if connection.features.has_select_for_update:
        qs = qs.select_for_update(of=("self",))
    return qs


def begin(order: Order, action: Action | None) -> Order:
    """Reload and lock the order; refuse a stale caller or a state ``action`` does not start from."""
    current: Order = _locked_queryset().get(pk=order.pk)
    if current.version != order.version:
        raise StaleTransition()
    if action is not None:
        sources, _targets = TRANSITIONS[action]
        if current.status not in sources:
            raise TransitionNotAllowed(
                _("工单当前为「%(status)s」，不能%(action)s。")
                % {"status": status_label(current.status), "action": Action(action).label},
                action=str(action),
                status=current.status,
            )
    return current


def sync(target: Order, source: Order) -> None:
    """Copy the stored state onto the caller's instance so it can chain the next call."""
    for field in Order._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    # drop cached relations whose ids may have changed
    for name in (
        "lead_unit",
        "holder_unit",
        "dispatch_unit",
        "first_receiver_unit",
        "parent",
        "item",
        "grid",
    ):
        target._state.fields_cache.pop(name, None)


# --- assignments ----------------------------------------------------------------------------------


def move_assignment(
    assignment: Assignment, action: AssignmentAction, *, now: dt.datetime, **fields: Any
) -> Assignment:
    """Move an assignment along ``ASSIGNMENT_TRANSITIONS`` with a conditional UPDATE."""
    sources, target = ASSIGNMENT_TRANSITIONS[action]
    if assignment.status not in sources:
        raise TransitionNotAllowed(
            _("派单记录当前为「%(status)s」，不能%(action)s。")
            % {"status": AssignmentStatus(assignment.status).label, "action": action.label},
            action=str(action),
            status=assignment.status,
        )
    if target in (AssignmentStatus.RETURNED, AssignmentStatus.CANCELLED):
        fields.setdefault("ended_at", now)
    updated = Assignment.objects.filter(
        pk=assignment.pk, status=assignment.status, version=assignment.version
    ).update(status=target, version=F("version") + 1, **fields)
    if updated != 1:
        raise StaleTransition()
    assignment.status = target
    assignment.version += 1
    for name, value in fields.items():
        setattr(assignment, name, value)
    return assignment


def cancel_active(order: Order, *, now: dt.datetime, keep: Iterable[int] = ()) -> list[int]:
    """Cancel every active assignment of the order (re-dispatch, escalation, merge, end of round)."""
    kept = set(keep)
    cancelled: list[int] = []
    for a in Assignment.objects.filter(order_id=order.pk, status__in=list(ASSIGNMENT_ACTIVE)).order_by("pk"):
        if a.pk in kept:
            continue
        move_assignment(a, AssignmentAction.CANCEL, now=now)
        cancelled.append(a.pk)
    return cancelled


def assignment_of(order: Order, assignment: Assignment | int) -> Assignment:
    """The stored assignment (fresh), which must belong to ``order``."""
    pk = assignment if isinstance(assignment, int) else assignment.pk
    found = Assignment.objects.select_related("unit").filter(pk=pk, order_id=order.pk).first()
    if found is None:
        raise InvalidInput(_("派单记录不属于该工单。"))
    return found


def pick_assignment(
    order: Order, actor: Any, assignment: Assignment | int | None, statuses: Iterable[str]
) -> Assignment:
    """The given assignment, or the one in ``statuses`` at a unit where the actor handles."""
    if assignment is not None:
        return assignment_of(order, assignment)
    wanted = list(statuses)
    candidates = [
        a
        for a in Assignment.objects.select_related("unit")
        .filter(order_id=order.pk, status__in=wanted)
        .order_by("pk")
        if permissions.acts_at(actor, a.unit_id)
    ]
    if not candidates:
        raise PermissionDenied(_("该工单没有派给您所在单位的待办记录。"))
    if len(candidates) > 1:
        raise InvalidInput(_("该工单派给了您所在的多个单位，请指明派单记录。"))
    return candidates[0]


def top_lead(order: Order) -> Assignment | None:
    return (
        Assignment.objects.select_related("unit")
        .filter(
            order_id=order.pk,
            role=AssignmentRole.LEAD,
            parent__isnull=True,
            status__in=list(ASSIGNMENT_ACTIVE),
        )
        .first()
    )


def lead_chain(order: Order) -> list[Assignment]:
    """The active lead chain, top first (empty when no active top lead)."""
    rows = list(
        Assignment.objects.select_related("unit").filter(
            order_id=order.pk, role=AssignmentRole.LEAD, status__in=list(ASSIGNMENT_ACTIVE)
        )
    )
    by_parent = {a.parent_id: a for a in rows}
    chain: list[Assignment] = []
    node = by_parent.get(None)
    while node is not None:
        chain.append(node)
        node = by_parent.get(node.pk)
    return chain


def derived_fields(order: Order, status: str) -> dict[str, Any]:
    """holder_unit, due_at (and lead_unit while there is a top lead) implied by the assignments."""
    if status in TERMINAL:
        return {"holder_unit_id": None, "due_at": None}
    chain = lead_chain(order) if status in WITH_LEAD else []
    if not chain:
        return {"holder_unit_id": order.dispatch_unit_id, "due_at": None}
    top = chain[0]
    fields: dict[str, Any] = {"lead_unit_id": top.unit_id, "due_at": top.reply_by}
    if top.status in (AssignmentStatus.RETURN_REQUESTED, AssignmentStatus.REPLIED):
        fields["holder_unit_id"] = order.dispatch_unit_id
        return fields
    deepest = chain[-1]
    if deepest.status == AssignmentStatus.REPLIED and len(chain) > 1:
        fields["holder_unit_id"] = chain[-2].unit_id
    else:
        fields["holder_unit_id"] = deepest.unit_id
    return fields


# --- clocks -------------------------------------------------------------------------------------


def apply_clock(
    order: Order, ops: Sequence[deadlines.ClockOp], *, now: dt.datetime, calendar: WorkCalendar | None = None
) -> dict[str, Any]:
    """Apply clock operations to the stored assignments at ``now``; returns the event payload part
    (``clock``, ``deadlines``, ``calendar_version``)."""
    if not ops:
        return {}
    cal = calendar or load_calendar()
    rows = {a.pk: a for a in Assignment.objects.filter(order_id=order.pk)}
    state = {pk: deadlines.clock_of(a) for pk, a in rows.items()}
    changed = deadlines.apply_ops(state, ops, at=now, calendar=cal)
    for pk, clock in changed.items():
        Assignment.objects.filter(pk=pk).update(
            **{name: getattr(clock, name) for name in deadlines.CLOCK_FIELDS}
        )
    return {
        "clock": [dict(op) for op in ops],
        "deadlines": deadlines.deadlines_payload(changed),
        "calendar_version": cal.version,
    }


# --- the transition itself ------------------------------------------------------------------------


def transition(
    current: Order,
    action: Action | EventType | str,
    *,
    actor: Any,
    now: dt.datetime,
    to_status: str | None = None,
    actor_unit: Any = None,
    assignment: Assignment | None = None,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
    fields: Mapping[str, Any] | None = None,
    derive: bool = True,
) -> OrderEvent:
    """Move ``current`` (a row from ``begin``) to ``to_status`` (default: stay) with a conditional
    UPDATE on (pk, status, version), then append the event. Refuses what the table does not allow."""
    target = to_status or current.status
    if action in TRANSITIONS:
        sources, targets = TRANSITIONS[Action(action)]
        if current.status not in sources or target not in targets:
            raise TransitionNotAllowed(action=str(action), status=current.status)
    values: dict[str, Any] = dict(fields or {})
    if "dispatch_unit_id" in values:
        current.dispatch_unit_id = values["dispatch_unit_id"]
    if derive:
        for name, value in derived_fields(current, target).items():
            values.setdefault(name, value)
    bump = str(action) not in RECORDS
    if bump:
        values["version"] = F("version") + 1
    updated = Order.objects.filter(pk=current.pk, status=current.status, version=current.version).update(
        status=target, last_seq=F("last_seq") + 1, updated_at=now, **values
    )
    if updated != 1:
        raise StaleTransition()
    seq = current.last_seq + 1
    event = OrderEvent.objects.create(
        order_id=current.pk,
        seq=seq,
        type=str(action),
        actor=actor if getattr(actor, "pk", None) else None,
        # a unit or its id (an id saves loading the unit just to name it)
        actor_unit_id=actor_unit if isinstance(actor_unit, int) else getattr(actor_unit, "pk", None),
        assignment=assignment,
        from_status=current.status,
        to_status=target,
        reason=reason,
        payload=dict(payload or {}),
        occurred_at=now,
    )
    current.status = target
    if bump:
        current.version += 1
    current.last_seq = seq
    current.updated_at = now
    for name, value in values.items():
        if name != "version":
            setattr(current, name, value)
    for name in ("lead_unit", "holder_unit", "dispatch_unit", "first_receiver_unit", "parent"):
        current._state.fields_cache.pop(name, None)
    return event


def notify(
    event: OrderEvent, current: Order, recipients: Iterable[Any], *, actor: Any, body: str = ""
) -> None:
    """Outbox rows now, prompt delivery after commit (the periodic task catches the rest)."""
    rows = notifications.record_for(event, recipients, number=current.number, body=body, exclude=actor)
    if rows:
        schedule_delivery([event.pk])


def schedule_delivery(event_ids: list[int]) -> None:
    """Deliver these events' outbox rows once the transaction commits (one task per event)."""

    def deliver() -> None:
        from orders.tasks import deliver_notifications

        for event_id in event_ids:
            deliver_notifications(event_id)

    transaction.on_commit(deliver)


# --- recipients -----------------------------------------------------------------------------------


def unit_people(*unit_ids: int | None) -> list[Any]:
    return notifications.users_at(unit_ids, permissions.HANDLING_ROLES)


def dispatchers(order: Order) -> list[Any]:
    return notifications.users_nearest(order.dispatch_unit_id, permissions.DISPATCH_ROLES)


def callback_agents(order: Order) -> list[Any]:
    return notifications.users_nearest(order.dispatch_unit_id, permissions.CALLBACK_ROLES)
