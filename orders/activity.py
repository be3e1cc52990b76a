"""Which units carry work orders: the hook ``orgs.divisions`` asks before it would delete or
re-parent a unit on a re-import (``orgs`` cannot import ``orders``, STYLE.md §10)."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Q

from orders.models import Assignment, Order


def units_with_orders(unit_ids: Collection[int]) -> set[int]:
    """The units among ``unit_ids`` that an order lies in (grid) or was handled by."""
    ids = list(unit_ids)
    if not ids:
        return set()
    found: set[int] = set(
        Assignment.objects.filter(unit_id__in=ids).values_list("unit_id", flat=True).distinct()
    )
    located = Order.objects.filter(
        Q(grid_id__in=ids) | Q(intake_unit_id__in=ids) | Q(dispatch_unit_id__in=ids)
    ).values_list("grid_id", "intake_unit_id", "dispatch_unit_id")
    for row in located:
        found.update(pk for pk in row if pk in ids)
    return found
