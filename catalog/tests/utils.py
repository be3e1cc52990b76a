"""Small helpers for the catalog tests."""

from __future__ import annotations

from typing import Any

from core.models import AuditEvent


def last_audit() -> Any:
    """The newest audit row (typed loosely so tests can index its JSON fields)."""
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    return event
