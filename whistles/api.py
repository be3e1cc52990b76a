"""The 吹哨报到 HTTP API: ``/api/v1/whistles/…`` (API tokens, ``core.api_auth``).

Handlers are thin: parse, load through ``whistles.selectors`` (scope), call one
``whistles.services`` function, present the result with the output schemas. Input and output
schemas are separate. Every action may carry ``version``: a client that saw an older version gets
409. Coordinates come in any declared system (``coord_system``) and are stored and returned as
WGS-84.

Errors (``domain_errors``), each body ``{"detail": <Chinese>, "code": <stable name>}`` — the
shape of the orders API:

=================================================  ======  ==========================
``whistles.errors.InvalidInput``                   422     ``invalid_input`` (+ ``errors``)
``TransitionNotAllowed`` / ``StaleTransition``      409     their ``code``
``whistles.errors.NotFound``                       404     ``not_found``
``django.core.exceptions.PermissionDenied``        403     ``permission_denied``
other ``WhistleError``                             400     its ``code``
=================================================  ======  ==========================
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from core.api_auth import ApiTokenAuth
from orgs.geo import CoordinatesError, CoordSystem, to_wgs84
from orgs.models import Unit
from whistles import permissions, selectors, services
from whistles.choices import EventType, SummonsStatus, TaskStatus, WhistleStatus, WhistleType
from whistles.errors import InvalidInput, WhistleError
from whistles.models import Summons, Whistle, WhistleEvent, WhistleTask
from whistles.selectors import BoardSummons, InboxItem, WhistleDetail

router = Router(auth=ApiTokenAuth(), tags=["吹哨报到"])

TEXT_MAX = 5000

# --- errors --------------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str
    code: str


class FieldErrorOut(Schema):
    loc: list[str | int]
    msg: str
    type: str


class InvalidOut(Schema):
    detail: str
    code: str
    errors: list[FieldErrorOut]


# 401: the API's token authentication answers before any handler (``{"detail", "code"}``)
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: InvalidOut,
}

F = TypeVar("F", bound=Callable[..., Any])


def error_body(exc: Exception) -> tuple[int, dict[str, Any]]:
    """The status and body for a refused action (also used by the pages' htmx answers)."""
    if isinstance(exc, PermissionDenied):
        return 403, {"detail": str(exc) or _("您无权执行此操作。"), "code": "permission_denied"}
    if isinstance(exc, InvalidInput):
        loc: list[str | int] = ["body", exc.field] if exc.field else ["body"]
        return 422, {
            "detail": exc.message,
            "code": exc.code,
            "errors": [{"loc": loc, "msg": exc.message, "type": exc.code}],
        }
    if isinstance(exc, WhistleError):
        return exc.status, {"detail": exc.message, "code": exc.code}
    raise exc


def domain_errors(handler: F) -> F:
    """Answer domain refusals with their status and Chinese message."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except (PermissionDenied, WhistleError) as exc:
            status, body = error_body(exc)
            return Status(status, body)

    return wrapper  # type: ignore[return-value]


def _actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError("须带时区（如 2025-03-03T09:00:00+08:00）。")
    return value


def _wgs84(
    lon: float | None, lat: float | None, system: CoordSystem, *, field: str
) -> tuple[float, float] | None:
    if lon is None and lat is None:
        return None
    if lon is None or lat is None:
        raise InvalidInput(_("经度和纬度须同时提供。"), field=field)
    try:
        return to_wgs84(lon, lat, system)
    except CoordinatesError as exc:
        raise InvalidInput(str(exc), field=field) from None


# --- input schemas -------------------------------------------------------------------------------


class VersionedIn(Schema):
    version: int | None = Field(None, ge=0, description="客户端看到的版本；不一致时返回 409")


class BoardFilterIn(Schema):
    status: str = Field(
        "open", pattern="^(open|closed|cancelled|all)$", description="open | closed | cancelled | all"
    )
    limit: int = Field(100, ge=1, le=200)


class InboxFilterIn(Schema):
    open_only: bool = Field(True, description="只看进行中的吹哨")
    limit: int = Field(100, ge=1, le=200)


class WhistleBlowIn(Schema):
    unit_id: int = Field(..., ge=1, description="吹哨单位（街道或社区）")
    type: WhistleType
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field(..., min_length=1, max_length=TEXT_MAX)
    summon_unit_ids: list[int] = Field(..., min_length=1, max_length=services.MAX_SUMMONED_UNITS)
    address: str = Field("", max_length=255)
    lon: float | None = Field(None, description="经度（按 coord_system）")
    lat: float | None = Field(None, description="纬度（按 coord_system）")
    coord_system: CoordSystem = Field(CoordSystem.WGS84, description="坐标系：wgs84 | gcj02 | bd09")
    meeting_at: datetime | None = Field(None, description="长哨：会议时间（带时区）")
    meeting_place: str = Field("", max_length=255)
    order_ids: list[int] = Field(default_factory=list, max_length=services.MAX_ORDERS)

    _aware_meeting = field_validator("meeting_at")(_aware)


class AcknowledgeIn(VersionedIn):
    note: str = Field("", max_length=1000)


class CheckInIn(VersionedIn):
    attendees: list[str] = Field(
        ..., min_length=1, max_length=services.MAX_ATTENDEES, description="到场人员姓名"
    )
    lon: float | None = Field(None, description="现场经度（按 coord_system）")
    lat: float | None = Field(None, description="现场纬度（按 coord_system）")
    coord_system: CoordSystem = Field(CoordSystem.WGS84)
    at_meeting: bool = Field(False, description="长哨：参会报到")
    note: str = Field("", max_length=1000)


class TaskAssignIn(Schema):
    summons_id: int = Field(..., ge=1)
    description: str = Field(..., min_length=1, max_length=2000)
    due_at: datetime

    _aware_due = field_validator("due_at")(_aware)


class TaskReplyIn(VersionedIn):
    reply: str = Field(..., min_length=1, max_length=TEXT_MAX)


class RatingIn(Schema):
    summons_id: int = Field(..., ge=1)
    timeliness: int = Field(..., ge=1, le=5, description="响应及时 1–5")
    effectiveness: int = Field(..., ge=1, le=5, description="解决实效 1–5")
    attitude: int = Field(..., ge=1, le=5, description="工作态度 1–5")
    comment: str = Field("", max_length=1000)


class CloseIn(VersionedIn):
    result: str = Field(..., min_length=1, max_length=TEXT_MAX)
    ratings: list[RatingIn] = Field(..., max_length=services.MAX_SUMMONED_UNITS)


class CancelIn(VersionedIn):
    reason: str = Field(..., min_length=1, max_length=1000)


# --- output schemas --------------------------------------------------------------------------------


class UnitOut(Schema):
    id: int
    name: str
    kind: str


class PointOut(Schema):
    lon: float
    lat: float
    crs: str = "WGS-84"


class RatingOut(Schema):
    timeliness: int
    effectiveness: int
    attitude: int
    comment: str
    reported: bool
    rated_at: datetime


class TaskOut(Schema):
    id: int
    summons_id: int
    description: str
    due_at: datetime
    status: TaskStatus
    status_label: str
    assigned_at: datetime
    reply: str
    replied_at: datetime | None
    overdue: bool
    version: int


class SummonsOut(Schema):
    id: int
    unit: UnitOut
    status: SummonsStatus
    status_label: str
    progress: str
    progress_label: str
    acknowledge_by: datetime
    arrive_by: datetime
    acknowledged_at: datetime | None
    checked_in_at: datetime | None
    check_in_point: PointOut | None
    at_meeting: bool
    distance_m: float | None
    attendees: list[str]
    overdue_at: datetime | None
    provisional: bool
    version: int
    rating: RatingOut | None = None


class WhistleBriefOut(Schema):
    id: int
    type: WhistleType
    type_label: str
    status: WhistleStatus
    status_label: str
    title: str
    unit: UnitOut
    address: str
    point: PointOut | None
    meeting_at: datetime | None
    meeting_place: str
    blown_at: datetime
    version: int


class WhistleBoardOut(WhistleBriefOut):
    summonses: list[SummonsOut]
    open_tasks: int
    reported: int
    late: int


class EventOut(Schema):
    seq: int
    type: EventType
    type_label: str
    actor: str
    actor_unit: str
    summons_id: int | None
    task_id: int | None
    from_status: str
    to_status: str
    note: str
    payload: dict[str, Any]
    occurred_at: datetime


class OrderLinkOut(Schema):
    id: int
    number: str
    title: str
    status: str
    status_label: str


class WhistleDetailOut(WhistleBriefOut):
    description: str
    result: str
    cancel_reason: str
    closed_at: datetime | None
    summonses: list[SummonsOut]
    tasks: list[TaskOut]
    events: list[EventOut]
    orders: list[OrderLinkOut]
    can_manage: bool
    my_summons_ids: list[int]


class InboxItemOut(SummonsOut):
    whistle: WhistleBriefOut
    tasks: list[TaskOut]


class ActionOut(Schema):
    event: EventOut


class TaskAssignedOut(Schema):
    task: TaskOut


class BlowOptionsOut(Schema):
    unit: UnitOut
    summonable: list[UnitOut]


# --- presenting ------------------------------------------------------------------------------------


def _unit(unit: Unit) -> dict[str, Any]:
    return {"id": unit.pk, "name": unit.name, "kind": unit.kind}


def _point(lon: float | None, lat: float | None) -> dict[str, Any] | None:
    return {"lon": lon, "lat": lat, "crs": "WGS-84"} if lon is not None and lat is not None else None


def _task(task: WhistleTask) -> dict[str, Any]:
    return {
        "id": task.pk,
        "summons_id": task.summons_id,
        "description": task.description,
        "due_at": task.due_at,
        "status": task.status,
        "status_label": str(TaskStatus(task.status).label),
        "assigned_at": task.assigned_at,
        "reply": task.reply,
        "replied_at": task.replied_at,
        "overdue": task.overdue_at is not None,
        "version": task.version,
    }


def _summons(item: BoardSummons | InboxItem, *, with_rating: bool = False) -> dict[str, Any]:
    s: Summons = item.summons
    data: dict[str, Any] = {
        "id": s.pk,
        "unit": _unit(s.unit),
        "status": s.status,
        "status_label": str(SummonsStatus(s.status).label),
        "progress": item.progress,
        "progress_label": item.label,
        "acknowledge_by": s.acknowledge_by,
        "arrive_by": s.arrive_by,
        "acknowledged_at": s.acknowledged_at,
        "checked_in_at": s.checked_in_at,
        "check_in_point": _point(s.check_in_lon, s.check_in_lat),
        "at_meeting": s.at_meeting,
        "distance_m": s.distance_m,
        "attendees": list(s.attendees or []),
        "overdue_at": s.overdue_at,
        "provisional": s.provisional,
        "version": s.version,
        "rating": None,
    }
    if with_rating:
        rating = getattr(s, "rating", None)
        if rating is not None:
            data["rating"] = {
                "timeliness": rating.timeliness,
                "effectiveness": rating.effectiveness,
                "attitude": rating.attitude,
                "comment": rating.comment,
                "reported": rating.reported,
                "rated_at": rating.rated_at,
            }
    return data


def _brief(whistle: Whistle) -> dict[str, Any]:
    return {
        "id": whistle.pk,
        "type": whistle.type,
        "type_label": str(WhistleType(whistle.type).label),
        "status": whistle.status,
        "status_label": str(WhistleStatus(whistle.status).label),
        "title": whistle.title,
        "unit": _unit(whistle.unit),
        "address": whistle.address,
        "point": _point(whistle.lon, whistle.lat),
        "meeting_at": whistle.meeting_at,
        "meeting_place": whistle.meeting_place,
        "blown_at": whistle.blown_at,
        "version": whistle.version,
    }


def present_event(event: WhistleEvent) -> dict[str, Any]:
    actor = event.actor
    return {
        "seq": event.seq,
        "type": event.type,
        "type_label": str(EventType(event.type).label),
        "actor": str(actor) if actor is not None else _("系统"),
        "actor_unit": event.actor_unit.name if event.actor_unit is not None else "",
        "summons_id": event.summons_id,
        "task_id": event.task_id,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note,
        "payload": dict(event.payload or {}),
        "occurred_at": event.occurred_at,
    }


def present_detail(detail: WhistleDetail) -> dict[str, Any]:
    return {
        **_brief(detail.whistle),
        "description": detail.whistle.description,
        "result": detail.whistle.result,
        "cancel_reason": detail.whistle.cancel_reason,
        "closed_at": detail.whistle.closed_at,
        "summonses": [_summons(s, with_rating=True) for s in detail.summonses],
        "tasks": [_task(t) for t in detail.tasks],
        "events": [present_event(e) for e in detail.events],
        "orders": [
            {
                "id": o.pk,
                "number": o.number,
                "title": o.title,
                "status": o.status,
                "status_label": o.status_label,
            }
            for o in detail.orders
        ],
        "can_manage": detail.can_manage,
        "my_summons_ids": sorted(detail.acting_summons_ids),
    }


def _detail_response(request: HttpRequest, pk: int) -> dict[str, Any]:
    return present_detail(selectors.whistle_detail(_actor(request), pk, now=timezone.now()))


def _event_response(event: WhistleEvent) -> dict[str, Any]:
    event = WhistleEvent.objects.select_related("actor", "actor_unit").get(pk=event.pk)
    return {"event": present_event(event)}


def _versioned(obj: Any, version: int | None) -> None:
    if version is not None:
        obj.version = version


# --- endpoints: lists -------------------------------------------------------------------------------


@router.get("/", response={200: list[WhistleBoardOut], **ERRORS}, summary="吹哨看板（我辖区内的吹哨）")
def board(request: HttpRequest, filters: Query[BoardFilterIn]) -> Any:
    status = None if filters.status == "all" else filters.status
    rows = selectors.whistle_board(_actor(request), now=timezone.now(), status=status, limit=filters.limit)
    return [
        {
            **_brief(row.whistle),
            "summonses": [_summons(s) for s in row.summonses],
            "open_tasks": row.open_tasks,
            "reported": len(row.reported),
            "late": len(row.late),
        }
        for row in rows
    ]


@router.get("/summons", response={200: list[InboxItemOut], **ERRORS}, summary="本部门的报到任务")
def inbox(request: HttpRequest, filters: Query[InboxFilterIn]) -> Any:
    items = selectors.summons_inbox(
        _actor(request), now=timezone.now(), open_only=filters.open_only, limit=filters.limit
    )
    return [
        {**_summons(i), "whistle": _brief(i.summons.whistle), "tasks": [_task(t) for t in i.tasks]}
        for i in items
    ]


@router.get("/options", response={200: list[BlowOptionsOut], **ERRORS}, summary="可吹哨的单位及可召集的部门")
def blow_options(request: HttpRequest) -> Any:
    return [
        {"unit": _unit(unit), "summonable": [_unit(u) for u in selectors.summonable_units_for(unit)]}
        for unit in permissions.blowing_units(_actor(request))
    ]


@router.get("/{int:whistle_id}", response={200: WhistleDetailOut, **ERRORS}, summary="吹哨详情与时间线")
@domain_errors
def detail(request: HttpRequest, whistle_id: int) -> Any:
    return _detail_response(request, whistle_id)


# --- endpoints: actions ------------------------------------------------------------------------------


@router.post("/", response={201: WhistleDetailOut, **ERRORS}, summary="吹哨")
@domain_errors
def blow(request: HttpRequest, payload: WhistleBlowIn) -> Any:
    actor = _actor(request)
    unit = Unit.objects.filter(pk=payload.unit_id).first()
    if unit is None:
        raise InvalidInput(_("吹哨单位不存在。"), field="unit_id")
    whistle = services.whistle_blow(
        actor=actor,
        unit=unit,
        type=payload.type,
        title=payload.title,
        description=payload.description,
        summon_unit_ids=payload.summon_unit_ids,
        now=timezone.now(),
        address=payload.address,
        point=_wgs84(payload.lon, payload.lat, payload.coord_system, field="lon"),
        meeting_at=payload.meeting_at,
        meeting_place=payload.meeting_place,
        order_ids=payload.order_ids,
    )
    return Status(201, _detail_response(request, whistle.pk))


@router.post("/summons/{int:summons_id}/acknowledge", response={200: ActionOut, **ERRORS}, summary="响应")
@domain_errors
def acknowledge(request: HttpRequest, summons_id: int, payload: AcknowledgeIn) -> Any:
    summons = selectors.summons_get_for_user(_actor(request), summons_id)
    _versioned(summons, payload.version)
    event = services.summons_acknowledge(
        summons=summons, actor=_actor(request), now=timezone.now(), note=payload.note
    )
    return _event_response(event)


@router.post("/summons/{int:summons_id}/check-in", response={200: ActionOut, **ERRORS}, summary="报到")
@domain_errors
def check_in(request: HttpRequest, summons_id: int, payload: CheckInIn) -> Any:
    summons = selectors.summons_get_for_user(_actor(request), summons_id)
    _versioned(summons, payload.version)
    event = services.summons_check_in(
        summons=summons,
        actor=_actor(request),
        now=timezone.now(),
        attendees=payload.attendees,
        point=_wgs84(payload.lon, payload.lat, payload.coord_system, field="point"),
        at_meeting=payload.at_meeting,
        note=payload.note,
    )
    return _event_response(event)


@router.post("/{int:whistle_id}/tasks", response={201: TaskAssignedOut, **ERRORS}, summary="派发任务")
@domain_errors
def task_assign(request: HttpRequest, whistle_id: int, payload: TaskAssignIn) -> Any:
    whistle = selectors.whistle_get_for_user(_actor(request), whistle_id)
    summons = Summons.objects.filter(pk=payload.summons_id, whistle_id=whistle.pk).first()
    if summons is None:
        raise InvalidInput(_("该部门不在本次召集之列。"), field="summons_id")
    task = services.whistle_task_assign(
        summons=summons,
        actor=_actor(request),
        now=timezone.now(),
        description=payload.description,
        due_at=payload.due_at,
    )
    return Status(201, {"task": _task(task)})


@router.post("/tasks/{int:task_id}/reply", response={200: ActionOut, **ERRORS}, summary="答复任务")
@domain_errors
def task_reply(request: HttpRequest, task_id: int, payload: TaskReplyIn) -> Any:
    task = selectors.task_get_for_user(_actor(request), task_id)
    _versioned(task, payload.version)
    event = services.whistle_task_reply(
        task=task, actor=_actor(request), now=timezone.now(), reply=payload.reply
    )
    return _event_response(event)


@router.post("/{int:whistle_id}/close", response={200: ActionOut, **ERRORS}, summary="办结并评价各部门")
@domain_errors
def close(request: HttpRequest, whistle_id: int, payload: CloseIn) -> Any:
    whistle = selectors.whistle_get_for_user(_actor(request), whistle_id)
    _versioned(whistle, payload.version)
    ratings = {
        r.summons_id: services.RatingInput(r.timeliness, r.effectiveness, r.attitude, r.comment)
        for r in payload.ratings
    }
    event = services.whistle_close(
        whistle=whistle, actor=_actor(request), now=timezone.now(), result=payload.result, ratings=ratings
    )
    return _event_response(event)


@router.post("/{int:whistle_id}/cancel", response={200: ActionOut, **ERRORS}, summary="撤销吹哨")
@domain_errors
def cancel(request: HttpRequest, whistle_id: int, payload: CancelIn) -> Any:
    whistle = selectors.whistle_get_for_user(_actor(request), whistle_id)
    _versioned(whistle, payload.version)
    event = services.whistle_cancel(
        whistle=whistle, actor=_actor(request), now=timezone.now(), reason=payload.reason
    )
    return _event_response(event)
