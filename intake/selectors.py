"""Reads of the intake app for staff (pages and the API).

Every read of an order's intake data starts from the order as ``orders.selectors`` scopes it, so
what the caller may not see answers exactly like an order that does not exist.
"""

from __future__ import annotations

from typing import Any

from intake.models import ResidentRating
from orders.models import Order
from orders.selectors import order_get_for_user


def resident_rating_get_for_user(*, actor: Any, order_id: int) -> tuple[Order, ResidentRating | None]:
    """The order (if ``actor`` may see it) and the resident's own rating of it, or ``None`` while
    the resident has not rated. Raises ``Order.DoesNotExist`` outside the caller's scope (→ 404,
    never 403), before anything about the rating is read. One query beyond the order's fetch."""
    order, _writable = order_get_for_user(actor, order_id)
    return order, ResidentRating.objects.filter(order_id=order.pk).first()
