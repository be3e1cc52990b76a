"""Template building blocks shared by every workbench (``{% load minhu_ui %}``).

- ``{% form_field form.x %}`` a labelled field with its help text and its errors beside it
  (``stacked=True`` puts the error under the field, for narrow forms such as the sign-in card);
- ``{% form_errors form %}`` the errors that belong to no single field;
- ``{% status_badge label tone %}`` a coloured state label; tones: neutral, info, progress,
  success, warning, danger, muted;
- ``{% deadline_chip due %}`` time left until ``due``, yellow when close, red when past
  (``yellow_at=``, ``level=`` and ``now=`` override the defaults);
- ``{% empty_state title hint %}`` the block shown where a list has nothing;
- ``{% table_cell row column %}`` one cell of ``web/partials/data_table.html``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.conf import settings
from django.forms import BoundField, Form
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from web.tables import Column, resolve

register = template.Library()

TONES = frozenset({"neutral", "info", "progress", "success", "warning", "danger", "muted"})
CHOICE_WIDGETS = frozenset({"radioselect", "checkboxselectmultiple"})


@register.inclusion_tag("web/partials/field.html")
def form_field(field: BoundField, stacked: bool = False, hint: str = "") -> dict[str, Any]:
    widget_type = field.widget_type
    return {
        "field": field,
        "stacked": stacked,
        "hint": hint,
        "is_checkbox": widget_type == "checkbox",
        "is_choice_group": widget_type in CHOICE_WIDGETS,
        "required": field.field.required,
    }


@register.inclusion_tag("web/partials/form_errors.html")
def form_errors(form: Form) -> dict[str, Any]:
    return {"errors": form.non_field_errors(), "hidden_errors": _hidden_field_errors(form)}


def _hidden_field_errors(form: Form) -> list[str]:
    return [str(e) for f in form.hidden_fields() for e in f.errors]


@register.inclusion_tag("web/partials/status_badge.html")
def status_badge(label: Any, tone: str = "neutral") -> dict[str, Any]:
    return {"label": label, "tone": tone if tone in TONES else "neutral"}


def _span_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)d 天 %(h)d 小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d 小时 %(m)d 分") % {"h": hours, "m": mins}
    return _("%(m)d 分钟") % {"m": max(mins, 1)}


def deadline_state(
    due: datetime, *, now: datetime, yellow_at: datetime | None = None, level: str = ""
) -> tuple[str, str]:
    """``(level, text)`` for a deadline: level is ``ok``, ``yellow`` or ``red``."""
    remaining = due - now
    if remaining.total_seconds() <= 0:
        computed = "red"
        text = _("已超时 %(t)s") % {"t": _span_text(-remaining)}
    else:
        if yellow_at is not None:
            computed = "yellow" if now >= yellow_at else "ok"
        else:
            yellow_window = timedelta(hours=int(getattr(settings, "WEB_DEADLINE_YELLOW_HOURS", 24)))
            computed = "yellow" if remaining <= yellow_window else "ok"
        text = _("剩 %(t)s") % {"t": _span_text(remaining)}
    return (level if level in {"ok", "yellow", "red"} else computed), text


@register.inclusion_tag("web/partials/deadline_chip.html", takes_context=True)
def deadline_chip(
    context: template.Context,
    due: datetime | None,
    now: datetime | None = None,
    yellow_at: datetime | None = None,
    level: str = "",
    label: str = "",
) -> dict[str, Any]:
    if due is None:
        return {"due": None, "label": label}
    current = now or context.get("now") or timezone.now()
    state, text = deadline_state(due, now=current, yellow_at=yellow_at, level=level)
    return {"due": due, "level": state, "text": text, "label": label}


@register.inclusion_tag("web/partials/empty_state.html")
def empty_state(title: Any, hint: Any = "", action_url: str = "", action_label: Any = "") -> dict[str, Any]:
    return {"title": title, "hint": hint, "action_url": action_url, "action_label": action_label}


@register.simple_tag(takes_context=True)
def table_cell(context: template.Context, row: Any, column: Column) -> SafeString:
    value = column.value(row)
    if column.template:
        html: SafeString = SafeString(
            render_to_string(
                column.template,
                {"row": row, "value": value, "column": column, "now": context.get("now")},
                request=context.get("request"),
            )
        )
    else:
        html = SafeString(conditional_escape("—" if value in (None, "") else value))
    if column.link:
        url = resolve(row, column.link)
        if url:
            return format_html('<a href="{}">{}</a>', url, html)
    return html
