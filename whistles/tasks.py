"""Background work of 吹哨报到 (Huey). Thin: take ids, call the services; safe to run twice."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task(retries=3, retry_delay=30)  # type: ignore[untyped-decorator]  # huey is untyped
def deliver_whistle_notifications(event_id: int) -> int:
    """After commit: deliver the outbox rows of one timeline event (each row at most once)."""
    from whistles.notifications import deliver_event

    return deliver_event(event_id, now=timezone.now())


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey is untyped
def deliver_whistle_leftovers() -> int:
    """Every minute: deliver whatever a crash or a failing backend left in the outbox."""
    from whistles.notifications import deliver_pending

    return deliver_pending(now=timezone.now())


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey is untyped
def whistle_sweep_task() -> int:
    """Every minute (urgent whistles count minutes): record due yellow/red warnings once and mark
    overdue summonses and tasks."""
    from whistles.services import whistle_sweep

    return whistle_sweep(now=timezone.now()).warnings
