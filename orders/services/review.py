"""Review 办结审核 and callback 回访: approve or send back a reply; call the resident back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from orders import permissions
from orders.choices import (
    ASSIGNMENT_ACTIVE,
    Action,
    AssignmentRole,
    AssignmentStatus,
    OrderStatus,
    ReplyStatus,
    Satisfaction,
    SupervisionStatus,
)
from orders.errors import InvalidInput, TransitionNotAllowed
from orders.models import Assignment, Callback, Order, OrderEvent, Reply, Supervision
from orders.services._core import (
    begin,
    callback_agents,
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
from orders.services.intake import share_answer
from orders.states import AssignmentAction

SATISFIED = frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY})


def _pending_reply(current: Order, reply: Reply | None) -> Reply:
    if reply is None:
        lead = top_lead(current)
        found = (
            Reply.objects.filter(assignment=lead, status=ReplyStatus.PENDING_REVIEW).first()
            if lead is not None
            else None
        )
    else:
        found = Reply.objects.filter(pk=reply.pk, order_id=current.pk).first()
        if found is None:
            raise InvalidInput(_("反馈不属于该工单。"))
    if found is None or found.status != ReplyStatus.PENDING_REVIEW:
        raise TransitionNotAllowed(
            _("没有待审核的反馈。"), action=Action.REVIEW_APPROVE, status=current.status
        )
    return found


def _check_review_state(current: Order, a: Assignment, action: Action) -> bool:
    """The lead's reply is reviewed while the order awaits review; the others while in progress."""
    is_top = a.role == AssignmentRole.LEAD and a.parent_id is None
    wanted = OrderStatus.AWAITING_REVIEW if is_top else OrderStatus.IN_PROGRESS
    if current.status != wanted or a.status != AssignmentStatus.REPLIED:
        raise TransitionNotAllowed(
            _("工单当前状态不允许审核该反馈。"), action=str(action), status=current.status
        )
    return is_top


@transaction.atomic
def order_review_approve(
    *, order: Order, actor: Any, now: dt.datetime, reply: Reply | None = None, comment: str = ""
) -> OrderEvent:
    """Approve a reply. The lead's (default) ends the round: the order awaits the callback, the
    answer becomes public, other active assignments are cancelled, and merged duplicates share
    the answer. A delegated child's or an assist's approval keeps the order in progress."""
    current = begin(order, Action.REVIEW_APPROVE)
    r = _pending_reply(current, reply)
    a = Assignment.objects.select_related("unit").get(pk=r.assignment_id)
    require(permissions.can_review(actor, current, a))
    is_top = _check_review_state(current, a, Action.REVIEW_APPROVE)
    Reply.objects.filter(pk=r.pk, status=ReplyStatus.PENDING_REVIEW).update(
        status=ReplyStatus.APPROVED,
        reviewed_by=actor,
        reviewed_at=now,
        review_comment=(comment or "").strip(),
    )
    move_assignment(a, AssignmentAction.REVIEW_APPROVE, now=now, approved_at=now)
    fields: dict[str, Any] = {}
    to_status = current.status
    if is_top:
        for other in Assignment.objects.filter(
            order_id=current.pk, status__in=list(ASSIGNMENT_ACTIVE)
        ).order_by("pk"):
            move_assignment(other, AssignmentAction.CANCEL, now=now)
        Supervision.objects.filter(order_id=current.pk, status=SupervisionStatus.OPEN).update(
            status=SupervisionStatus.ANSWERED, answered_at=now
        )
        to_status = OrderStatus.AWAITING_CALLBACK
        fields = {"public_reply": r.explanation, "reply_outcome": r.outcome}
    event = transition(
        current,
        Action.REVIEW_APPROVE,
        actor=actor,
        now=now,
        to_status=to_status,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES)
        if is_top
        else a.unit
        if a.parent_id is None
        else None,
        assignment=a,
        reason=(comment or "").strip(),
        payload={"reply": r.pk, "outcome": r.outcome},
        fields=fields,
    )
    if is_top:
        notify(event, current, callback_agents(current), actor=actor)
        for child in Order.objects.filter(parent_id=current.pk, status=OrderStatus.MERGED).order_by("pk"):
            share_answer(child, current, now=now)
    else:
        notify(event, current, unit_people(a.unit_id), actor=actor)
    sync(order, current)
    return event


@transaction.atomic
def order_review_send_back(
    *, order: Order, actor: Any, now: dt.datetime, reason: str, reply: Reply | None = None
) -> OrderEvent:
    """Send a reply back for more work (counted as rework 退回重办 for the lead's reply)."""
    current = begin(order, Action.REVIEW_SEND_BACK)
    r = _pending_reply(current, reply)
    a = Assignment.objects.select_related("unit").get(pk=r.assignment_id)
    require(permissions.can_review(actor, current, a))
    is_top = _check_review_state(current, a, Action.REVIEW_SEND_BACK)
    text = require_reason(reason, what=_("请填写退回理由。"))
    Reply.objects.filter(pk=r.pk, status=ReplyStatus.PENDING_REVIEW).update(
        status=ReplyStatus.SENT_BACK, reviewed_by=actor, reviewed_at=now, review_comment=text
    )
    move_assignment(a, AssignmentAction.REVIEW_SEND_BACK, now=now)
    fields: dict[str, Any] = {}
    if is_top:
        fields["rework_count"] = current.rework_count + 1
    event = transition(
        current,
        Action.REVIEW_SEND_BACK,
        actor=actor,
        now=now,
        to_status=OrderStatus.IN_PROGRESS,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES)
        if is_top
        else None,
        assignment=a,
        reason=text,
        payload={"reply": r.pk, "rework": is_top},
        fields=fields,
    )
    notify(event, current, unit_people(a.unit_id), actor=actor)
    sync(order, current)
    return event


def _callback_row(
    order: Order,
    *,
    actor: Any,
    now: dt.datetime,
    reached: bool,
    satisfaction: str,
    unit_contacted: bool | None,
    resolved: bool | None,
    comment: str,
) -> Callback:
    if reached and satisfaction not in Satisfaction.values:
        raise InvalidInput(_("请选择满意度。"))
    if not reached and satisfaction:
        raise InvalidInput(_("未接通的回访不能评价满意度。"))
    return Callback.objects.create(
        order_id=order.pk,
        agent=actor,
        reached=reached,
        unit_contacted=unit_contacted if reached else None,
        resolved=resolved if reached else None,
        satisfaction=satisfaction if reached else "",
        comment=(comment or "").strip(),
        created_at=now,
    )


@transaction.atomic
def order_callback(
    *,
    order: Order,
    actor: Any,
    now: dt.datetime,
    reached: bool,
    satisfaction: str = "",
    unit_contacted: bool | None = None,
    resolved: bool | None = None,
    comment: str = "",
) -> Callback:
    """回访. Reached and satisfied (or basically) → closed. Dissatisfied → stays, and the
    dispatcher decides: reopen (``order_reopen``) or close with a reason. Unreached → stays for
    another attempt."""
    current = begin(order, Action.CALLBACK)
    require(permissions.can_callback(actor, current))
    cb = _callback_row(
        current,
        actor=actor,
        now=now,
        reached=reached,
        satisfaction=satisfaction,
        unit_contacted=unit_contacted,
        resolved=resolved,
        comment=comment,
    )
    closes = reached and satisfaction in SATISFIED
    event = transition(
        current,
        Action.CALLBACK,
        actor=actor,
        now=now,
        to_status=OrderStatus.CLOSED if closes else OrderStatus.AWAITING_CALLBACK,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.CALLBACK_ROLES),
        reason=cb.comment,
        payload={
            "callback": cb.pk,
            "reached": reached,
            "satisfaction": cb.satisfaction,
            "resolved": cb.resolved,
            "unit_contacted": cb.unit_contacted,
        },
        fields={"closed_at": now} if closes else {},
    )
    if reached and satisfaction == Satisfaction.DISSATISFIED:
        notify(event, current, dispatchers(current), actor=actor)
    sync(order, current)
    return cb


@transaction.atomic
def order_callback_merged(
    *,
    order: Order,
    actor: Any,
    now: dt.datetime,
    reached: bool,
    satisfaction: str = "",
    unit_contacted: bool | None = None,
    resolved: bool | None = None,
    comment: str = "",
) -> Callback:
    """The callback of a merged duplicate's resident, once the parent has its answer."""
    current = begin(order, Action.CALLBACK_MERGED)
    parent = Order.objects.filter(pk=current.parent_id).first() if current.parent_id is not None else None
    if parent is None or parent.status not in (OrderStatus.AWAITING_CALLBACK, OrderStatus.CLOSED):
        raise TransitionNotAllowed(
            _("主件尚未答复，暂不能回访。"), action=Action.CALLBACK_MERGED, status=current.status
        )
    require(permissions.can_callback(actor, current))
    cb = _callback_row(
        current,
        actor=actor,
        now=now,
        reached=reached,
        satisfaction=satisfaction,
        unit_contacted=unit_contacted,
        resolved=resolved,
        comment=comment,
    )
    event = transition(
        current,
        Action.CALLBACK_MERGED,
        actor=actor,
        now=now,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.CALLBACK_ROLES),
        reason=cb.comment,
        payload={"callback": cb.pk, "reached": reached, "satisfaction": cb.satisfaction, "parent": parent.pk},
        derive=False,
    )
    if reached and satisfaction == Satisfaction.DISSATISFIED:
        notify(event, current, dispatchers(parent), actor=actor)
    sync(order, current)
    return cb
