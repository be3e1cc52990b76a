"""What the pages show of an order: masked texts, labels, deadline marks (no database writes).

Personal data follows the API's rules (``orders.api.present``): the requester's name and phone
are always masked; phone and ID numbers written into free text are masked, and so is the
order's own requester number in whatever form it appears; a confidential order shows its
requester to nobody ``can_see_requester`` denies.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.masking import mask_name, mask_phone, normalize_phone
from orders.api.present import mask_text
from orders.choices import OrderStatus
from orders.models import Order
from orders.services.supervision import yellow_at

# The badge tone of each order state (web's ``status_badge`` tones).
STATUS_TONES: dict[str, str] = {
    OrderStatus.REGISTERED: "neutral",
    OrderStatus.AWAITING_DISPATCH: "info",
    OrderStatus.AWAITING_ACCEPTANCE: "info",
    OrderStatus.RETURN_REQUESTED: "warning",
    OrderStatus.IN_PROGRESS: "progress",
    OrderStatus.SUSPENDED: "warning",
    OrderStatus.AWAITING_REVIEW: "progress",
    OrderStatus.AWAITING_CALLBACK: "info",
    OrderStatus.CLOSED: "success",
    OrderStatus.MERGED: "muted",
    OrderStatus.WITHDRAWN: "muted",
}


def secrets_of(order: Order) -> tuple[str, ...]:
    """The raw values to hide wherever they appear in the order's free text."""
    phone = order.requester_phone or ""
    return tuple(v for v in (phone, normalize_phone(phone), order.requester_id_number or "") if v)


def masked(order: Order, text: str) -> str:
    """Free text of ``order`` with phone and ID numbers masked."""
    return mask_text(text or "", *secrets_of(order))


def status_tone(status: str) -> str:
    return STATUS_TONES.get(status, "neutral")


def requester_line(order: Order) -> str:
    """``张* 138****8000`` (masked), or an empty string when nothing was given."""
    parts = [mask_name(order.requester_name or ""), mask_phone(order.requester_phone or "")]
    return " ".join(p for p in parts if p)


def yellow_mark(start: dt.datetime | None, due: dt.datetime | None) -> dt.datetime | None:
    """When a deadline turns yellow: the same fraction of the span the deadline sweep uses."""
    if start is None or due is None:
        return None
    return yellow_at(start, due)


def short_unit(unit: Any) -> str:
    return "" if unit is None else str(unit.name)
