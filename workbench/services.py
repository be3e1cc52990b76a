"""Composite actions of the pages: one click that is several service calls, in one transaction.

Each composes the services of ``intake`` and ``orders`` (STYLE.md rule 6: composite services call
the transition functions inside their own transaction) and re-implements none of their rules:
permissions, states, the timeline and the outbox stay theirs.

- ``call_register``: an order from a call (or a manual call), with its attachments;
- ``call_attach_duplicate``: a repeat call about an open order becomes a duplicate under it —
  registered from the call and merged (``orders.services.order_merge``) when the agent may merge;
  otherwise it waits at the dispatcher, who sees the open order as its first duplicate
  candidate (same item and grid) and merges it with one click;
- ``call_answer_consultation``: a consultation answered at once from the knowledge base
  (registered, then ``order_answer_directly``: closed);
- ``orders_batch_dispatch``: several orders dispatched one by one (each in its own transaction,
  so one refusal leaves the others dispatched), with what happened to each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import CatalogItem, KnowledgeAnswer
from intake.models import Call
from intake.services import Upload, call_order_create
from orders import permissions, services
from orders.attachments import attachment_add
from orders.choices import Channel, OrderKind, Urgency
from orders.errors import InvalidInput, OrderError
from orders.models import Order
from orgs.models import Unit

TITLE_FROM_PARENT_MAX = 60


@dataclass(frozen=True)
class OrderFields:
    """What the agent entered for an order (the requester's number comes from the call)."""

    kind: str
    title: str
    content: str
    urgency: str = Urgency.NORMAL
    item: CatalogItem | None = None
    address_text: str = ""
    grid: Unit | None = None
    requester_name: str = ""
    confidential: bool = False
    client_request_id: str | None = None


def _create(
    *, call: Call | None, phone: str, actor: Any, now: dt.datetime, fields: OrderFields, submit: bool
) -> Order:
    values: dict[str, Any] = {
        "kind": fields.kind,
        "title": fields.title,
        "content": fields.content,
        "urgency": fields.urgency,
        "item": fields.item,
        "address_text": fields.address_text,
        "grid": fields.grid,
        "requester_name": fields.requester_name,
        "confidential": fields.confidential,
        "client_request_id": fields.client_request_id,
        "submit": submit,
    }
    if call is not None:
        # The caller's number comes from the call record; it never passed through the browser.
        return call_order_create(call=call, actor=actor, now=now, **values)
    return services.order_create(
        actor=actor, now=now, channel=Channel.HOTLINE, requester_phone=phone, **values
    )


def _attach(order: Order, *, actor: Any, now: dt.datetime, photos: Sequence[Upload]) -> None:
    for photo in photos:
        attachment_add(order=order, actor=actor, now=now, data=photo.data, name=photo.name)


@transaction.atomic
def call_register(
    *,
    call: Call | None,
    phone: str = "",
    actor: Any,
    now: dt.datetime,
    fields: OrderFields,
    submit: bool,
    photos: Sequence[Upload] = (),
) -> Order:
    """Register an order from the call (``submit``: straight to the dispatcher). A refused
    attachment refuses the whole registration: nothing half-written."""
    # Files go on while the order is still the agent's (registered); then it is submitted.
    order = _create(call=call, phone=phone, actor=actor, now=now, fields=fields, submit=submit and not photos)
    _attach(order, actor=actor, now=now, photos=photos)
    if submit and photos:
        services.order_submit(order=order, actor=actor, now=now)
    return order


@dataclass(frozen=True)
class Attached:
    order: Order
    merged: bool


@transaction.atomic
def call_attach_duplicate(
    *,
    call: Call | None,
    phone: str = "",
    actor: Any,
    now: dt.datetime,
    parent: Order,
    fields: OrderFields,
    photos: Sequence[Upload] = (),
) -> Attached:
    """The call reports an open order again: register it as that order's duplicate (the
    parent's item, grid and kind; the agent's own words if any) and merge it under the parent
    when the agent may merge; otherwise it waits at the dispatcher to be merged."""
    if parent.parent_id is not None or not parent.is_open:
        raise InvalidInput(_("该工单已合并或已办结，不能再关联重复来电。"))
    title = fields.title.strip() or _("重复来电：%(title)s") % {"title": parent.title[:TITLE_FROM_PARENT_MAX]}
    content = fields.content.strip() or _("群众再次来电反映工单 %(number)s 所述问题。") % {
        "number": parent.number
    }
    child_fields = OrderFields(
        kind=parent.kind,
        title=title,
        content=content,
        urgency=fields.urgency,
        item=parent.item,
        address_text=fields.address_text or parent.address_text,
        grid=parent.grid,
        requester_name=fields.requester_name,
        confidential=fields.confidential,
        client_request_id=fields.client_request_id,
    )
    child = _create(call=call, phone=phone, actor=actor, now=now, fields=child_fields, submit=not photos)
    _attach(child, actor=actor, now=now, photos=photos)
    if photos:
        services.order_submit(order=child, actor=actor, now=now)
    if not permissions.can_merge(actor, child, parent):
        return Attached(order=child, merged=False)
    services.order_merge(
        order=child,
        actor=actor,
        now=now,
        parent=parent,
        reason=_("重复来电，并入工单 %(n)s") % {"n": parent.number},
    )
    return Attached(order=child, merged=True)


@transaction.atomic
def call_answer_consultation(
    *,
    call: Call | None,
    phone: str = "",
    actor: Any,
    now: dt.datetime,
    knowledge: KnowledgeAnswer,
    fields: OrderFields,
) -> Order:
    """A consultation answered from the knowledge base: registered as a consultation (the
    answer's item) and closed at once with the answer (``order_answer_directly``)."""
    consultation = OrderFields(
        kind=OrderKind.CONSULTATION,
        title=fields.title.strip() or knowledge.question,
        content=fields.content.strip() or knowledge.question,
        urgency=Urgency.NORMAL,
        item=knowledge.item if knowledge.item is not None and knowledge.item.is_active else fields.item,
        address_text=fields.address_text,
        grid=fields.grid,
        requester_name=fields.requester_name,
        confidential=fields.confidential,
        client_request_id=fields.client_request_id,
    )
    order = _create(call=call, phone=phone, actor=actor, now=now, fields=consultation, submit=False)
    services.order_answer_directly(
        order=order, actor=actor, now=now, answer=knowledge.answer, knowledge=knowledge
    )
    return order


@dataclass
class BatchResult:
    dispatched: list[Order] = field(default_factory=list)
    refused: list[tuple[Order, str]] = field(default_factory=list)


def orders_batch_dispatch(
    *,
    actor: Any,
    now: dt.datetime,
    orders: Sequence[Order],
    lead_unit: Unit | None = None,
) -> BatchResult:
    """Dispatch each order (to ``lead_unit``, or by the responsibility list when None). Each
    dispatch is its own transaction: a refusal (no rule, wrong state, someone was faster) is
    reported and the rest go on. ``orders`` carry the version the dispatcher saw."""
    result = BatchResult()
    for order in orders:
        try:
            services.order_dispatch(order=order, actor=actor, now=now, lead_unit=lead_unit)
        except OrderError as exc:
            result.refused.append((order, exc.message))
        except PermissionDenied as exc:
            result.refused.append((order, str(exc) or _("您没有权限对该工单执行此操作。")))
        else:
            result.dispatched.append(order)
    return result


@transaction.atomic
def reply_with_photos(
    *,
    order: Order,
    actor: Any,
    now: dt.datetime,
    outcome: str,
    explanation: str,
    assignment: Any = None,
    photos: Sequence[Upload] = (),
) -> Any:
    """答复 with photos: each photo stored (``attachment_add``), then the reply carrying them
    (``order_reply``) — together or not at all."""
    stored = [
        attachment_add(order=order, actor=actor, now=now, data=photo.data, name=photo.name)
        for photo in photos
    ]
    return services.order_reply(
        order=order,
        actor=actor,
        now=now,
        outcome=outcome,
        explanation=explanation,
        assignment=assignment,
        photos=stored,
    )


@transaction.atomic
def attachments_add(*, order: Order, actor: Any, now: dt.datetime, files: Sequence[Upload]) -> int:
    """Several files onto an order, all or none (each through ``attachment_add``)."""
    for f in files:
        attachment_add(order=order, actor=actor, now=now, data=f.data, name=f.name)
    return len(files)
