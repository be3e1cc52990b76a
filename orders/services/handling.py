"""Handling 办理: accept, return, delegate down, record contact, reveal the number, extension and
suspension requests and decisions, resume, reply."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record
from orders import deadlines, permissions
from orders.choices import (
    ASSIGNMENT_ACTIVE,
    Action,
    AssignmentRole,
    AssignmentStatus,
    ContactMethod,
    OrderStatus,
    ReplyOutcome,
    RequestStatus,
    RevealField,
    SupervisionStatus,
)
from orders.errors import InvalidInput, RateLimited, TransitionNotAllowed
from orders.models import (
    Assignment,
    Attachment,
    ContactRecord,
    ExtensionRequest,
    Order,
    OrderEvent,
    PhoneReveal,
    Reply,
    Supervision,
    SuspensionRequest,
)
from orders.services._core import (
    apply_clock,
    begin,
    dispatchers,
    move_assignment,
    notify,
    pick_assignment,
    require,
    require_reason,
    sync,
    top_lead,
    transition,
    unit_people,
)
from orders.states import AssignmentAction
from orgs.models import Unit, UnitClosure

EXPLANATION_MAX = 5000
DEFAULT_EXTENSION_MAX = 30
DEFAULT_REVEAL_LIMIT = 20
DEFAULT_REVEAL_WINDOW_SECONDS = 3600


def _is_top_lead(a: Assignment) -> bool:
    return a.role == AssignmentRole.LEAD and a.parent_id is None


def _reviewer_people(order: Order, a: Assignment) -> list[Any]:
    """Who decides on this assignment's reply or extension: parent unit, lead unit, dispatchers."""
    if a.parent_id is not None:
        parent_unit = Assignment.objects.filter(pk=a.parent_id).values_list("unit_id", flat=True).first()
        return unit_people(parent_unit)
    if a.role == AssignmentRole.ASSIST:
        return unit_people(order.first_receiver_unit_id or order.lead_unit_id)
    return dispatchers(order)


# --- accept / return ----------------------------------------------------------------------------


@transaction.atomic
def order_accept(
    *, order: Order, actor: Any, now: dt.datetime, assignment: Assignment | None = None
) -> OrderEvent:
    """签收. The top lead's acceptance moves the order to in progress and makes its unit the first
    receiver 首接单位; a delegated child or an assisting unit accepts its own assignment."""
    current = begin(order, Action.ACCEPT)
    a = pick_assignment(current, actor, assignment, [AssignmentStatus.PENDING])
    require(permissions.can_accept(actor, current, a))
    if a.status != AssignmentStatus.PENDING:
        raise TransitionNotAllowed(_("该派单记录已签收或已结束。"), action=Action.ACCEPT, status=a.status)
    move_assignment(a, AssignmentAction.ACCEPT, now=now, accepted_at=now)
    fields: dict[str, Any] = {}
    to_status = current.status
    if _is_top_lead(a):
        to_status = OrderStatus.IN_PROGRESS
        if current.first_receiver_unit_id is None:
            fields["first_receiver_unit_id"] = a.unit_id
    event = transition(
        current,
        Action.ACCEPT,
        actor=actor,
        now=now,
        to_status=to_status,
        actor_unit=a.unit,
        assignment=a,
        fields=fields,
    )
    sync(order, current)
    return event


@transaction.atomic
def order_return(
    *, order: Order, actor: Any, now: dt.datetime, reason: str, assignment: Assignment | None = None
) -> OrderEvent:
    """退单: the lead unit says the order is not theirs; the dispatcher rules on it."""
    current = begin(order, Action.RETURN)
    a = pick_assignment(current, actor, assignment, [AssignmentStatus.PENDING])
    require(permissions.can_return(actor, current, a))
    if not _is_top_lead(a):
        raise InvalidInput(_("只有主办单位可以申请退单；协办或下派单位请在反馈中说明。"))
    text = require_reason(reason, what=_("请填写退单理由。"))
    move_assignment(a, AssignmentAction.RETURN, now=now)
    event = transition(
        current,
        Action.RETURN,
        actor=actor,
        now=now,
        to_status=OrderStatus.RETURN_REQUESTED,
        actor_unit=a.unit,
        assignment=a,
        reason=text,
    )
    notify(event, current, dispatchers(current), actor=actor)
    sync(order, current)
    return event


# --- delegate -------------------------------------------------------------------------------------


@transaction.atomic
def order_delegate(
    *,
    order: Order,
    actor: Any,
    now: dt.datetime,
    unit: Unit,
    assignment: Assignment | None = None,
    note: str = "",
    limits: deadlines.Limits | None = None,
) -> OrderEvent:
    """下派: hand the work down to a unit below; the child gets its own limits from now, each
    capped by what its parent has left."""
    current = begin(order, Action.DELEGATE)
    a = pick_assignment(current, actor, assignment, [AssignmentStatus.ACCEPTED])
    require(permissions.can_delegate(actor, current, a))
    if a.status != AssignmentStatus.ACCEPTED:
        raise TransitionNotAllowed(
            _("只有已签收的派单记录可以下派。"), action=Action.DELEGATE, status=a.status
        )
    if not unit.is_active:
        raise InvalidInput(_("单位「%(n)s」已停用。") % {"n": unit.name})
    below = UnitClosure.objects.filter(ancestor_id=a.unit_id, descendant_id=unit.pk, depth__gt=0).exists()
    if not below:
        raise InvalidInput(_("只能下派给本单位的下级单位。"))
    if Assignment.objects.filter(parent_id=a.pk, status__in=list(ASSIGNMENT_ACTIVE)).exists():
        raise InvalidInput(_("已下派给下级单位，请等其办结后再下派。"))
    use = limits or deadlines.Limits(a.limit_unit, a.accept_within, a.contact_within, a.reply_within)
    child = Assignment.objects.create(
        order_id=current.pk,
        unit=unit,
        role=a.role,
        parent=a,
        status=AssignmentStatus.PENDING,
        round=a.round,
        dispatched_by=actor,
        dispatched_at=now,
        limit_unit=use.unit,
        accept_within=use.accept,
        contact_within=use.contact,
        reply_within=use.reply,
    )
    clock = apply_clock(current, [deadlines.op_start(child.pk, use, parent_id=a.pk)], now=now)
    event = transition(
        current,
        Action.DELEGATE,
        actor=actor,
        now=now,
        actor_unit=a.unit,
        assignment=child,
        reason=note.strip(),
        payload={"parent": a.pk, "unit": unit.pk, **clock},
    )
    notify(event, current, unit_people(unit.pk), actor=actor)
    sync(order, current)
    return event


# --- contact and the number ---------------------------------------------------------------------


@transaction.atomic
def order_record_contact(
    *,
    order: Order,
    actor: Any,
    now: dt.datetime,
    method: str = ContactMethod.PHONE,
    note: str = "",
    assignment: Assignment | None = None,
) -> OrderEvent:
    """The unit contacted the resident; the first contact meets the contact-by limit."""
    current = begin(order, Action.RECORD_CONTACT)
    a = pick_assignment(current, actor, assignment, [AssignmentStatus.ACCEPTED])
    require(permissions.can_record_contact(actor, current, a))
    if a.status != AssignmentStatus.ACCEPTED:
        raise TransitionNotAllowed(
            _("只有已签收的派单记录可以登记联系。"), action=Action.RECORD_CONTACT, status=a.status
        )
    if method not in ContactMethod.values:
        raise InvalidInput(_("未知的联系方式。"))
    if current.confidential and method != ContactMethod.HOTLINE:
        raise InvalidInput(_("保密件只能经热线转接联系群众。"))
    if a.contacted_at is None:
        Assignment.objects.filter(pk=a.pk).update(contacted_at=now)
    ContactRecord.objects.create(
        order_id=current.pk, assignment=a, actor=actor, method=method, note=note.strip(), contacted_at=now
    )
    event = transition(
        current,
        Action.RECORD_CONTACT,
        actor=actor,
        now=now,
        actor_unit=a.unit,
        assignment=a,
        reason=note.strip(),
        payload={"method": method},
    )
    sync(order, current)
    return event


def _reveal_allowance(actor: Any, now: dt.datetime) -> None:
    """At most ``ORDERS_REVEAL_LIMIT`` reveals per ``ORDERS_REVEAL_WINDOW_SECONDS`` per user, counted
    in the shared cache (a fixed window keyed by its start)."""
    limit = int(getattr(settings, "ORDERS_REVEAL_LIMIT", DEFAULT_REVEAL_LIMIT))
    window = int(getattr(settings, "ORDERS_REVEAL_WINDOW_SECONDS", DEFAULT_REVEAL_WINDOW_SECONDS))
    slot = int(now.timestamp()) // window
    key = f"orders:reveal:{actor.pk}:{slot}"
    cache.add(key, 0, timeout=window * 2)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window * 2)
        count = 1
    if count > limit:
        raise RateLimited(_("查看号码过于频繁，请稍后再试。"))


@transaction.atomic
def order_reveal_phone(
    *, order: Order, actor: Any, now: dt.datetime, reason: str, field: str = RevealField.PHONE
) -> str:
    """Reveal the requester's number (or ID number) to the current holder, with a reason; rate
    limited, logged (``PhoneReveal``), audited (``orders.phone_reveal``) and on the timeline.
    Confidential orders only through the hotline. Returns the plain value."""
    current = begin(order, Action.REVEAL_PHONE)
    require(
        permissions.can_reveal_phone(actor, current),
        _("保密件只能由热线查看号码。") if current.confidential else _("只有当前承办人可以查看群众号码。"),
    )
    text = require_reason(reason, what=_("请填写查看号码的理由。"))
    if field not in RevealField.values:
        raise InvalidInput(_("未知的字段。"))
    value = str(current.requester_phone if field == RevealField.PHONE else current.requester_id_number)
    if not value:
        raise InvalidInput(_("该工单没有登记此项信息。"))
    _reveal_allowance(actor, now)
    unit = permissions.actor_unit(
        actor,
        current.holder_unit_id or current.dispatch_unit_id,
        permissions.HANDLING_ROLES | permissions.HOTLINE_ROLES | permissions.CALLBACK_ROLES,
    )
    PhoneReveal.objects.create(
        order_id=current.pk, actor=actor, actor_unit=unit, field=field, reason=text, revealed_at=now
    )
    audit_record(
        event_type="orders.phone_reveal",
        actor=actor,
        object_type="orders.Order",
        object_id=current.pk,
        extra={"number": current.number, "field": field, "reason": text},
        now=now,
    )
    transition(
        current,
        Action.REVEAL_PHONE,
        actor=actor,
        now=now,
        actor_unit=unit,
        reason=text,
        payload={"field": field},
        derive=False,
    )
    sync(order, current)
    return value


# --- extension --------------------------------------------------------------------------------------


@transaction.atomic
def order_extension_request(
    *,
    order: Order,
    actor: Any,
    now: dt.datetime,
    amount: int,
    reason: str,
    assignment: Assignment | None = None,
) -> ExtensionRequest:
    """延期申请: ``amount`` more working days (or hours, for hour limits) on the reply-by."""
    current = begin(order, Action.EXTENSION_REQUEST)
    a = pick_assignment(current, actor, assignment, [AssignmentStatus.ACCEPTED])
    require(permissions.can_request_extension(actor, current, a))
    if a.status != AssignmentStatus.ACCEPTED:
        raise TransitionNotAllowed(
            _("只有已签收的派单记录可以申请延期。"), action=Action.EXTENSION_REQUEST, status=a.status
        )
    maximum = int(getattr(settings, "ORDERS_EXTENSION_MAX", DEFAULT_EXTENSION_MAX))
    if not 1 <= int(amount) <= maximum:
        raise InvalidInput(_("延期时长须在1到%(n)d之间。") % {"n": maximum})
    text = require_reason(reason, what=_("请填写延期理由。"))
    if ExtensionRequest.objects.filter(assignment=a, status=RequestStatus.PENDING).exists():
        raise InvalidInput(_("已有待审批的延期申请。"))
    request = ExtensionRequest.objects.create(
        order_id=current.pk,
        assignment=a,
        requested_by=actor,
        amount=int(amount),
        limit_unit=a.limit_unit,
        reason=text,
        created_at=now,
    )
    event = transition(
        current,
        Action.EXTENSION_REQUEST,
        actor=actor,
        now=now,
        actor_unit=a.unit,
        assignment=a,
        reason=text,
        payload={"request": request.pk, "amount": request.amount, "unit": request.limit_unit},
    )
    notify(event, current, _reviewer_people(current, a), actor=actor)
    sync(order, current)
    return request


def _pending_extension(current: Order, request: ExtensionRequest) -> tuple[ExtensionRequest, Assignment]:
    fresh = ExtensionRequest.objects.filter(pk=request.pk, order_id=current.pk).first()
    if fresh is None:
        raise InvalidInput(_("延期申请不属于该工单。"))
    if fresh.status != RequestStatus.PENDING:
        raise TransitionNotAllowed(
            _("该延期申请已处理。"), action=Action.EXTENSION_APPROVE, status=fresh.status
        )
    return fresh, Assignment.objects.select_related("unit").get(pk=fresh.assignment_id)


@transaction.atomic
def order_extension_approve(
    *, order: Order, actor: Any, now: dt.datetime, request: ExtensionRequest, reason: str = ""
) -> OrderEvent:
    """Grant the extension: the reply-by moves by the amount (a child never past its parent)."""
    current = begin(order, Action.EXTENSION_APPROVE)
    fresh, a = _pending_extension(current, request)
    require(permissions.can_decide_extension(actor, current, a))
    if a.status not in ASSIGNMENT_ACTIVE:
        raise TransitionNotAllowed(_("该派单记录已结束。"), action=Action.EXTENSION_APPROVE, status=a.status)
    ExtensionRequest.objects.filter(pk=fresh.pk, status=RequestStatus.PENDING).update(
        status=RequestStatus.APPROVED,
        decided_by=actor,
        decided_at=now,
        decision_reason=(reason or "").strip(),
    )
    clock = apply_clock(current, [deadlines.op_extend(a.pk, fresh.amount, fresh.limit_unit)], now=now)
    event = transition(
        current,
        Action.EXTENSION_APPROVE,
        actor=actor,
        now=now,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES),
        assignment=a,
        reason=(reason or "").strip(),
        payload={"request": fresh.pk, **clock},
    )
    notify(event, current, unit_people(a.unit_id), actor=actor)
    sync(order, current)
    return event


@transaction.atomic
def order_extension_refuse(
    *, order: Order, actor: Any, now: dt.datetime, request: ExtensionRequest, reason: str
) -> OrderEvent:
    current = begin(order, Action.EXTENSION_REFUSE)
    fresh, a = _pending_extension(current, request)
    require(permissions.can_decide_extension(actor, current, a))
    text = require_reason(reason, what=_("请填写驳回理由。"))
    ExtensionRequest.objects.filter(pk=fresh.pk, status=RequestStatus.PENDING).update(
        status=RequestStatus.REFUSED, decided_by=actor, decided_at=now, decision_reason=text
    )
    event = transition(
        current,
        Action.EXTENSION_REFUSE,
        actor=actor,
        now=now,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES),
        assignment=a,
        reason=text,
        payload={"request": fresh.pk},
    )
    notify(event, current, unit_people(a.unit_id), actor=actor)
    sync(order, current)
    return event


# --- suspension ------------------------------------------------------------------------------------


@transaction.atomic
def order_suspend_request(
    *, order: Order, actor: Any, now: dt.datetime, reason: str, assignment: Assignment | None = None
) -> SuspensionRequest:
    """挂账申请 by a unit of the lead chain (the matter cannot be solved for now)."""
    current = begin(order, Action.SUSPEND_REQUEST)
    a = pick_assignment(current, actor, assignment, [AssignmentStatus.ACCEPTED])
    require(permissions.can_request_suspension(actor, current, a))
    if a.status != AssignmentStatus.ACCEPTED or a.role != AssignmentRole.LEAD:
        raise InvalidInput(_("只有已签收的主办单位可以申请挂账。"))
    text = require_reason(reason, what=_("请填写挂账理由。"))
    if SuspensionRequest.objects.filter(order_id=current.pk, status=RequestStatus.PENDING).exists():
        raise InvalidInput(_("已有待审批的挂账申请。"))
    request = SuspensionRequest.objects.create(
        order_id=current.pk, assignment=a, requested_by=actor, reason=text, created_at=now
    )
    event = transition(
        current,
        Action.SUSPEND_REQUEST,
        actor=actor,
        now=now,
        actor_unit=a.unit,
        assignment=a,
        reason=text,
        payload={"request": request.pk},
    )
    notify(event, current, dispatchers(current), actor=actor)
    sync(order, current)
    return request


def _pending_suspension(current: Order, request: SuspensionRequest) -> SuspensionRequest:
    fresh = SuspensionRequest.objects.filter(pk=request.pk, order_id=current.pk).first()
    if fresh is None:
        raise InvalidInput(_("挂账申请不属于该工单。"))
    if fresh.status != RequestStatus.PENDING:
        raise TransitionNotAllowed(
            _("该挂账申请已处理。"), action=Action.SUSPEND_APPROVE, status=fresh.status
        )
    return fresh


@transaction.atomic
def order_suspend_approve(
    *, order: Order, actor: Any, now: dt.datetime, request: SuspensionRequest, reason: str = ""
) -> OrderEvent:
    """Approve: the order is suspended and every active clock stops now."""
    current = begin(order, Action.SUSPEND_APPROVE)
    fresh = _pending_suspension(current, request)
    require(permissions.can_decide_suspension(actor, current))
    SuspensionRequest.objects.filter(pk=fresh.pk, status=RequestStatus.PENDING).update(
        status=RequestStatus.APPROVED,
        decided_by=actor,
        decided_at=now,
        decision_reason=(reason or "").strip(),
    )
    active = list(
        Assignment.objects.filter(order_id=current.pk, status__in=list(ASSIGNMENT_ACTIVE)).values_list(
            "pk", flat=True
        )
    )
    clock = apply_clock(current, [deadlines.op_pause(pk) for pk in sorted(active)], now=now)
    event = transition(
        current,
        Action.SUSPEND_APPROVE,
        actor=actor,
        now=now,
        to_status=OrderStatus.SUSPENDED,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES),
        reason=(reason or "").strip(),
        payload={"request": fresh.pk, **clock},
    )
    units = Assignment.objects.filter(pk__in=active).values_list("unit_id", flat=True)
    notify(event, current, unit_people(*units), actor=actor)
    sync(order, current)
    return event


@transaction.atomic
def order_suspend_refuse(
    *, order: Order, actor: Any, now: dt.datetime, request: SuspensionRequest, reason: str
) -> OrderEvent:
    current = begin(order, Action.SUSPEND_REFUSE)
    fresh = _pending_suspension(current, request)
    require(permissions.can_decide_suspension(actor, current))
    text = require_reason(reason, what=_("请填写驳回理由。"))
    SuspensionRequest.objects.filter(pk=fresh.pk, status=RequestStatus.PENDING).update(
        status=RequestStatus.REFUSED, decided_by=actor, decided_at=now, decision_reason=text
    )
    event = transition(
        current,
        Action.SUSPEND_REFUSE,
        actor=actor,
        now=now,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES),
        reason=text,
        payload={"request": fresh.pk},
    )
    requester_unit = (
        Assignment.objects.filter(pk=fresh.assignment_id).values_list("unit_id", flat=True).first()
    )
    notify(event, current, unit_people(requester_unit), actor=actor)
    sync(order, current)
    return event


@transaction.atomic
def order_resume(*, order: Order, actor: Any, now: dt.datetime, reason: str = "") -> OrderEvent:
    """Suspended → in progress: every stopped clock continues with the time it had left."""
    current = begin(order, Action.RESUME)
    require(permissions.can_resume(actor, current))
    paused = list(
        Assignment.objects.filter(order_id=current.pk, paused_at__isnull=False).values_list("pk", flat=True)
    )
    clock = apply_clock(current, [deadlines.op_resume(pk) for pk in sorted(paused)], now=now)
    SuspensionRequest.objects.filter(
        order_id=current.pk, status=RequestStatus.APPROVED, resumed_at__isnull=True
    ).update(resumed_at=now)
    event = transition(
        current,
        Action.RESUME,
        actor=actor,
        now=now,
        to_status=OrderStatus.IN_PROGRESS,
        actor_unit=permissions.actor_unit(
            actor, current.lead_unit_id or current.dispatch_unit_id, permissions.HANDLING_ROLES
        ),
        reason=(reason or "").strip(),
        payload=clock,
    )
    units = Assignment.objects.filter(pk__in=paused).values_list("unit_id", flat=True)
    notify(event, current, unit_people(*units), actor=actor)
    sync(order, current)
    return event


# --- reply ----------------------------------------------------------------------------------------


@transaction.atomic
def order_reply(
    *,
    order: Order,
    actor: Any,
    now: dt.datetime,
    outcome: str,
    explanation: str,
    assignment: Assignment | None = None,
    photos: Sequence[Attachment] = (),
) -> Reply:
    """答复/反馈 with an outcome (resolved, partly, not resolved, not our responsibility — all
    allowed, none hidden), an explanation and photos. The lead's reply goes to the dispatcher's
    review; a delegated child's to its parent unit; an assisting unit's to the lead unit."""
    current = begin(order, Action.REPLY)
    a = pick_assignment(current, actor, assignment, [AssignmentStatus.ACCEPTED])
    require(permissions.can_reply(actor, current, a))
    if a.status != AssignmentStatus.ACCEPTED:
        raise TransitionNotAllowed(_("只有已签收的派单记录可以反馈。"), action=Action.REPLY, status=a.status)
    if outcome not in ReplyOutcome.values:
        raise InvalidInput(_("请选择办理结果。"))
    text = require_reason(explanation, what=_("请填写办理情况。"))
    if len(text) > EXPLANATION_MAX:
        raise InvalidInput(_("办理情况不能超过%(n)d个字。") % {"n": EXPLANATION_MAX})
    if Assignment.objects.filter(parent_id=a.pk, status__in=list(ASSIGNMENT_ACTIVE)).exists():
        raise InvalidInput(_("下派单位尚未办结，请审核其反馈后再答复。"))
    if (
        _is_top_lead(a)
        and Assignment.objects.filter(
            order_id=current.pk,
            role=AssignmentRole.ASSIST,
            parent__isnull=True,
            status=AssignmentStatus.REPLIED,
        ).exists()
    ):
        raise InvalidInput(_("协办单位的反馈尚未审核，请先审核。"))
    for photo in photos:
        if photo.order_id != current.pk:
            raise InvalidInput(_("附件不属于该工单。"))
    move_assignment(a, AssignmentAction.REPLY, now=now, replied_at=now)
    reply = Reply.objects.create(
        order_id=current.pk,
        assignment=a,
        author=actor,
        outcome=outcome,
        explanation=text,
        is_rework=current.rework_count > 0 or current.reopen_count > 0,
        created_at=now,
    )
    if photos:
        Attachment.objects.filter(pk__in=[p.pk for p in photos], order_id=current.pk).update(reply=reply)
    Supervision.objects.filter(order_id=current.pk, unit_id=a.unit_id, status=SupervisionStatus.OPEN).update(
        status=SupervisionStatus.ANSWERED, answered_at=now
    )
    to_status = OrderStatus.AWAITING_REVIEW if _is_top_lead(a) else current.status
    event = transition(
        current,
        Action.REPLY,
        actor=actor,
        now=now,
        to_status=to_status,
        actor_unit=a.unit,
        assignment=a,
        payload={"reply": reply.pk, "outcome": outcome, "photos": [p.pk for p in photos]},
    )
    notify(event, current, _reviewer_people(current, a), actor=actor)
    sync(order, current)
    return reply


def lead_assignment(order: Order) -> Assignment | None:
    """The active top lead assignment (for callers that need it)."""
    return top_lead(order)
