"""Outputs of the orders API, built field by field (nothing leaves by accident).

Personal data (SECURITY.md AC-2, PI-2): the requester's name, phone and ID number are always
masked (``core.masking``), for every role; a confidential order shows the requester to nobody who
``can_see_requester`` denies (handlers). Free text (content, reasons, replies) is masked too:
mainland mobiles, landlines with an area code and resident ID numbers written into the text, and
the order's own requester number in whatever form it appears. The raw number is returned only
by ``POST /orders/{id}/reveal`` (audited, rate-limited).
"""

from __future__ import annotations

import re
from typing import Any

from django.urls import reverse

from core.masking import mask_id_number, mask_name, mask_phone, normalize_phone
from orders import permissions
from orders.attachments import attachments_visible_to
from orders.choices import EventType, OrderStatus, RequestStatus
from orders.models import (
    Assignment,
    Attachment,
    ExtensionRequest,
    Order,
    OrderEvent,
    Reply,
    SuspensionRequest,
)
from orders.selectors import order_assignments, order_can_write

_MOBILE_RE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?!\d)")
_LANDLINE_RE = re.compile(r"(?<!\d)0\d{2,3}[-\s]?\d{7,8}(?!\d)")
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")


def mask_text(text: str, *secrets: str) -> str:
    """Free text with phone and ID numbers masked (plus the given raw values, verbatim)."""
    if not text:
        return ""
    out = _ID_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    out = _MOBILE_RE.sub(lambda m: mask_phone(m.group(0)), out)
    out = _LANDLINE_RE.sub(lambda m: mask_phone(m.group(0)), out)
    for secret in secrets:
        if secret and len(secret) >= 5 and secret in out:
            out = out.replace(secret, mask_phone(secret))
    return out


def requester_secrets(order: Order) -> tuple[str, ...]:
    """The requester's phone (as typed and normalised) and ID number: masked wherever they appear
    in free text shown to staff (titles, contents, comments)."""
    phone = order.requester_phone or ""
    return tuple(v for v in (phone, normalize_phone(phone), order.requester_id_number or "") if v)


def ref(unit: Any) -> dict[str, Any] | None:
    return None if unit is None else {"id": unit.pk, "name": unit.name}


def status_label(status: str) -> str:
    try:
        return str(OrderStatus(status).label)
    except ValueError:
        return status


def order_summary(order: Order) -> dict[str, Any]:
    item = order.item
    return {
        "id": order.pk,
        "number": order.number,
        "version": order.version,
        "status": order.status,
        "status_label": status_label(order.status),
        "channel": order.channel,
        "kind": order.kind,
        "urgency": order.urgency,
        "title": mask_text(order.title, *requester_secrets(order)),
        "item": None if item is None else {"id": item.pk, "code": item.code, "name": item.name},
        "grid": ref(order.grid),
        "dispatch_unit": ref(order.dispatch_unit),
        "lead_unit": ref(order.lead_unit),
        "holder_unit": ref(order.holder_unit),
        "confidential": order.confidential,
        "due_at": order.due_at,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "closed_at": order.closed_at,
    }


def requester(actor: Any, order: Order) -> dict[str, Any] | None:
    if not permissions.can_see_requester(actor, order):
        return None
    return {
        "name": mask_name(order.requester_name),
        "phone": mask_phone(order.requester_phone),
        "id_number": mask_id_number(order.requester_id_number),
        "has_phone": bool(order.requester_phone),
    }


def assignment_out(a: Assignment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "unit": ref(a.unit),
        "role": a.role,
        "status": a.status,
        "parent_id": a.parent_id,
        "round": a.round,
        "dispatched_at": a.dispatched_at,
        "accept_by": a.accept_by,
        "contact_by": a.contact_by,
        "reply_by": a.reply_by,
        "provisional": a.provisional,
        "paused_at": a.paused_at,
        "accepted_at": a.accepted_at,
        "contacted_at": a.contacted_at,
        "replied_at": a.replied_at,
    }


def attachment_url(attachment: Attachment) -> str:
    return reverse(
        "api:order_attachment_download",
        kwargs={"order_id": attachment.order_id, "attachment_id": attachment.pk},
    )


def attachment_out(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "name": attachment.original_name or f"attachment-{attachment.pk}",
        "content_type": attachment.content_type,
        "size": attachment.size,
        "created_at": attachment.created_at,
        "url": attachment_url(attachment),
    }


def order_detail(actor: Any, order: Order) -> dict[str, Any]:
    secrets = requester_secrets(order)
    visible_attachments = attachments_visible_to(actor, order)
    visible_ids = {a.pk for a in visible_attachments}
    by_reply: dict[int, list[int]] = {}
    for a in visible_attachments:
        if a.reply_id is not None:
            by_reply.setdefault(a.reply_id, []).append(a.pk)
    replies = [
        {
            "id": r.pk,
            "assignment_id": r.assignment_id,
            "outcome": r.outcome,
            "explanation": mask_text(r.explanation, *secrets),
            "status": r.status,
            "is_rework": r.is_rework,
            "created_at": r.created_at,
            "attachment_ids": [pk for pk in by_reply.get(r.pk, []) if pk in visible_ids],
        }
        for r in Reply.objects.filter(order_id=order.pk).order_by("created_at", "pk")
    ]
    pending: list[dict[str, Any]] = [
        {
            "id": x.pk,
            "kind": "extension",
            "assignment_id": x.assignment_id,
            "amount": x.amount,
            "limit_unit": x.limit_unit,
            "reason": mask_text(x.reason, *secrets),
            "created_at": x.created_at,
        }
        for x in ExtensionRequest.objects.filter(order_id=order.pk, status=RequestStatus.PENDING).order_by(
            "pk"
        )
    ]
    pending += [
        {
            "id": s.pk,
            "kind": "suspension",
            "assignment_id": s.assignment_id,
            "amount": None,
            "limit_unit": None,
            "reason": mask_text(s.reason, *secrets),
            "created_at": s.created_at,
        }
        for s in SuspensionRequest.objects.filter(order_id=order.pk, status=RequestStatus.PENDING).order_by(
            "pk"
        )
    ]
    return {
        **order_summary(order),
        "content": mask_text(order.content, *secrets),
        "address_text": order.address_text,
        "lon": order.lon,
        "lat": order.lat,
        "requester": requester(actor, order),
        "public_reply": mask_text(order.public_reply, *secrets),
        "reply_outcome": order.reply_outcome,
        "parent_id": order.parent_id,
        "call_id": order.call_id,
        "first_receiver_unit": ref(order.first_receiver_unit),
        "can_write": order_can_write(actor, order),
        "can_reveal": order.is_open and permissions.can_reveal_phone(actor, order),
        "assignments": [assignment_out(a) for a in order_assignments(order)],
        "replies": replies,
        "pending_requests": pending,
        "attachments": [attachment_out(a) for a in visible_attachments],
    }


def event_out(event: OrderEvent, order: Order | None = None) -> dict[str, Any]:
    actor = event.actor
    try:
        label = str(EventType(event.type).label)
    except ValueError:
        label = event.type
    secrets = requester_secrets(order) if order is not None else ()
    return {
        "seq": event.seq,
        "type": event.type,
        "type_label": label,
        "actor": "" if actor is None else (getattr(actor, "display_name", "") or actor.get_username()),
        "actor_unit": ref(event.actor_unit),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason": mask_text(event.reason, *secrets),
        "occurred_at": event.occurred_at,
    }
