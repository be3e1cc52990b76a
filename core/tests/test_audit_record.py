from __future__ import annotations

import pytest

from core.audit import GENESIS_HASH, audit_record, compute_hash
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_audit_rows_are_chained():
    first = audit_record(event_type="test.one", object_type="x", object_id=1)
    second = audit_record(event_type="test.two", object_type="x", object_id=2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert compute_hash(first.hash, AuditEvent.objects.get(pk=second.pk)) == second.hash


def test_control_characters_are_encoded():
    event = audit_record(event_type="login\r\nforged", object_type="x")
    assert "\r" not in event.event_type and "\\x0d" in event.event_type
