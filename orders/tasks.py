"""Background work of the loop (Huey). Thin: take ids, call services; safe to run twice.

- ``deliver_notifications(event_id)`` — scheduled after commit by every action that wrote outbox
  rows; the rows are the truth, this only makes delivery prompt;
- ``deliver_pending_notifications`` — every minute: whatever a crash or an outage left;
- ``attachment_orphans_task`` — hourly: the files of uploads whose transaction rolled back
  (``orders.attachments.attachment_orphans_sweep``);
- ``order_exports_expire_task`` — hourly: approved exports past their day are marked expired and
  their files dropped (``orders.services.order_exports_expire``);
- ``deadline_sweep_task`` — every five minutes: calendar recomputation, yellow and red warnings,
  automatic urging, escalation (``orders.services.deadline_sweep``); several consumers may run it
  at once: unique warning rows and conditional updates keep it exactly-once.
"""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task(retries=3, retry_delay=30)  # type: ignore[untyped-decorator]  # huey is untyped
def deliver_notifications(event_id: int) -> int:
    """Deliver the outbox rows of one event (after its transaction committed)."""
    from orders.notifications import deliver_event

    return deliver_event(event_id, now=timezone.now())


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey is untyped
def deliver_pending_notifications() -> int:
    from orders.notifications import deliver_pending

    return deliver_pending(now=timezone.now())


@db_periodic_task(crontab(minute="*/5"))  # type: ignore[untyped-decorator]  # huey is untyped
def deadline_sweep_task() -> None:
    from orders.services import deadline_sweep

    deadline_sweep(now=timezone.now())


@db_periodic_task(crontab(minute="17"))  # type: ignore[untyped-decorator]  # huey is untyped
def attachment_orphans_task() -> int:
    from orders.attachments import attachment_orphans_sweep

    return attachment_orphans_sweep(now=timezone.now())


@db_periodic_task(crontab(minute="23"))  # type: ignore[untyped-decorator]  # huey is untyped
def order_exports_expire_task() -> int:
    from orders.services import order_exports_expire

    return order_exports_expire(now=timezone.now())
