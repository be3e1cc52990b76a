"""The one audit log (SECURITY.md AU-1..AU-5): ``audit_record`` is the only writer.

Each row is chained to the previous one: ``hash = sha256(prev_hash || canonical JSON of the row)``.
The chain head (``AuditChainHead`` pk=1) is locked for the write so two writers cannot fork the
chain. A failure here propagates, so the business action in the same transaction fails too
(fail closed, AU-5).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from core.models import AuditChainHead, AuditCheckpoint, AuditEvent
from core.models.audit import AuditOutcome
from core.request_context import current_request_context

GENESIS_HASH = "0" * 64


def _clean(value: str, limit: int) -> str:
    """Encode CR/LF and control characters so a field cannot forge log lines (AU-6)."""
    out = []
    for ch in value[:limit]:
        if ch in "\r\n\t" or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def canonical_payload(event: AuditEvent) -> str:
    """The exact text the hash covers; ``audit_verify`` recomputes it."""
    occurred = event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
    payload = {
        "seq": event.seq,
        "occurred_at": occurred,
        "actor_id": event.actor_id,
        "actor_login": event.actor_login,
        "actor_role": event.actor_role,
        "source_ip": event.source_ip,
        "request_id": event.request_id,
        "event_type": event.event_type,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "before": event.before,
        "after": event.after,
        "extra": event.extra,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + canonical_payload(event)).encode("utf-8")).hexdigest()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str)) if value is not None else None


def _actor_role(actor: Any) -> str:
    if actor is None:
        return ""
    role = getattr(actor, "admin_role", "") or ""
    if role:
        return str(role)
    memberships = getattr(actor, "memberships", None)
    if memberships is not None and getattr(actor, "pk", None):
        roles = sorted({m.role for m in memberships.all()})
        return ",".join(roles)[:64]
    return ""


@transaction.atomic
def audit_record(
    *,
    event_type: str,
    actor: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    outcome: str = AuditOutcome.SUCCESS,
    before: Any = None,
    after: Any = None,
    extra: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    actor_login: str | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Append one audit row. Call it inside the transaction of the action it records."""
    ctx = current_request_context(request)
    if actor is not None and not getattr(actor, "is_authenticated", True):
        actor = None
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    event = AuditEvent(
        seq=head.last_seq + 1,
        occurred_at=now or timezone.now(),
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_login=_clean(
            actor_login if actor_login is not None else getattr(actor, "username", "") or "", 150
        ),
        actor_role=_actor_role(actor),
        source_ip=ctx.client_ip,
        request_id=ctx.request_id,
        event_type=_clean(event_type, 64),
        object_type=_clean(object_type, 64),
        object_id=_clean(str(object_id), 64),
        outcome=outcome,
        before=_jsonable(before),
        after=_jsonable(after),
        extra=_jsonable(extra or {}),
        prev_hash=head.last_hash,
    )
    event.hash = compute_hash(head.last_hash, event)
    event.save(force_insert=True)
    head.last_seq = event.seq
    head.last_hash = event.hash
    head.save(update_fields=["last_seq", "last_hash"])
    return event


# --- append-only triggers (the same SQL as migration 0003) ------------------------------------

_TRIGGER_SQL: dict[str, tuple[list[str], list[str]]] = {
    "sqlite": (
        [
            "DROP TRIGGER IF EXISTS core_auditevent_no_update",
            "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
        ],
        [
            "CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent "
            "BEGIN SELECT RAISE(ABORT, 'core_auditevent is append-only'); END",
            "CREATE TRIGGER core_auditevent_no_delete BEFORE DELETE ON core_auditevent "
            "BEGIN SELECT RAISE(ABORT, 'core_auditevent is append-only'); END",
        ],
    ),
    "postgresql": (
        [
            "DROP TRIGGER IF EXISTS core_auditevent_no_update ON core_auditevent",
            "DROP TRIGGER IF EXISTS core_auditevent_no_delete ON core_auditevent",
            "DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent",
        ],
        [
            "CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent "
            "FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only()",
            "CREATE TRIGGER core_auditevent_no_delete BEFORE DELETE ON core_auditevent "
            "FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only()",
            "CREATE TRIGGER core_auditevent_no_truncate BEFORE TRUNCATE ON core_auditevent "
            "FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_append_only()",
        ],
    ),
}


@contextmanager
def audit_triggers_lifted() -> Iterator[None]:
    """Drop the append-only triggers for the enclosing transaction and recreate them before it ends.

    Only ``audit_purge`` uses this (and tests that simulate tampering). DDL is transactional on
    SQLite and PostgreSQL, so a rollback restores the triggers too; on PostgreSQL the DROP takes an
    exclusive lock on the table, which keeps concurrent audit writers out until commit.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit_triggers_lifted() must run inside a transaction")
    drop, create = _TRIGGER_SQL[connection.vendor]
    with connection.cursor() as cursor:
        for sql in drop:
            cursor.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for sql in create:
                cursor.execute(sql)


# --- verification (AU-3) -----------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    start_seq: int  # the first seq the chain was checked from
    first_bad_seq: int | None = None
    reason: str = ""


def audit_verify(*, batch_size: int = 2000) -> VerifyResult:
    """Recompute the chain from the newest checkpoint (or genesis); report the first bad row.

    Detects an edited row (hash mismatch), a removed or inserted row (broken link or seq gap) and
    a cut-off tail (the chain head disagrees with the last row).
    """
    checkpoint = AuditCheckpoint.objects.order_by("-upto_seq").first()
    prev_hash = checkpoint.upto_hash if checkpoint else GENESIS_HASH
    expected_seq = (checkpoint.upto_seq if checkpoint else 0) + 1
    start_seq = expected_seq
    checked = 0
    rows = AuditEvent.objects.filter(seq__gte=expected_seq).order_by("seq")
    for event in rows.iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return VerifyResult(False, checked, start_seq, expected_seq, f"row #{expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return VerifyResult(False, checked, start_seq, event.seq, "link to the previous row is broken")
        if compute_hash(prev_hash, event) != event.hash:
            return VerifyResult(False, checked, start_seq, event.seq, "row content does not match its hash")
        prev_hash = event.hash
        expected_seq += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if (
        head is not None
        and head.last_seq >= start_seq
        and (head.last_seq != expected_seq - 1 or head.last_hash != prev_hash)
    ):
        return VerifyResult(False, checked, start_seq, expected_seq, "rows after the last one are missing")
    return VerifyResult(True, checked, start_seq)


# --- retention (AU-4) --------------------------------------------------------------------------


class AuditRetentionError(ValueError):
    """A purge that would delete audit rows younger than the legal minimum."""


@dataclass(frozen=True)
class PurgeResult:
    purged: int
    checkpoint: AuditCheckpoint | None


@transaction.atomic
def audit_purge(*, now: datetime, older_than_days: int | None = None, actor: Any = None) -> PurgeResult:
    """Delete the oldest rows (a prefix of the chain) older than ``older_than_days``.

    The only delete path of the audit log. Refuses anything younger than
    ``AUDIT_MIN_RETENTION_DAYS`` (180, Cybersecurity Law art. 21); defaults to
    ``AUDIT_RETENTION_DAYS``. Leaves an ``AuditCheckpoint`` holding the last purged row's hash,
    from which ``audit_verify`` starts, and records the purge itself as an audit row.
    """
    days = int(settings.AUDIT_RETENTION_DAYS) if older_than_days is None else older_than_days
    minimum = int(settings.AUDIT_MIN_RETENTION_DAYS)
    if days < minimum:
        raise AuditRetentionError(f"audit rows younger than {minimum} days may not be purged (asked: {days})")
    cutoff = now - timedelta(days=days)
    # Lock the chain head: no row is appended while we cut.
    AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    # Purge a prefix of the chain: stop at the first row that is young enough to keep.
    first_kept = (
        AuditEvent.objects.filter(occurred_at__gte=cutoff).order_by("seq").values_list("seq", flat=True)
    )
    keep_from = first_kept.first()
    doomed = AuditEvent.objects.all() if keep_from is None else AuditEvent.objects.filter(seq__lt=keep_from)
    last = doomed.order_by("-seq").first()
    if last is None:
        return PurgeResult(0, None)
    count = doomed.count()
    with audit_triggers_lifted(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq <= %s", [last.seq])  # noqa: S608
    checkpoint = AuditCheckpoint.objects.create(
        created_at=now, upto_seq=last.seq, upto_hash=last.hash, purged_count=count
    )
    audit_record(
        event_type="audit.purge",
        actor=actor,
        actor_login=None if actor is not None else "system",
        object_type="core.AuditCheckpoint",
        object_id=checkpoint.pk,
        extra={"upto_seq": last.seq, "purged": count, "older_than_days": days},
        now=now,
    )
    return PurgeResult(count, checkpoint)
