"""Fixtures for the orgs tests; the shared named cast and ``tree`` live in the root conftest.py."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import AuditEvent


class AuditCounter:
    """Counts audit rows written since the fixture was taken (the cast writes some of its own)."""

    def __init__(self) -> None:
        self.start = AuditEvent.objects.count()

    def new(self) -> list[AuditEvent]:
        return list(AuditEvent.objects.order_by("seq")[self.start :])

    def types(self) -> list[str]:
        return [e.event_type for e in self.new()]


@pytest.fixture
def audit(db: Any) -> AuditCounter:
    """Take this fixture *after* the cast fixtures so their rows are not counted."""
    return AuditCounter()
