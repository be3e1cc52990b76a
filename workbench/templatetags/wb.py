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

from django import forms, template
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
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


@register.simple_tag
def fast_select(field: forms.BoundField) -> SafeString:
    """A filter's ``<select>`` built in one pass (Django renders each option of a widget through
    its template engine, which costs more than the rest of a queue page for a long catalog)."""
    inner = field.field
    choices: list[tuple[Any, Any]]
    if isinstance(inner, forms.ModelChoiceField):
        choices = [("", inner.empty_label or "")]
        choices += list(inner.queryset.values_list("pk", "name"))  # type: ignore[union-attr]
    else:
        choices = list(getattr(inner, "choices", []))
    value = field.value()
    current = "" if value is None else str(value)
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((v, " selected" if str(v) == current else "", label) for v, label in choices),
    )
    return format_html('<select name="{}" id="{}">{}</select>', field.html_name, field.auto_id, options)
