"""Background work of the loop (Huey). Thin: take ids, call services; safe to run twice.

- ``deliver_notifications(event_id)`` — scheduled after commit by every action that wrote outbox
  rows; the rows are the truth, this only makes delivery prompt;
- ``deliver_pending_notifications`` — every minute: whatever a crash or an outage left;
- ``attachment_orphans_task`` — hourly: the files of uploads whose transaction rolled back
  (``orders.attachments.attachment_orphans_sweep``);
- ``order_export_build_task(export_id)`` — scheduled after commit by an export's approval: builds
  and stores its workbook (``orders.services.exports.order_export_build``; claimed, so a second or
  concurrent run does nothing);
- ``order_exports_sweep_task`` — every five minutes: ready exports past their day are marked
  expired and their files dropped (``order_exports_expire``), and approved exports left unbuilt
  (a worker died, a task was lost) are built again (``order_exports_rescue``);
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


@db_task()  # type: ignore[untyped-decorator]  # huey is untyped
def order_export_build_task(export_id: int) -> bool:
    """Build an approved export's workbook (after the approval committed); no retries of its
    own: a failure is recorded on the export, a dead worker's claim is rescued by the sweep."""
    from orders.services.exports import order_export_build

    return order_export_build(export_id=export_id, clock=timezone.now)


@db_periodic_task(crontab(minute="*/5"))  # type: ignore[untyped-decorator]  # huey is untyped
def order_exports_sweep_task() -> int:
    """Expire the files past their day; enqueue again the builds a worker left behind (returns
    how many)."""
    from orders.services.exports import order_exports_expire, order_exports_rescue

    now = timezone.now()
    order_exports_expire(now=now)
    again = order_exports_rescue(now=now)
    for export_id in again:
        order_export_build_task(export_id)
    return len(again)
