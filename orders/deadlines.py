"""Deadlines of assignments: accept-by, contact-by, reply-by (DESIGN.md, SECURITY.md SLA-1..3).

The rules
---------
- **Start.** A unit's clock starts when the order is dispatched (or delegated, or reopened) to it:
  each limit of the responsibility list (``catalog.ResponsibilityRule``: working days, or calendar
  hours for urgent items) counts from that instant with ``core.workcalendar`` (working days start
  counting the day after and end at 24:00 of the last one). A re-dispatch after an upheld return,
  an escalation or a reopen creates new assignments, hence fresh limits.
- **Delegation.** A delegated child gets its own limits from the delegation instant, each capped by
  what its parent has left: no child deadline lies after the parent's reply-by.
- **Suspension** (挂账, approved) stops every active clock of the order at the approval instant;
  **resumption** continues each deadline with the time it had left: the working time (or calendar
  time, for hour limits) between the pause and the deadline is laid out again from the resumption.
  A deadline already passed when the clock stopped stays where it was.
- **Extension** (延期, approved) adds working days (or hours) to the reply-by, capped by the
  parent's reply-by for a delegated child.
- **Calendar change.** When the calendar changes (a year entered, a holiday added) open orders are
  recomputed by replay and the change is a timeline event carrying the new calendar version.

A deadline changes only through a timeline event. Each such event carries, in
``payload["clock"]``, the operations it applies (``start`` with the limits, ``pause``, ``resume``,
``extend``) and, in ``payload["deadlines"]``, the resulting values (for people and for the
invariant "every deadline change has its event"). ``replay(events)`` folds the operations over the
timeline from nothing — a pure function of the events and the calendar — and the live path applies
the very same ``apply_ops`` to the stored state, so ``replay == stored`` holds until the calendar
changes, when ``recompute`` stores the replay under the new version.

No function here reads the clock: every instant comes from an event (or the caller's ``now``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings

from catalog.choices import LimitUnit
from core.workcalendar import (
    HOURS,
    WORKING_DAYS,
    DeadlineUnit,
    WorkCalendar,
    end_of_day,
    local_date,
    start_of_day,
)
from orders.choices import Urgency

DAY = timedelta(days=1)
TINY = timedelta(microseconds=1)

# --- limits ------------------------------------------------------------------------------------


class LimitsDict(TypedDict):
    unit: str
    accept: int
    contact: int
    reply: int


@dataclass(frozen=True)
class Limits:
    """The three limits a clock runs on, in working days or calendar hours."""

    unit: str
    accept: int
    contact: int
    reply: int

    def as_dict(self) -> LimitsDict:
        return {"unit": self.unit, "accept": self.accept, "contact": self.contact, "reply": self.reply}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Limits:
        return cls(
            unit=str(data["unit"]),
            accept=int(data["accept"]),
            contact=int(data["contact"]),
            reply=int(data["reply"]),
        )


DEFAULT_LIMITS = Limits(unit=LimitUnit.WORKING_DAYS, accept=1, contact=2, reply=5)
DEFAULT_URGENT_LIMITS = Limits(unit=LimitUnit.HOURS, accept=2, contact=4, reply=24)


def default_limits(urgency: str) -> Limits:
    """Limits for an order with no responsibility rule (``ORDERS_DEFAULT_LIMITS`` /
    ``ORDERS_DEFAULT_URGENT_LIMITS`` settings, dicts like ``{"unit": "hours", "accept": 2, …}``)."""
    if urgency == Urgency.URGENT:
        configured = getattr(settings, "ORDERS_DEFAULT_URGENT_LIMITS", None)
        return Limits.from_dict(configured) if configured else DEFAULT_URGENT_LIMITS
    configured = getattr(settings, "ORDERS_DEFAULT_LIMITS", None)
    return Limits.from_dict(configured) if configured else DEFAULT_LIMITS


def limits_of_rule(rule: Any) -> Limits:
    """The limits of a ``catalog.ResponsibilityRule``."""
    return Limits(
        unit=str(rule.limit_unit),
        accept=int(rule.accept_within),
        contact=int(rule.contact_within),
        reply=int(rule.reply_within),
    )


def _unit(unit: str) -> DeadlineUnit:
    if unit == LimitUnit.HOURS:
        return HOURS
    if unit == LimitUnit.WORKING_DAYS:
        return WORKING_DAYS
    raise ValueError(f"unknown limit unit {unit!r}")


# --- the clock of one assignment -------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """The deadline state of one assignment (exactly the columns ``Assignment`` stores)."""

    parent_id: int | None
    limit_unit: str
    accept_by: datetime | None
    contact_by: datetime | None
    reply_by: datetime | None
    provisional: bool
    calendar_version: int
    paused_at: datetime | None = None

    def deadlines(self) -> dict[str, datetime | None]:
        return {"accept_by": self.accept_by, "contact_by": self.contact_by, "reply_by": self.reply_by}


CLOCK_FIELDS = ("accept_by", "contact_by", "reply_by", "provisional", "calendar_version", "paused_at")


def add_working_time(calendar: WorkCalendar, start: datetime, amount: timedelta) -> tuple[datetime, bool]:
    """The instant at which ``amount`` of working time has elapsed since ``start`` (the inverse of
    ``WorkCalendar.working_time``: working days count all their 24 hours). Returns (instant,
    provisional)."""
    if amount <= timedelta(0):
        return start, False
    remaining = amount
    provisional = False
    day = local_date(start)
    while True:
        cls = calendar.classify(day)
        provisional = provisional or cls.provisional
        if cls.is_workday:
            lo = max(start, start_of_day(day))
            hi = end_of_day(day)
            available = hi - lo
            if available >= remaining:
                return lo + remaining, provisional
            remaining -= available
        day += DAY


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def clock_start(
    *,
    at: datetime,
    limits: Limits,
    calendar: WorkCalendar,
    parent: Clock | None = None,
    parent_id: int | None = None,
) -> Clock:
    """A fresh clock from ``at`` (dispatch, delegation or reopen), capped by the parent's."""
    unit = _unit(limits.unit)
    accept = calendar.deadline_for(at, limits.accept, unit)
    contact = calendar.deadline_for(at, limits.contact, unit)
    reply = calendar.deadline_for(at, limits.reply, unit)
    accept_by, contact_by, reply_by = accept.at, contact.at, reply.at
    if parent is not None:
        accept_by = _min(accept_by, parent.reply_by) or accept_by
        contact_by = _min(contact_by, parent.reply_by) or contact_by
        reply_by = _min(reply_by, parent.reply_by) or reply_by
    return Clock(
        parent_id=parent_id,
        limit_unit=limits.unit,
        accept_by=accept_by,
        contact_by=contact_by,
        reply_by=reply_by,
        provisional=accept.provisional or contact.provisional or reply.provisional,
        calendar_version=calendar.version,
        paused_at=None,
    )


def clock_pause(clock: Clock, *, at: datetime) -> Clock:
    if clock.paused_at is not None:
        return clock
    return replace(clock, paused_at=at)


def _continue(
    calendar: WorkCalendar, unit: str, deadline: datetime | None, paused: datetime, resumed: datetime
) -> tuple[datetime | None, bool]:
    if deadline is None or deadline <= paused:
        return deadline, False
    if _unit(unit) == HOURS:
        return resumed + (deadline - paused), False
    left = calendar.working_time(paused, deadline)
    moved, provisional = add_working_time(calendar, resumed, left.duration)
    return moved, provisional or left.provisional


def clock_resume(clock: Clock, *, at: datetime, calendar: WorkCalendar) -> Clock:
    """Continue every deadline with the time it had left when the clock stopped."""
    paused = clock.paused_at
    if paused is None:
        return clock
    provisional = clock.provisional
    values: dict[str, datetime | None] = {}
    for name, value in clock.deadlines().items():
        moved, prov = _continue(calendar, clock.limit_unit, value, paused, at)
        values[name] = moved
        provisional = provisional or prov
    return replace(
        clock,
        accept_by=values["accept_by"],
        contact_by=values["contact_by"],
        reply_by=values["reply_by"],
        provisional=provisional,
        calendar_version=calendar.version,
        paused_at=None,
    )


def clock_extend(
    clock: Clock, *, amount: int, unit: str, calendar: WorkCalendar, cap: datetime | None = None
) -> Clock:
    """Add ``amount`` working days (counted after the current reply-by's day) or hours."""
    if clock.reply_by is None:
        return clock
    if _unit(unit) == HOURS:
        new_reply = clock.reply_by + timedelta(hours=amount)
        provisional = False
    else:
        # the reply-by is 24:00 of its last day: count the extra days after that day
        shifted = calendar.shift(local_date(clock.reply_by - TINY), amount)
        new_reply = max(end_of_day(shifted.day), clock.reply_by)
        provisional = shifted.provisional
    if cap is not None:
        new_reply = max(min(new_reply, cap), clock.reply_by)
    return replace(
        clock,
        reply_by=new_reply,
        provisional=clock.provisional or provisional,
        calendar_version=calendar.version,
    )


# --- operations carried by timeline events ---------------------------------------------------


class ClockOp(TypedDict, total=False):
    op: str  # "start" | "pause" | "resume" | "extend"
    assignment: int
    parent: int | None
    limits: LimitsDict
    amount: int
    unit: str


def op_start(assignment_id: int, limits: Limits, parent_id: int | None = None) -> ClockOp:
    return {"op": "start", "assignment": assignment_id, "parent": parent_id, "limits": limits.as_dict()}


def op_pause(assignment_id: int) -> ClockOp:
    return {"op": "pause", "assignment": assignment_id}


def op_resume(assignment_id: int) -> ClockOp:
    return {"op": "resume", "assignment": assignment_id}


def op_extend(assignment_id: int, amount: int, unit: str) -> ClockOp:
    return {"op": "extend", "assignment": assignment_id, "amount": amount, "unit": unit}


def apply_ops(
    state: Mapping[int, Clock], ops: Sequence[Mapping[str, Any]], *, at: datetime, calendar: WorkCalendar
) -> dict[int, Clock]:
    """Apply one event's clock operations; returns the clocks the event changed (pure)."""
    changed: dict[int, Clock] = {}

    def current(aid: int) -> Clock | None:
        return changed.get(aid) or state.get(aid)

    for op in ops:
        aid = int(op["assignment"])
        kind = op["op"]
        if kind == "start":
            parent_id = op.get("parent")
            parent = current(int(parent_id)) if parent_id is not None else None
            changed[aid] = clock_start(
                at=at,
                limits=Limits.from_dict(op["limits"]),
                calendar=calendar,
                parent=parent,
                parent_id=int(parent_id) if parent_id is not None else None,
            )
            continue
        clock = current(aid)
        if clock is None:
            raise ValueError(f"clock operation {kind!r} on unknown assignment {aid}")
        if kind == "pause":
            changed[aid] = clock_pause(clock, at=at)
        elif kind == "resume":
            changed[aid] = clock_resume(clock, at=at, calendar=calendar)
        elif kind == "extend":
            parent = current(clock.parent_id) if clock.parent_id is not None else None
            changed[aid] = clock_extend(
                clock,
                amount=int(op["amount"]),
                unit=str(op["unit"]),
                calendar=calendar,
                cap=parent.reply_by if parent is not None else None,
            )
        else:
            raise ValueError(f"unknown clock operation {kind!r}")
    return changed


def deadlines_payload(changed: Mapping[int, Clock]) -> dict[str, dict[str, Any]]:
    """The resulting values an event records (ISO text, keyed by assignment id as text)."""
    return {
        str(aid): {
            "accept_by": _iso(c.accept_by),
            "contact_by": _iso(c.contact_by),
            "reply_by": _iso(c.reply_by),
            "paused_at": _iso(c.paused_at),
            "provisional": c.provisional,
            "calendar_version": c.calendar_version,
        }
        for aid, c in sorted(changed.items())
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- replay ------------------------------------------------------------------------------------


class EventLike:
    """What replay needs of an event (``OrderEvent`` has these attributes)."""

    occurred_at: datetime
    payload: Any


def replay(events: Iterable[Any], *, calendar: WorkCalendar) -> dict[int, Clock]:
    """Fold every event's clock operations, in order, from nothing: the deadlines the timeline
    implies under ``calendar``. Pure: no database access, no clock."""
    state: dict[int, Clock] = {}
    for event in events:
        payload = event.payload or {}
        ops = payload.get("clock") or []
        if ops:
            state.update(apply_ops(state, ops, at=event.occurred_at, calendar=calendar))
    return state


def clock_of(assignment: Any) -> Clock:
    """The stored clock of an ``Assignment`` row."""
    return Clock(
        parent_id=assignment.parent_id,
        limit_unit=assignment.limit_unit,
        accept_by=assignment.accept_by,
        contact_by=assignment.contact_by,
        reply_by=assignment.reply_by,
        provisional=assignment.provisional,
        calendar_version=assignment.calendar_version,
        paused_at=assignment.paused_at,
    )


def store_clock(assignment: Any, clock: Clock) -> list[str]:
    """Copy a clock onto an ``Assignment`` instance; returns the fields to save."""
    for name in CLOCK_FIELDS:
        setattr(assignment, name, getattr(clock, name))
    return list(CLOCK_FIELDS)
