"""Supervision 督办: urge, formal supervision with its own deadline, deadline recomputation after
a calendar change, and the periodic deadline sweep (warnings, automatic urging, escalation)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from core.workcalendar import WORKING_DAYS, WorkCalendar, load_calendar
from orders import deadlines, permissions
from orders.choices import (
    ASSIGNMENT_ACTIVE,
    OPEN,
    Action,
    AssignmentRole,
    AssignmentStatus,
    DeadlineKind,
    EventType,
    OrderStatus,
    SupervisionStatus,
    WarningLevel,
)
from orders.errors import InvalidInput, OrderError
from orders.models import Assignment, DeadlineWarning, Order, OrderEvent, Supervision
from orders.services._core import (
    _locked_queryset,
    begin,
    dispatchers,
    notify,
    require,
    require_reason,
    sync,
    transition,
    unit_people,
)
from orgs.models import Unit

logger = logging.getLogger("orders.sweep")

DEFAULT_SUPERVISION_DAYS = 2
DEFAULT_YELLOW_FRACTION = 0.8
DEFAULT_HORIZON_HOURS = 24 * 14
DEFAULT_ESCALATE_OVERDUE_HOURS = 72


def _active_units(order: Order) -> list[int]:
    """Units with a pending or accepted assignment (those being urged)."""
    return list(
        Assignment.objects.filter(
            order_id=order.pk, status__in=[AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED]
        ).values_list("unit_id", flat=True)
    )


@transaction.atomic
def order_urge(
    *, order: Order, actor: Any, now: dt.datetime, message: str, unit: Unit | None = None
) -> OrderEvent:
    """催办: remind the units working the order (or one of them, or the dispatchers while it
    waits for dispatch). ``actor=None`` is the sweep's automatic urging."""
    current = begin(order, Action.URGE)
    if actor is not None:
        require(permissions.can_urge(actor, current))
    text = require_reason(message, what=_("请填写催办内容。"))
    units = _active_units(current)
    if unit is not None:
        if unit.pk not in units:
            raise InvalidInput(_("该单位没有在办此工单。"))
        units = [unit.pk]
    event = transition(
        current,
        Action.URGE,
        actor=actor,
        now=now,
        actor_unit=permissions.actor_unit(
            actor,
            current.grid_id or current.dispatch_unit_id,
            permissions.SUPERVISION_ROLES | permissions.DISPATCH_ROLES,
        )
        if actor is not None
        else None,
        reason=text,
        payload={"units": units, "automatic": actor is None},
        derive=False,
    )
    people = unit_people(*units) if units else dispatchers(current)
    notify(event, current, people, actor=actor)
    sync(order, current)
    return event


@transaction.atomic
def order_supervise(
    *,
    order: Order,
    actor: Any,
    now: dt.datetime,
    reason: str,
    unit: Unit | None = None,
    within_days: int | None = None,
) -> Supervision:
    """督办: a formal supervision of a unit (default: the holder) with its own deadline
    (``within_days`` working days, default ``ORDERS_SUPERVISION_DAYS``), swept like the others."""
    current = begin(order, Action.SUPERVISE)
    require(permissions.can_supervise(actor, current))
    text = require_reason(reason, what=_("请填写督办事由。"))
    target_id = unit.pk if unit is not None else current.holder_unit_id
    if target_id is None:
        raise InvalidInput(_("请选择督办单位。"))
    days = (
        within_days
        if within_days is not None
        else int(getattr(settings, "ORDERS_SUPERVISION_DAYS", DEFAULT_SUPERVISION_DAYS))
    )
    if days < 1:
        raise InvalidInput(_("督办时限至少1个工作日。"))
    calendar = load_calendar()
    due = calendar.deadline_for(now, days, WORKING_DAYS)
    supervision = Supervision.objects.create(
        order_id=current.pk, unit_id=target_id, issued_by=actor, reason=text, due_at=due.at, created_at=now
    )
    event = transition(
        current,
        Action.SUPERVISE,
        actor=actor,
        now=now,
        actor_unit=permissions.actor_unit(
            actor,
            current.grid_id or current.dispatch_unit_id,
            permissions.SUPERVISION_ROLES | permissions.DISPATCH_ROLES,
        ),
        reason=text,
        payload={
            "supervision": supervision.pk,
            "unit": target_id,
            "due_at": due.at.isoformat(),
            "calendar_version": calendar.version,
        },
        derive=False,
    )
    notify(event, current, unit_people(target_id), actor=actor)
    sync(order, current)
    return supervision


# --- recomputation after a calendar change -------------------------------------------------------


COMPARED = ("accept_by", "contact_by", "reply_by", "paused_at", "provisional")


def stored_clocks(order: Order) -> dict[int, deadlines.Clock]:
    return {a.pk: deadlines.clock_of(a) for a in Assignment.objects.filter(order_id=order.pk)}


def replay_order(order: Order, *, calendar: WorkCalendar | None = None) -> dict[int, deadlines.Clock]:
    """``deadlines.replay`` over the order's stored timeline."""
    events = OrderEvent.objects.filter(order_id=order.pk).only("occurred_at", "payload").order_by("seq")
    return deadlines.replay(events, calendar=calendar or load_calendar())


def clocks_differ(a: deadlines.Clock, b: deadlines.Clock) -> bool:
    return any(getattr(a, name) != getattr(b, name) for name in COMPARED)


@transaction.atomic
def order_recompute_deadlines(
    *, order: Order, now: dt.datetime, calendar: WorkCalendar | None = None, actor: Any = None
) -> OrderEvent | None:
    """Recompute every deadline by replaying the timeline under the current calendar. When a
    deadline (or its provisional mark) changes, the change is a ``deadlines_recalculated`` event
    recording the calendar version; otherwise only the stored calendar version is brought up to
    date (no deadline changed). Returns the event, or None."""
    cal = calendar or load_calendar()
    current = _locked_queryset().get(pk=order.pk)
    replayed = replay_order(current, calendar=cal)
    stored = stored_clocks(current)
    changed = {
        pk: clock for pk, clock in replayed.items() if pk in stored and clocks_differ(clock, stored[pk])
    }
    if not changed:
        Assignment.objects.filter(order_id=current.pk).exclude(calendar_version=cal.version).filter(
            pk__in=list(replayed)
        ).update(calendar_version=cal.version)
        return None
    for pk, clock in changed.items():
        Assignment.objects.filter(pk=pk).update(
            **{name: getattr(clock, name) for name in deadlines.CLOCK_FIELDS}
        )
    Assignment.objects.filter(pk__in=list(replayed)).update(calendar_version=cal.version)
    event = transition(
        current,
        EventType.DEADLINES_RECALCULATED,
        actor=actor,
        now=now,
        payload={"calendar_version": cal.version, "deadlines": deadlines.deadlines_payload(changed)},
    )
    units = Assignment.objects.filter(pk__in=list(changed), status__in=list(ASSIGNMENT_ACTIVE)).values_list(
        "unit_id", flat=True
    )
    notify(event, current, unit_people(*units), actor=None)
    sync(order, current)
    return event


def orders_recompute_for_calendar(*, now: dt.datetime, limit: int = 1000) -> int:
    """Recompute open orders whose active assignments ran on an older calendar version (the sweep
    calls this; each order in its own transaction). Returns the number of events written."""
    cal = load_calendar()
    ids = list(
        Assignment.objects.filter(status__in=list(ASSIGNMENT_ACTIVE))
        .exclude(calendar_version=cal.version)
        .values_list("order_id", flat=True)
        .distinct()[:limit]
    )
    written = 0
    for order_id in ids:
        try:
            if order_recompute_deadlines(order=Order(pk=order_id), now=now, calendar=cal) is not None:
                written += 1
        except OrderError as exc:  # a concurrent transition: the next sweep retries
            logger.info("recompute of order %s deferred: %s", order_id, exc)
    return written


# --- the sweep --------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    warnings: int = 0
    urged: int = 0
    escalated: int = 0
    recomputed: int = 0
    skipped: list[str] = field(default_factory=list)


def yellow_fraction() -> float:
    return float(getattr(settings, "ORDERS_WARNING_YELLOW_FRACTION", DEFAULT_YELLOW_FRACTION))


def yellow_hours() -> float | None:
    value = getattr(settings, "ORDERS_WARNING_YELLOW_HOURS", None)
    return float(value) if value is not None else None


def yellow_at(start: dt.datetime, due: dt.datetime) -> dt.datetime:
    """When the yellow warning is due: ``ORDERS_WARNING_YELLOW_HOURS`` before the deadline if set,
    else when ``ORDERS_WARNING_YELLOW_FRACTION`` (default 0.8) of the span has elapsed."""
    hours = yellow_hours()
    if hours is not None:
        return due - dt.timedelta(hours=hours)
    return start + (due - start) * yellow_fraction()


def _horizon() -> dt.timedelta:
    return dt.timedelta(hours=float(getattr(settings, "ORDERS_WARNING_HORIZON_HOURS", DEFAULT_HORIZON_HOURS)))


def escalate_after() -> dt.timedelta | None:
    value = getattr(settings, "ORDERS_ESCALATE_OVERDUE_HOURS", DEFAULT_ESCALATE_OVERDUE_HOURS)
    return dt.timedelta(hours=float(value)) if value is not None else None


@dataclass(frozen=True)
class _Due:
    order_id: int
    kind: str
    due_at: dt.datetime
    start: dt.datetime
    assignment_id: int | None = None
    supervision_id: int | None = None
    unit_id: int | None = None
    top_lead: bool = False


def _unwarned(qs: Any, *, now: dt.datetime, level_filter: dict[str, Any], column: str, yellow_due: Q) -> Any:
    """``qs`` narrowed to the deadlines that still need a warning now: past the deadline without
    both warnings for this deadline (``due_at``) on record, or without the yellow one while it may be
    due. Already-warned deadlines never take the places of the ``limit``, so a deadline that needs
    a warning is never starved by old ones (a moved deadline has a new ``due_at`` and is warned
    again)."""

    def warned(level: str) -> Exists:
        return Exists(DeadlineWarning.objects.filter(level=level, due_at=OuterRef(column), **level_filter))

    overdue = Q(**{f"{column}__lte": now})
    return qs.filter(
        (overdue & (~warned(WarningLevel.RED) | ~warned(WarningLevel.YELLOW)))
        | (yellow_due & ~warned(WarningLevel.YELLOW))
    )


def _candidates(now: dt.datetime, limit: int) -> list[_Due]:
    """Deadlines within the horizon that still need a warning (``_unwarned``), soonest first; the
    partial indexes make each of these an index range scan."""
    horizon = now + _horizon()
    hours = yellow_hours()
    open_states = sorted(OPEN)
    found: list[_Due] = []
    base = Assignment.objects.filter(paused_at__isnull=True, order__status__in=open_states)
    specs = [
        (DeadlineKind.ACCEPT, "accept_by", base.filter(status=AssignmentStatus.PENDING)),
        (
            DeadlineKind.CONTACT,
            "contact_by",
            base.filter(status=AssignmentStatus.ACCEPTED, contacted_at__isnull=True),
        ),
        (DeadlineKind.REPLY, "reply_by", base.filter(status=AssignmentStatus.ACCEPTED)),
    ]
    for kind, column, qs in specs:
        # with a fixed number of hours the yellow instant is a plain bound on the column
        yellow_due = Q(**{f"{column}__lte": now + dt.timedelta(hours=hours)}) if hours is not None else Q()
        rows = (
            _unwarned(
                qs.filter(**{f"{column}__isnull": False, f"{column}__lte": horizon}),
                now=now,
                level_filter={"assignment_id": OuterRef("pk"), "kind": kind},
                column=column,
                yellow_due=yellow_due,
            )
            .order_by(column, "pk")
            .values_list("pk", "order_id", "unit_id", column, "dispatched_at", "role", "parent_id")[:limit]
        )
        for pk, order_id, unit_id, due, start, role, parent_id in rows:
            found.append(
                _Due(
                    order_id=order_id,
                    kind=kind,
                    due_at=due,
                    start=start,
                    assignment_id=pk,
                    unit_id=unit_id,
                    top_lead=role == AssignmentRole.LEAD and parent_id is None,
                )
            )
    sup = (
        _unwarned(
            Supervision.objects.filter(
                status=SupervisionStatus.OPEN, due_at__lte=horizon, order__status__in=open_states
            ),
            now=now,
            level_filter={"supervision_id": OuterRef("pk")},
            column="due_at",
            yellow_due=Q(due_at__lte=now + dt.timedelta(hours=hours)) if hours is not None else Q(),
        )
        .order_by("due_at", "pk")
        .values_list("pk", "order_id", "unit_id", "due_at", "created_at")[:limit]
    )
    for pk, order_id, unit_id, due, start in sup:
        found.append(
            _Due(
                order_id=order_id,
                kind=DeadlineKind.SUPERVISION,
                due_at=due,
                start=start,
                supervision_id=pk,
                unit_id=unit_id,
            )
        )
    return found


def _escalation_candidates(now: dt.datetime, limit: int) -> list[_Due]:
    """Top leads whose reply-by is overdue by ``escalate_after()`` on orders in progress that can
    go one level up (their warnings are on record long before, so they are not among
    ``_candidates``). An order whose dispatch unit has no parent (the city) cannot escalate and is
    not locked every sweep for nothing; an escalated order's lead is cancelled, so it drops out."""
    after = escalate_after()
    if after is None:
        return []
    rows = (
        Assignment.objects.filter(
            status=AssignmentStatus.ACCEPTED,
            role=AssignmentRole.LEAD,
            parent__isnull=True,
            paused_at__isnull=True,
            reply_by__isnull=False,
            reply_by__lte=now - after,
            order__status=OrderStatus.IN_PROGRESS,
            order__dispatch_unit__parent__isnull=False,
        )
        .order_by("reply_by", "pk")
        .values_list("pk", "order_id", "unit_id", "reply_by", "dispatched_at")[:limit]
    )
    return [
        _Due(
            order_id=order_id,
            kind=DeadlineKind.REPLY,
            due_at=due,
            start=start,
            assignment_id=pk,
            unit_id=unit_id,
            top_lead=True,
        )
        for pk, order_id, unit_id, due, start in rows
        if due is not None  # excluded by the query; narrows the type
    ]


def _existing(due: list[_Due]) -> set[tuple[str, int, str, str, dt.datetime]]:
    a_ids = [d.assignment_id for d in due if d.assignment_id is not None]
    s_ids = [d.supervision_id for d in due if d.supervision_id is not None]
    seen: set[tuple[str, int, str, str, dt.datetime]] = set()
    for aid, kind, level, due_at in DeadlineWarning.objects.filter(assignment_id__in=a_ids).values_list(
        "assignment_id", "kind", "level", "due_at"
    ):
        seen.add(("a", aid, kind, level, due_at))
    for sid, kind, level, due_at in DeadlineWarning.objects.filter(supervision_id__in=s_ids).values_list(
        "supervision_id", "kind", "level", "due_at"
    ):
        seen.add(("s", sid, kind, level, due_at))
    return seen


def _record_warning(d: _Due, level: str, *, now: dt.datetime) -> tuple[bool, bool]:
    """Record one warning in its own transaction: (recorded, urged). Not recorded when another
    sweep recorded it first (the unique row decides) or the order has ended meanwhile. A red
    warning on an accept, reply or supervision deadline also urges the unit automatically."""
    with transaction.atomic():
        current = _locked_queryset().get(pk=d.order_id)
        if current.status not in OPEN:
            return False, False
        try:
            with transaction.atomic():
                warning = DeadlineWarning.objects.create(
                    assignment_id=d.assignment_id,
                    supervision_id=d.supervision_id,
                    order_id=d.order_id,
                    kind=d.kind,
                    level=level,
                    due_at=d.due_at,
                    recorded_at=now,
                )
        except IntegrityError:
            return False, False
        event = transition(
            current,
            EventType.DEADLINE_WARNING,
            actor=None,
            now=now,
            assignment=Assignment(pk=d.assignment_id) if d.assignment_id else None,
            payload={
                "warning": warning.pk,
                "kind": d.kind,
                "level": level,
                "due_at": d.due_at.isoformat(),
                "supervision": d.supervision_id,
            },
            derive=False,
        )
        DeadlineWarning.objects.filter(pk=warning.pk).update(event=event)
        people = unit_people(d.unit_id)
        notify(event, current, people, actor=None)
        automatic = (
            level == WarningLevel.RED
            and d.kind in (DeadlineKind.ACCEPT, DeadlineKind.REPLY, DeadlineKind.SUPERVISION)
            and current.status in _URGEABLE
        )
        if automatic:
            urge = transition(
                current,
                Action.URGE,
                actor=None,
                now=now,
                reason=_("已超过%(kind)s，系统自动催办。") % {"kind": DeadlineKind(d.kind).label},
                payload={"units": [d.unit_id], "automatic": True, "warning": warning.pk},
                derive=False,
            )
            notify(urge, current, people, actor=None)
        return True, automatic


_URGEABLE = frozenset(
    {
        OrderStatus.AWAITING_DISPATCH,
        OrderStatus.AWAITING_ACCEPTANCE,
        OrderStatus.RETURN_REQUESTED,
        OrderStatus.IN_PROGRESS,
        OrderStatus.AWAITING_REVIEW,
    }
)


def _maybe_escalate(d: _Due, *, now: dt.datetime) -> bool:
    """The escalation rule: a top lead's reply-by overdue by ``ORDERS_ESCALATE_OVERDUE_HOURS``
    (default 72; None disables it) sends the order one level up, recorded once (an ``escalated``
    warning row is not needed: escalation cancels the assignment, so it cannot recur)."""
    after = escalate_after()
    if after is None or d.kind != DeadlineKind.REPLY or not d.top_lead or now < d.due_at + after:
        return False
    from orders.services.dispatch import order_escalate

    with transaction.atomic():
        current = _locked_queryset().get(pk=d.order_id)
        if (
            current.status != OrderStatus.IN_PROGRESS
            or current.dispatch_unit is None
            or current.dispatch_unit.parent_id is None
        ):
            return False
        if d.assignment_id is None:
            return False
        still = Assignment.objects.filter(
            pk=d.assignment_id, status=AssignmentStatus.ACCEPTED, paused_at__isnull=True
        ).exists()
        if not still:
            return False
        order_escalate(
            order=current,
            actor=None,
            now=now,
            reason=_("答复超时%(h)d小时，系统自动上报。") % {"h": int(after.total_seconds() // 3600)},
        )
        return True


def deadline_sweep(*, now: dt.datetime, limit: int = 5000) -> SweepResult:
    """One sweep: recompute after calendar changes, then yellow and red warnings (each recorded
    once, whatever the number of concurrent sweeps), automatic urging at red, and escalation.
    Each item runs in its own transaction; a conflict defers it to the next sweep."""
    result = SweepResult()
    result.recomputed = orders_recompute_for_calendar(now=now)
    due = _candidates(now, limit)
    seen = _existing(due)
    for d in due:
        key_kind = ("a", d.assignment_id) if d.assignment_id is not None else ("s", d.supervision_id)
        levels: list[str] = []
        if now >= d.due_at:
            levels = [WarningLevel.YELLOW, WarningLevel.RED]
        elif now >= yellow_at(d.start, d.due_at):
            levels = [WarningLevel.YELLOW]
        for level in levels:
            if (key_kind[0], key_kind[1], d.kind, level, d.due_at) in seen:
                continue
            try:
                recorded, urged = _record_warning(d, level, now=now)
            except OrderError as exc:
                result.skipped.append(f"{d.order_id}:{exc.code}")
                continue
            result.warnings += int(recorded)
            result.urged += int(urged)
    for d in _escalation_candidates(now, limit):
        try:
            if _maybe_escalate(d, now=now):
                result.escalated += 1
        except OrderError as exc:
            result.skipped.append(f"{d.order_id}:{exc.code}")
    return result
