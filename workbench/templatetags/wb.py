"""Template helpers of the workbench pages (``{% load wb %}``).

- ``order|masked_title``, ``order|masked_content``, ``text|masked_for:order``: free text with
  phone and ID numbers masked (``workbench.present``);
- ``{% order_status order %}``: the state as a coloured badge; ``{% urgency_badge order %}``;
- ``assignment|accept_yellow`` / ``assignment|reply_yellow``: when a deadline turns yellow (the
  deadline sweep's own rule), for web's ``deadline_chip``;
- ``label_of``: the display label of a choice value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from orders.choices import EventType, OrderStatus, Urgency
from workbench import present

register = template.Library()


@register.filter
def masked_title(order: Any) -> str:
    return present.masked(order, order.title)


@register.filter
def masked_content(order: Any) -> str:
    return present.masked(order, order.content)


@register.filter
def masked_for(text: str, order: Any) -> str:
    return present.masked(order, text or "")


def _badge(label: Any, tone: str) -> SafeString:
    return mark_safe(  # noqa: S308 -- web's partial escapes the label
        render_to_string("web/partials/status_badge.html", {"label": label, "tone": tone})
    )


@register.simple_tag
def order_status(order: Any) -> SafeString:
    label: Any
    try:
        label = OrderStatus(order.status).label
    except ValueError:
        label = order.status
    return _badge(label, present.status_tone(order.status))


@register.simple_tag
def status_of(status: str) -> SafeString:
    label: Any
    try:
        label = OrderStatus(status).label
    except ValueError:
        label = status
    return _badge(label, present.status_tone(status))


@register.simple_tag
def urgency_badge(order: Any) -> SafeString:
    if order.urgency == Urgency.URGENT:
        return _badge(_("紧急"), "danger")
    return SafeString("")


@register.filter
def accept_yellow(assignment: Any) -> dt.datetime | None:
    return present.yellow_mark(assignment.dispatched_at, assignment.accept_by)


@register.filter
def reply_yellow(assignment: Any) -> dt.datetime | None:
    return present.yellow_mark(assignment.dispatched_at, assignment.reply_by)


@register.filter
def event_label(value: str) -> str:
    try:
        return str(EventType(value).label)
    except ValueError:
        return value


@register.filter
def status_label(value: str) -> str:
    try:
        return str(OrderStatus(value).label)
    except ValueError:
        return value or ""


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``mapping|get_item:key`` (an empty list when absent)."""
    if not mapping:
        return []
    return mapping.get(key, [])


SELF_SERVICE = frozenset({"web", "mobile", "open311"})


@register.filter
def event_actor(event: Any, order: Any) -> str:
    """Who did it: the person, or the resident for a self-service report, or the system."""
    actor = event.actor
    if actor is not None:
        return str(getattr(actor, "display_name", "") or actor.get_username())
    if event.type in ("create", "attachment_added") and order.channel in SELF_SERVICE:
        return _("群众（%(channel)s）") % {"channel": order.get_channel_display()}
    return _("系统")
