"""Every write of 吹哨报到: one function per action (STYLE.md rules 3, 6, 7).

Each service is keyword-only and takes the ``actor`` and ``now`` explicitly. In one transaction
it checks the actor's permission (``whistles.permissions``) and the current state against the
tables in ``whistles.states``, locks the whistle row (``select_for_update``: PostgreSQL; SQLite
serialises writers anyway), changes the rows with a compare-and-set on status and version
(``StaleTransition`` when someone else was first), appends the timeline events, and writes the
outbox rows; delivery is scheduled after commit. A refused action raises ``PermissionDenied`` or
a ``whistles.errors.WhistleError`` with a Chinese message and changes nothing.

Services::

    whistle_blow(*, actor, unit, type, title, description, summon_unit_ids, now, address="",
                 point=None, meeting_at=None, meeting_place="", order_ids=()) -> Whistle
    summons_acknowledge(*, summons, actor, now, note="") -> WhistleEvent
    summons_check_in(*, summons, actor, now, attendees, point=None, at_meeting=False,
                     note="") -> WhistleEvent
    whistle_task_assign(*, summons, actor, now, description, due_at) -> WhistleTask
    whistle_task_reply(*, task, actor, now, reply) -> WhistleEvent
    whistle_close(*, whistle, actor, now, result, ratings) -> WhistleEvent
    whistle_cancel(*, whistle, actor, now, reason) -> WhistleEvent
    whistle_sweep(*, now) -> SweepResult          (the periodic warning sweep)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext as _

from core.workcalendar import load_calendar
from orders.choices import TERMINAL as ORDER_TERMINAL
from orders.models import Assignment, Order
from orgs.choices import TERRITORIAL_KINDS
from orgs.geo import CoordinatesError, check_lon_lat, distance_m
from orgs.models import Membership, Unit, UnitClosure
from whistles import notifications, permissions
from whistles.choices import (
    Action,
    DeadlineKind,
    EventType,
    SummonsStatus,
    TaskStatus,
    WarningLevel,
    WhistleStatus,
    WhistleType,
)
from whistles.errors import InvalidInput, StaleTransition, TransitionNotAllowed
from whistles.limits import limits_for, summons_deadlines, warn_at
from whistles.models import (
    DepartmentRating,
    Summons,
    Whistle,
    WhistleEvent,
    WhistleTask,
    WhistleWarning,
)
from whistles.states import (
    SUMMONS_TRANSITIONS,
    TASK_TRANSITIONS,
    TASKABLE,
    WHISTLE_TRANSITIONS,
    SummonsAction,
    TaskAction,
)

MAX_SUMMONED_UNITS = 30
MAX_ORDERS = 50
MAX_ATTENDEES = 50
MAX_NAME_LENGTH = 32
RATING_RANGE = range(1, 6)

Point = tuple[float, float]  # (lon, lat), WGS-84


@dataclass(frozen=True)
class RatingInput:
    """The whistle unit's rating of one summoned department, each score 1–5."""

    timeliness: int
    effectiveness: int
    attitude: int
    comment: str = ""


# --- helpers -------------------------------------------------------------------------------------


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("您无权执行此操作。"))


def _lock_whistle(pk: int) -> Whistle:
    """The whistle row, locked for the rest of the transaction on PostgreSQL."""
    return Whistle.objects.select_for_update().get(pk=pk)


def _sync_locked(whistle: Whistle) -> None:
    """Lock the caller's whistle; refuse with ``StaleTransition`` when it changed since the caller
    read it (another close or cancel got there first)."""
    locked = _lock_whistle(whistle.pk)
    if (locked.status, locked.version) != (whistle.status, whistle.version):
        raise StaleTransition()
    whistle.last_seq = locked.last_seq


def _check_whistle_action(whistle: Whistle, action: Action) -> None:
    sources, _targets = WHISTLE_TRANSITIONS[action]
    if whistle.status not in sources:
        raise TransitionNotAllowed(
            _("吹哨已%(status)s，不能再%(action)s。")
            % {"status": WhistleStatus(whistle.status).label, "action": Action(action).label},
            action=action,
            status=whistle.status,
        )


def _whistle_transition(whistle: Whistle, action: Action, target: WhistleStatus, **fields: Any) -> None:
    """Compare-and-set the whistle's status and version (against the caller's copy)."""
    _check_whistle_action(whistle, action)
    _sources, targets = WHISTLE_TRANSITIONS[action]
    if target not in targets:  # a programming error: the table does not allow it
        raise TransitionNotAllowed(action=action, status=whistle.status)
    changed = Whistle.objects.filter(pk=whistle.pk, status=whistle.status, version=whistle.version).update(
        status=target, version=F("version") + 1, **fields
    )
    if changed != 1:
        raise StaleTransition()
    whistle.status = target
    whistle.version += 1
    for name, value in fields.items():
        setattr(whistle, name, value)


def _summons_transition(summons: Summons, action: SummonsAction, **fields: Any) -> str:
    """Compare-and-set a summons' status and version; returns the status it came from."""
    sources, target = SUMMONS_TRANSITIONS[action]
    if summons.status not in sources:
        raise TransitionNotAllowed(
            _("该部门当前为「%(status)s」，不能%(action)s。")
            % {"status": SummonsStatus(summons.status).label, "action": SummonsAction(action).label},
            action=action,
            status=summons.status,
        )
    source = summons.status
    changed = Summons.objects.filter(pk=summons.pk, status=source, version=summons.version).update(
        status=target, version=F("version") + 1, **fields
    )
    if changed != 1:
        raise StaleTransition()
    summons.status = target
    summons.version += 1
    for name, value in fields.items():
        setattr(summons, name, value)
    return source


def _task_transition(task: WhistleTask, action: TaskAction, **fields: Any) -> str:
    sources, target = TASK_TRANSITIONS[action]
    if task.status not in sources:
        raise TransitionNotAllowed(
            _("任务当前为「%(status)s」，不能%(action)s。")
            % {"status": TaskStatus(task.status).label, "action": TaskAction(action).label},
            action=action,
            status=task.status,
        )
    source = task.status
    changed = WhistleTask.objects.filter(pk=task.pk, status=source, version=task.version).update(
        status=target, version=F("version") + 1, **fields
    )
    if changed != 1:
        raise StaleTransition()
    task.status = target
    task.version += 1
    for name, value in fields.items():
        setattr(task, name, value)
    return source


def _append_event(
    whistle: Whistle,
    *,
    type: EventType,  # noqa: A002 -- the event's field name
    now: datetime,
    actor: Any = None,
    actor_unit_id: int | None = None,
    summons: Summons | None = None,
    task: WhistleTask | None = None,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    payload: Mapping[str, Any] | None = None,
) -> WhistleEvent:
    """The next timeline entry (its ``seq`` taken with a compare-and-set on ``last_seq``)."""
    seq = whistle.last_seq + 1
    if Whistle.objects.filter(pk=whistle.pk, last_seq=whistle.last_seq).update(last_seq=seq) != 1:
        raise StaleTransition()
    whistle.last_seq = seq
    event: WhistleEvent = WhistleEvent.objects.create(
        whistle=whistle,
        seq=seq,
        type=type,
        actor=actor,
        actor_unit_id=actor_unit_id,
        summons=summons,
        task=task,
        from_status=from_status,
        to_status=to_status,
        note=note,
        payload=dict(payload or {}),
        occurred_at=now,
    )
    return event


def _deliver_after_commit(events: Iterable[WhistleEvent]) -> None:
    from whistles.tasks import deliver_whistle_notifications

    for event in events:
        transaction.on_commit(partial(deliver_whistle_notifications, event.pk))


def _acting_unit_id(actor: Any, unit_id: int) -> int:
    """The unit through which ``actor`` answers for a summoned unit (their deepest department or
    station membership among the unit and its ancestors)."""
    membership = (
        Membership.objects.filter(
            user_id=actor.pk,
            role__in=list(permissions.SUMMONS_ROLES),
            unit__kind__in=list(permissions.SUMMONABLE_KINDS),
            unit_id__in=UnitClosure.objects.filter(descendant_id=unit_id).values("ancestor_id"),
        )
        .order_by("-unit__level")
        .values_list("unit_id", flat=True)
        .first()
    )
    return int(membership) if membership is not None else unit_id


def _whistle_people(whistle: Whistle) -> list[Any]:
    """The blowing unit's secretaries, leaders and handlers, and whoever blew."""
    people = notifications.users_at([whistle.unit_id], permissions.WHISTLE_ROLES)
    if all(u.pk != whistle.blown_by_id for u in people):
        people.append(whistle.blown_by)
    return people


def _department_people(unit_ids: Iterable[int]) -> list[Any]:
    return notifications.users_answering_for(
        unit_ids, permissions.SUMMONS_ROLES, permissions.SUMMONABLE_KINDS
    )


def _title(whistle: Whistle, what: str) -> str:
    return _("【%(type)s】%(title)s：%(what)s") % {
        "type": WhistleType(whistle.type).label,
        "title": whistle.title,
        "what": what,
    }


def _clean_text(
    value: str | None, *, field: str, label: str, limit: int | None = None, required: bool = True
) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(_("请填写%(label)s。") % {"label": label}, field=field)
    if limit is not None and len(text) > limit:
        raise InvalidInput(_("%(label)s不能超过%(n)d个字。") % {"label": label, "n": limit}, field=field)
    return text


def _clean_point(point: Point | None, *, field: str) -> Point | None:
    if point is None:
        return None
    try:
        return check_lon_lat(point[0], point[1])
    except (CoordinatesError, IndexError, TypeError) as exc:
        raise InvalidInput(str(exc) or _("坐标无效。"), field=field) from None


def _mark_overdue(summons: Summons, deadline: datetime, now: datetime) -> dict[str, Any]:
    """Fields that mark a summons overdue when an action comes after its deadline."""
    if summons.overdue_at is None and now > deadline:
        return {"overdue_at": deadline}
    return {}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- blow ----------------------------------------------------------------------------------------


def _summonable_units(unit: Unit, unit_ids: Sequence[int]) -> list[Unit]:
    """The departments and stations to summon, refused unless each is active and hangs under a
    territorial ancestor of the blowing unit (the same city or district)."""
    ids = list(dict.fromkeys(int(pk) for pk in unit_ids))
    if not ids:
        raise InvalidInput(_("请至少选择一个被召集部门。"), field="summon_unit_ids")
    if len(ids) > MAX_SUMMONED_UNITS:
        raise InvalidInput(
            _("一次最多召集%(n)d个部门。") % {"n": MAX_SUMMONED_UNITS}, field="summon_unit_ids"
        )
    units = {u.pk: u for u in Unit.objects.filter(pk__in=ids)}
    blower_ancestors = set(
        UnitClosure.objects.filter(descendant_id=unit.pk).values_list("ancestor_id", flat=True)
    )
    # each candidate's nearest territorial ancestor: the city or district its department hangs under
    nearest: dict[int, tuple[int, int]] = {}
    for descendant_id, ancestor_id, depth in UnitClosure.objects.filter(
        descendant_id__in=ids, ancestor__kind__in=list(TERRITORIAL_KINDS)
    ).values_list("descendant_id", "ancestor_id", "depth"):
        if descendant_id not in nearest or depth < nearest[descendant_id][1]:
            nearest[descendant_id] = (ancestor_id, depth)
    result: list[Unit] = []
    for pk in ids:
        candidate = units.get(pk)
        if candidate is None or not candidate.is_active:
            raise InvalidInput(_("被召集单位不存在或已停用。"), field="summon_unit_ids")
        if candidate.kind not in permissions.SUMMONABLE_KINDS:
            raise InvalidInput(
                _("「%(name)s」不是部门或派出机构，不能被召集。") % {"name": candidate.name},
                field="summon_unit_ids",
            )
        if pk not in nearest or nearest[pk][0] not in blower_ancestors:
            raise InvalidInput(
                _("「%(name)s」不在本辖区的上级范围内，不能召集。") % {"name": candidate.name},
                field="summon_unit_ids",
            )
        result.append(candidate)
    return result


def _orders_overseen(unit: Unit, order_ids: Sequence[int]) -> list[Order]:
    """The orders a whistle is raised from: open, and either located in the blowing unit's
    territory (their grid) or held by a unit in its subtree."""
    ids = list(dict.fromkeys(int(pk) for pk in order_ids))
    if len(ids) > MAX_ORDERS:
        raise InvalidInput(_("一次最多关联%(n)d件工单。") % {"n": MAX_ORDERS}, field="order_ids")
    if not ids:
        return []
    subtree = UnitClosure.objects.filter(ancestor_id=unit.pk).values("descendant_id")
    orders = {o.pk: o for o in Order.objects.filter(pk__in=ids)}
    overseen = set(
        Order.objects.filter(pk__in=ids)
        .filter(
            Q(grid_id__in=subtree)
            | Q(pk__in=Assignment.objects.filter(order_id__in=ids, unit_id__in=subtree).values("order_id"))
        )
        .values_list("pk", flat=True)
    )
    result: list[Order] = []
    for pk in ids:
        order = orders.get(pk)
        if order is None or pk not in overseen:
            raise InvalidInput(_("工单不存在或不在本辖区。"), field="order_ids")
        if order.status in ORDER_TERMINAL:
            raise InvalidInput(
                _("工单%(number)s已%(status)s，不能据此吹哨。")
                % {"number": order.number, "status": order.get_status_display()},
                field="order_ids",
            )
        result.append(order)
    return result


@transaction.atomic
def whistle_blow(
    *,
    actor: Any,
    unit: Unit,
    type: str,  # noqa: A002 -- the whistle's type, as the model names it
    title: str,
    description: str,
    summon_unit_ids: Sequence[int],
    now: datetime,
    address: str = "",
    point: Point | None = None,
    meeting_at: datetime | None = None,
    meeting_place: str = "",
    order_ids: Sequence[int] = (),
) -> Whistle:
    """A street or community blows a whistle and summons departments (standalone, or raised from
    open orders it oversees). Each summons gets its acknowledge-by and arrive-by deadlines from
    the type's limits (a long whistle's arrival is its meeting)."""
    _require(permissions.can_blow(actor, unit))
    if type not in WhistleType.values:
        raise InvalidInput(_("请选择哨型。"), field="type")
    whistle_type = WhistleType(type)
    title = _clean_text(title, field="title", label=_("事项"), limit=200)
    description = _clean_text(description, field="description", label=_("情况说明"), limit=5000)
    address = _clean_text(address, field="address", label=_("地点"), limit=255, required=False)
    clean_point = _clean_point(point, field="point")
    if clean_point is None and not address:
        raise InvalidInput(_("请填写地点或在地图上标注位置。"), field="address")
    if whistle_type == WhistleType.LONG:
        if meeting_at is None:
            raise InvalidInput(_("长哨须填写会议时间。"), field="meeting_at")
        if meeting_at <= now:
            raise InvalidInput(_("会议时间须晚于当前时间。"), field="meeting_at")
        meeting_place = _clean_text(meeting_place, field="meeting_place", label=_("会议地点"), limit=255)
    else:
        meeting_at, meeting_place = None, ""
    departments = _summonable_units(unit, summon_unit_ids)
    orders = _orders_overseen(unit, order_ids)

    whistle = Whistle.objects.create(
        type=whistle_type,
        status=WhistleStatus.OPEN,
        unit=unit,
        blown_by=actor,
        title=title,
        description=description,
        address=address,
        lon=clean_point[0] if clean_point else None,
        lat=clean_point[1] if clean_point else None,
        meeting_at=meeting_at,
        meeting_place=meeting_place,
        blown_at=now,
    )
    if orders:
        whistle.orders.add(*orders)
    limits = limits_for(whistle_type)
    deadlines = summons_deadlines(start=now, limits=limits, calendar=load_calendar(), meeting_at=meeting_at)
    summonses = Summons.objects.bulk_create(
        [
            Summons(
                whistle=whistle,
                unit=department,
                status=SummonsStatus.SUMMONED,
                acknowledge_by=deadlines.acknowledge_by,
                arrive_by=deadlines.arrive_by,
                acknowledge_warn_at=deadlines.acknowledge_warn_at,
                arrive_warn_at=deadlines.arrive_warn_at,
                provisional=deadlines.provisional,
            )
            for department in departments
        ]
    )
    event = _append_event(
        whistle,
        type=EventType.BLOWN,
        now=now,
        actor=actor,
        actor_unit_id=unit.pk,
        to_status=WhistleStatus.OPEN,
        payload={
            "type": whistle_type.value,
            "summonses": [{"summons": s.pk, "unit": s.unit_id, "unit_name": s.unit.name} for s in summonses],
            "orders": [o.pk for o in orders],
            "limits": {
                "acknowledge": {"amount": limits.acknowledge.amount, "unit": limits.acknowledge.unit},
                "arrive": {"amount": limits.arrive.amount, "unit": limits.arrive.unit},
            },
            "acknowledge_by": _iso(deadlines.acknowledge_by),
            "arrive_by": _iso(deadlines.arrive_by),
            "provisional": deadlines.provisional,
        },
    )
    notifications.record_for(
        event,
        _department_people(d.pk for d in departments),
        title=_title(whistle, _("%(unit)s召集您单位报到") % {"unit": unit.name}),
        body=description[:500],
        urgent=whistle_type == WhistleType.URGENT,
        exclude=actor,
    )
    _deliver_after_commit([event])
    return whistle


# --- summons actions -------------------------------------------------------------------------------


@transaction.atomic
def summons_acknowledge(*, summons: Summons, actor: Any, now: datetime, note: str = "") -> WhistleEvent:
    """A summoned department acknowledges 响应 (it has received the whistle and will come)."""
    _require(permissions.can_acknowledge(actor, summons))
    whistle = _lock_whistle(summons.whistle_id)
    _check_whistle_action(whistle, Action.ACKNOWLEDGE)
    note = _clean_text(note, field="note", label=_("说明"), limit=1000, required=False)
    source = _summons_transition(
        summons,
        SummonsAction.ACKNOWLEDGE,
        acknowledged_at=now,
        acknowledged_by=actor,
        **_mark_overdue(summons, summons.acknowledge_by, now),
    )
    late = now > summons.acknowledge_by
    event = _append_event(
        whistle,
        type=EventType.ACKNOWLEDGED,
        now=now,
        actor=actor,
        actor_unit_id=_acting_unit_id(actor, summons.unit_id),
        summons=summons,
        from_status=source,
        to_status=summons.status,
        note=note,
        payload={"unit": summons.unit_id, "acknowledge_by": _iso(summons.acknowledge_by), "late": late},
    )
    notifications.record_for(
        event,
        _whistle_people(whistle),
        title=_title(whistle, _("%(unit)s已响应") % {"unit": summons.unit.name}),
        exclude=actor,
    )
    _deliver_after_commit([event])
    return event


def _clean_attendees(attendees: Sequence[str]) -> list[str]:
    names = list(dict.fromkeys(n.strip() for n in attendees if n and n.strip()))
    if not names:
        raise InvalidInput(_("请填写到场人员姓名。"), field="attendees")
    if len(names) > MAX_ATTENDEES:
        raise InvalidInput(_("到场人员最多%(n)d人。") % {"n": MAX_ATTENDEES}, field="attendees")
    for name in names:
        if len(name) > MAX_NAME_LENGTH:
            raise InvalidInput(
                _("姓名「%(name)s」过长（最多%(n)d个字）。") % {"name": name[:40], "n": MAX_NAME_LENGTH},
                field="attendees",
            )
    return names


@transaction.atomic
def summons_check_in(
    *,
    summons: Summons,
    actor: Any,
    now: datetime,
    attendees: Sequence[str],
    point: Point | None = None,
    at_meeting: bool = False,
    note: str = "",
) -> WhistleEvent:
    """A summoned department reports 报到: on site with a point (WGS-84), or at the meeting of a
    long whistle, naming who came. Arriving without acknowledging first acknowledges too."""
    _require(permissions.can_check_in(actor, summons))
    whistle = _lock_whistle(summons.whistle_id)
    _check_whistle_action(whistle, Action.CHECK_IN)
    names = _clean_attendees(attendees)
    clean_point = _clean_point(point, field="point")
    if at_meeting and whistle.meeting_at is None:
        raise InvalidInput(_("该吹哨没有召开会议，请在现场报到。"), field="at_meeting")
    if clean_point is None and not at_meeting:
        raise InvalidInput(_("现场报到须提供位置。"), field="point")
    note = _clean_text(note, field="note", label=_("说明"), limit=1000, required=False)
    distance = (
        round(distance_m(whistle.lon, whistle.lat, clean_point[0], clean_point[1]), 1)
        if clean_point is not None and whistle.lon is not None and whistle.lat is not None
        else None
    )
    fields: dict[str, Any] = {
        "checked_in_at": now,
        "checked_in_by": actor,
        "check_in_lon": clean_point[0] if clean_point else None,
        "check_in_lat": clean_point[1] if clean_point else None,
        "at_meeting": at_meeting,
        "distance_m": distance,
        "attendees": names,
        "check_in_note": note,
        **_mark_overdue(summons, summons.arrive_by, now),
    }
    implicit_ack = summons.acknowledged_at is None
    if implicit_ack:
        fields.update(acknowledged_at=now, acknowledged_by=actor)
        fields.update(_mark_overdue(summons, summons.acknowledge_by, now))
    source = _summons_transition(summons, SummonsAction.CHECK_IN, **fields)
    event = _append_event(
        whistle,
        type=EventType.CHECKED_IN,
        now=now,
        actor=actor,
        actor_unit_id=_acting_unit_id(actor, summons.unit_id),
        summons=summons,
        from_status=source,
        to_status=summons.status,
        note=note,
        payload={
            "unit": summons.unit_id,
            "attendees": names,
            "at_meeting": at_meeting,
            "point": list(clean_point) if clean_point else None,
            "distance_m": distance,
            "arrive_by": _iso(summons.arrive_by),
            "late": now > summons.arrive_by,
            "acknowledged_implicitly": implicit_ack,
        },
    )
    notifications.record_for(
        event,
        _whistle_people(whistle),
        title=_title(whistle, _("%(unit)s已报到（%(n)d人）") % {"unit": summons.unit.name, "n": len(names)}),
        body="、".join(names),
        exclude=actor,
    )
    _deliver_after_commit([event])
    return event


# --- tasks ---------------------------------------------------------------------------------------


@transaction.atomic
def whistle_task_assign(
    *, summons: Summons, actor: Any, now: datetime, description: str, due_at: datetime
) -> WhistleTask:
    """The whistle's unit gives a summoned department a task with a deadline."""
    whistle = _lock_whistle(summons.whistle_id)
    _require(permissions.can_assign_task(actor, summons, whistle))
    _check_whistle_action(whistle, Action.TASK_ASSIGN)
    current = Summons.objects.filter(pk=summons.pk).values_list("status", flat=True).get()
    if current not in TASKABLE:
        raise TransitionNotAllowed(
            _("该部门当前为「%(status)s」，不能再派发任务。") % {"status": SummonsStatus(current).label},
            action=Action.TASK_ASSIGN,
            status=current,
        )
    description = _clean_text(description, field="description", label=_("任务内容"), limit=2000)
    if due_at <= now:
        raise InvalidInput(_("完成时限须晚于当前时间。"), field="due_at")
    task = WhistleTask.objects.create(
        whistle=whistle,
        summons=summons,
        description=description,
        due_at=due_at,
        warn_at=warn_at(now, due_at),
        status=TaskStatus.OPEN,
        assigned_by=actor,
        assigned_at=now,
    )
    event = _append_event(
        whistle,
        type=EventType.TASK_ASSIGNED,
        now=now,
        actor=actor,
        actor_unit_id=whistle.unit_id,
        summons=summons,
        task=task,
        to_status=TaskStatus.OPEN,
        note=description,
        payload={"unit": summons.unit_id, "due_at": _iso(due_at)},
    )
    notifications.record_for(
        event,
        _department_people([summons.unit_id]),
        title=_title(whistle, _("新任务，%(due)s前答复") % {"due": f"{due_at:%Y-%m-%d %H:%M}"}),
        body=description[:500],
        urgent=whistle.type == WhistleType.URGENT,
        exclude=actor,
    )
    _deliver_after_commit([event])
    return task


@transaction.atomic
def whistle_task_reply(*, task: WhistleTask, actor: Any, now: datetime, reply: str) -> WhistleEvent:
    """The summoned department replies to its task."""
    summons = Summons.objects.select_related("unit").get(pk=task.summons_id)
    _require(permissions.can_reply_task(actor, task, summons))
    whistle = _lock_whistle(task.whistle_id)
    _check_whistle_action(whistle, Action.TASK_REPLY)
    reply = _clean_text(reply, field="reply", label=_("答复"), limit=5000)
    overdue = {"overdue_at": task.due_at} if task.overdue_at is None and now > task.due_at else {}
    source = _task_transition(
        task, TaskAction.REPLY, reply=reply, replied_at=now, replied_by=actor, **overdue
    )
    event = _append_event(
        whistle,
        type=EventType.TASK_REPLIED,
        now=now,
        actor=actor,
        actor_unit_id=_acting_unit_id(actor, summons.unit_id),
        summons=summons,
        task=task,
        from_status=source,
        to_status=task.status,
        note=reply,
        payload={"unit": summons.unit_id, "due_at": _iso(task.due_at), "late": now > task.due_at},
    )
    notifications.record_for(
        event,
        _whistle_people(whistle),
        title=_title(whistle, _("%(unit)s答复了任务") % {"unit": summons.unit.name}),
        body=reply[:500],
        exclude=actor,
    )
    _deliver_after_commit([event])
    return event


# --- close and cancel -------------------------------------------------------------------------------


def _clean_ratings(
    summonses: Sequence[Summons], ratings: Mapping[int, RatingInput]
) -> dict[int, RatingInput]:
    expected = {s.pk for s in summonses}
    given = {int(k) for k in ratings}
    if given - expected:
        raise InvalidInput(_("评价中有不属于本次吹哨的部门。"), field="ratings")
    missing = [s for s in summonses if s.pk not in given]
    if missing:
        raise InvalidInput(
            _("请为每个被召集部门评价，尚缺：%(names)s。")
            % {"names": "、".join(s.unit.name for s in missing)},
            field="ratings",
        )
    clean: dict[int, RatingInput] = {}
    for key, rating in ratings.items():
        for score in (rating.timeliness, rating.effectiveness, rating.attitude):
            if not isinstance(score, int) or score not in RATING_RANGE:
                raise InvalidInput(_("评分须为1至5分。"), field="ratings")
        comment = (rating.comment or "").strip()
        if len(comment) > 1000:
            raise InvalidInput(_("评价意见不能超过1000个字。"), field="ratings")
        clean[int(key)] = RatingInput(rating.timeliness, rating.effectiveness, rating.attitude, comment)
    return clean


@transaction.atomic
def whistle_close(
    *, whistle: Whistle, actor: Any, now: datetime, result: str, ratings: Mapping[int, RatingInput]
) -> WhistleEvent:
    """The blowing unit closes the whistle with its result and rates every summoned department
    (``ratings`` keyed by summons id). Departments that never checked in are marked
    ``NOT_REPORTED`` (one timeline event each); open tasks are marked unanswered."""
    _require(permissions.can_close(actor, whistle))
    _sync_locked(whistle)
    _check_whistle_action(whistle, Action.CLOSE)
    result = _clean_text(result, field="result", label=_("办理结果"), limit=5000)
    summonses = list(
        Summons.objects.filter(whistle_id=whistle.pk)
        .exclude(status=SummonsStatus.CANCELLED)
        .select_related("unit")
        .order_by("pk")
    )
    clean = _clean_ratings(summonses, ratings)
    events: list[WhistleEvent] = []
    not_reported: list[int] = []
    for summons in summonses:
        if summons.status not in (SummonsStatus.SUMMONED, SummonsStatus.ACKNOWLEDGED):
            continue
        fields: dict[str, Any] = {"ended_at": now, **_mark_overdue(summons, summons.arrive_by, now)}
        source = _summons_transition(summons, SummonsAction.MARK_NOT_REPORTED, **fields)
        not_reported.append(summons.unit_id)
        marked = _append_event(
            whistle,
            type=EventType.NOT_REPORTED,
            now=now,
            actor=actor,
            actor_unit_id=whistle.unit_id,
            summons=summons,
            from_status=source,
            to_status=summons.status,
            payload={
                "unit": summons.unit_id,
                "unit_name": summons.unit.name,
                "arrive_by": _iso(summons.arrive_by),
            },
        )
        notifications.record_for(
            marked,
            _department_people([summons.unit_id]),
            title=_title(whistle, _("%(unit)s未报到，已记录") % {"unit": summons.unit.name}),
            exclude=actor,
        )
        events.append(marked)
    for task in WhistleTask.objects.filter(whistle_id=whistle.pk, status=TaskStatus.OPEN).order_by("pk"):
        source = _task_transition(task, TaskAction.EXPIRE)
        events.append(
            _append_event(
                whistle,
                type=EventType.TASK_UNANSWERED,
                now=now,
                actor=actor,
                actor_unit_id=whistle.unit_id,
                task=task,
                from_status=source,
                to_status=task.status,
                payload={"summons": task.summons_id, "due_at": _iso(task.due_at)},
            )
        )
    DepartmentRating.objects.bulk_create(
        [
            DepartmentRating(
                summons=summons,
                whistle=whistle,
                unit_id=summons.unit_id,
                rater_unit_id=whistle.unit_id,
                rated_by=actor,
                timeliness=clean[summons.pk].timeliness,
                effectiveness=clean[summons.pk].effectiveness,
                attitude=clean[summons.pk].attitude,
                comment=clean[summons.pk].comment,
                reported=summons.status == SummonsStatus.CHECKED_IN,
                rated_at=now,
            )
            for summons in summonses
        ]
    )
    source_status = whistle.status
    _whistle_transition(
        whistle, Action.CLOSE, WhistleStatus.CLOSED, result=result, closed_at=now, closed_by=actor
    )
    closed = _append_event(
        whistle,
        type=EventType.CLOSED,
        now=now,
        actor=actor,
        actor_unit_id=whistle.unit_id,
        from_status=source_status,
        to_status=whistle.status,
        note=result,
        payload={
            "not_reported": not_reported,
            "ratings": {
                str(s.unit_id): {
                    "summons": s.pk,
                    "timeliness": clean[s.pk].timeliness,
                    "effectiveness": clean[s.pk].effectiveness,
                    "attitude": clean[s.pk].attitude,
                    "reported": s.status == SummonsStatus.CHECKED_IN,
                }
                for s in summonses
            },
        },
    )
    events.append(closed)
    notifications.record_for(
        closed,
        _department_people(s.unit_id for s in summonses),
        title=_title(whistle, _("已办结，评价已记录")),
        body=result[:500],
        exclude=actor,
    )
    _deliver_after_commit(events)
    return closed


@transaction.atomic
def whistle_cancel(*, whistle: Whistle, actor: Any, now: datetime, reason: str) -> WhistleEvent:
    """The blowing unit withdraws a whistle (blown in error, or the matter resolved itself):
    departments still to report are released, open tasks cancelled; nobody is rated."""
    _require(permissions.can_cancel(actor, whistle))
    _sync_locked(whistle)
    _check_whistle_action(whistle, Action.CANCEL)
    reason = _clean_text(reason, field="reason", label=_("撤销原因"), limit=1000)
    summonses = list(Summons.objects.filter(whistle_id=whistle.pk).order_by("pk"))
    released: list[int] = []
    for summons in summonses:
        if summons.status in SUMMONS_TRANSITIONS[SummonsAction.CANCEL][0]:
            _summons_transition(summons, SummonsAction.CANCEL, ended_at=now)
            released.append(summons.unit_id)
    cancelled_tasks = []
    for task in WhistleTask.objects.filter(whistle_id=whistle.pk, status=TaskStatus.OPEN).order_by("pk"):
        _task_transition(task, TaskAction.CANCEL)
        cancelled_tasks.append(task.pk)
    source_status = whistle.status
    _whistle_transition(
        whistle, Action.CANCEL, WhistleStatus.CANCELLED, cancel_reason=reason, closed_at=now, closed_by=actor
    )
    event = _append_event(
        whistle,
        type=EventType.CANCELLED,
        now=now,
        actor=actor,
        actor_unit_id=whistle.unit_id,
        from_status=source_status,
        to_status=whistle.status,
        note=reason,
        payload={"released": released, "tasks_cancelled": cancelled_tasks},
    )
    notifications.record_for(
        event,
        _department_people(s.unit_id for s in summonses),
        title=_title(whistle, _("已撤销")),
        body=reason[:500],
        urgent=whistle.type == WhistleType.URGENT,
        exclude=actor,
    )
    _deliver_after_commit([event])
    return event


# --- the sweep -------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    warnings: int = 0
    overdue_marked: int = 0
    skipped: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Due:
    whistle_id: int
    summons_id: int
    task_id: int | None
    kind: DeadlineKind
    level: WarningLevel
    due_at: datetime


def _not_recorded(*, levels: list[str], kind: str | None = None, task: bool = False) -> Any:
    """``NOT EXISTS`` a warning at one of ``levels`` for the outer summons (kind) or task: an
    anti-join on both databases (a ``NOT IN`` over a nullable column plans badly on PostgreSQL)."""
    if task:
        warnings = WhistleWarning.objects.filter(task_id=OuterRef("pk"), level__in=levels)
    else:
        warnings = WhistleWarning.objects.filter(
            summons_id=OuterRef("pk"), kind=kind, level__in=levels, task__isnull=True
        )
    return ~Exists(warnings)


def _due_warnings(now: datetime, limit: int) -> list[_Due]:
    """Deadlines whose yellow or red warning is due and not yet recorded (a red one makes the
    yellow one moot). Reads only; the recording re-checks under the lock. The yellow instant
    never follows the deadline, so both filters start from the indexed ``*_warn_at`` columns."""
    open_whistle = Q(whistle__status=WhistleStatus.OPEN)
    waiting: list[str] = [SummonsStatus.SUMMONED, SummonsStatus.ACKNOWLEDGED]
    due: list[_Due] = []
    specs: list[tuple[DeadlineKind, list[str], str, str]] = [
        (DeadlineKind.ACKNOWLEDGE, [SummonsStatus.SUMMONED], "acknowledge_warn_at", "acknowledge_by"),
        (DeadlineKind.ARRIVE, waiting, "arrive_warn_at", "arrive_by"),
    ]
    fields = ("whistle_id", "pk")
    for kind, statuses, warn_field, due_field in specs:
        base = Summons.objects.filter(open_whistle, status__in=statuses, **{f"{warn_field}__lte": now})
        red = base.filter(_not_recorded(kind=kind, levels=[WarningLevel.RED]), **{f"{due_field}__lte": now})
        for whistle_id, pk, due_at in red.order_by(due_field, "pk").values_list(*fields, due_field)[:limit]:
            due.append(_Due(whistle_id, pk, None, kind, WarningLevel.RED, due_at))
        yellow = base.filter(
            _not_recorded(kind=kind, levels=[WarningLevel.YELLOW, WarningLevel.RED]),
            **{f"{due_field}__gt": now},
        )
        for whistle_id, pk, due_at in yellow.order_by(warn_field, "pk").values_list(*fields, due_field)[
            :limit
        ]:
            due.append(_Due(whistle_id, pk, None, kind, WarningLevel.YELLOW, due_at))
    tasks = WhistleTask.objects.filter(open_whistle, status=TaskStatus.OPEN, warn_at__lte=now)
    task_fields = ("whistle_id", "summons_id", "pk", "due_at")
    for whistle_id, summons_id, pk, due_at in (
        tasks.filter(_not_recorded(task=True, levels=[WarningLevel.RED]), due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list(*task_fields)[:limit]
    ):
        due.append(_Due(whistle_id, summons_id, pk, DeadlineKind.TASK, WarningLevel.RED, due_at))
    for whistle_id, summons_id, pk, due_at in (
        tasks.filter(_not_recorded(task=True, levels=[WarningLevel.YELLOW, WarningLevel.RED]), due_at__gt=now)
        .order_by("warn_at", "pk")
        .values_list(*task_fields)[:limit]
    ):
        due.append(_Due(whistle_id, summons_id, pk, DeadlineKind.TASK, WarningLevel.YELLOW, due_at))
    return due


def _still_due(item: _Due, summons: Summons, task: WhistleTask | None) -> bool:
    if task is not None:
        return task.status == TaskStatus.OPEN
    if item.kind == DeadlineKind.ACKNOWLEDGE:
        return summons.status == SummonsStatus.SUMMONED
    return summons.status in (SummonsStatus.SUMMONED, SummonsStatus.ACKNOWLEDGED)


class _People:
    """Recipients looked up once per sweep (a sweep may warn one unit many times)."""

    def __init__(self) -> None:
        self._departments: dict[int, list[Any]] = {}
        self._whistle_units: dict[int, list[Any]] = {}

    def department(self, unit_id: int) -> list[Any]:
        if unit_id not in self._departments:
            self._departments[unit_id] = _department_people([unit_id])
        return self._departments[unit_id]

    def street(self, whistle: Whistle) -> list[Any]:
        if whistle.unit_id not in self._whistle_units:
            self._whistle_units[whistle.unit_id] = notifications.users_at(
                [whistle.unit_id], permissions.WHISTLE_ROLES
            )
        people = list(self._whistle_units[whistle.unit_id])
        if all(u.pk != whistle.blown_by_id for u in people):
            people.append(whistle.blown_by)
        return people


def _record_warning(item: _Due, *, now: datetime, people: _People) -> tuple[bool, bool]:
    """Record one warning in its own transaction: (recorded, marked overdue). Safe under several
    workers: the whistle lock serialises them, the state and the existing rows are read again
    under it, and the unique row refuses a second copy."""
    with transaction.atomic():
        whistle = _lock_whistle(item.whistle_id)
        if whistle.status != WhistleStatus.OPEN:
            return False, False
        summons = Summons.objects.select_related("unit").get(pk=item.summons_id)
        task = WhistleTask.objects.get(pk=item.task_id) if item.task_id is not None else None
        if not _still_due(item, summons, task):
            return False, False
        levels: list[str] = (
            [WarningLevel.RED] if item.level == WarningLevel.RED else [WarningLevel.YELLOW, WarningLevel.RED]
        )
        existing = WhistleWarning.objects.filter(level__in=levels)
        existing = (
            existing.filter(task_id=item.task_id)
            if item.task_id is not None
            else existing.filter(summons_id=item.summons_id, kind=item.kind, task__isnull=True)
        )
        if existing.exists():
            return False, False
        event = _append_event(
            whistle,
            type=EventType.DEADLINE_WARNING,
            now=now,
            summons=summons,
            task=task,
            payload={
                "unit": summons.unit_id,
                "kind": item.kind.value,
                "level": item.level.value,
                "due_at": _iso(item.due_at),
            },
        )
        WhistleWarning.objects.create(
            whistle=whistle,
            summons=summons,
            task=task,
            kind=item.kind,
            level=item.level,
            due_at=item.due_at,
            recorded_at=now,
            event=event,
        )
        marked = False
        if item.level == WarningLevel.RED:
            if task is not None:
                target = WhistleTask.objects.filter(pk=task.pk, overdue_at__isnull=True)
                marked = target.update(overdue_at=item.due_at) == 1
            else:
                late = Summons.objects.filter(pk=summons.pk, overdue_at__isnull=True)
                marked = late.update(overdue_at=item.due_at) == 1
        what = _("%(unit)s%(kind)s%(level)s") % {
            "unit": summons.unit.name,
            "kind": item.kind.label,
            "level": _("已超时") if item.level == WarningLevel.RED else _("即将到期"),
        }
        recipients = list(people.department(summons.unit_id))
        if item.level == WarningLevel.RED:
            recipients += people.street(whistle)
        notifications.record_for(
            event, recipients, title=_title(whistle, what), urgent=whistle.type == WhistleType.URGENT
        )
        _deliver_after_commit([event])
        return True, marked


def whistle_sweep(*, now: datetime, limit: int = 1000) -> SweepResult:
    """Record the yellow and red warnings that fell due (each once: unique rows, re-checked under
    the whistle lock) and mark summonses and tasks overdue at their first missed deadline.
    Each warning is its own transaction, so one failure does not undo the others."""
    result = SweepResult()
    people = _People()
    for item in _due_warnings(now, limit):
        try:
            recorded, marked = _record_warning(item, now=now, people=people)
        except IntegrityError:  # another worker recorded it between our check and insert
            recorded, marked = False, False
        if recorded:
            result.warnings += 1
            key = f"{item.kind}:{item.level}"
            result.by_kind[key] = result.by_kind.get(key, 0) + 1
        else:
            result.skipped += 1
        if marked:
            result.overdue_marked += 1
    return result
