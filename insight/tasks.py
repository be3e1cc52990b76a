"""Insight's background work (Huey). Thin: read the clock once, call a service; safe to run twice.

- ``order_suggestions_task`` — every minute: suggestions (and automatic dispatch above the
  threshold) for newly submitted orders, and the dispatchers' decisions and overrides of earlier
  ones (``insight.autodispatch.order_suggestions_pass``); several consumers may run it at once.
- ``classifier_retrain_task`` — nightly at 02:30: new item and unit versions from the recent
  closed orders (``insight.autodispatch.classifier_retrain_from_orders``).
- ``early_warning_task`` — hourly: spikes of an item in a street, recorded once per episode
  (``insight.early_warning.early_warning_sweep``).
"""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey is untyped
def order_suggestions_task() -> None:
    from insight.autodispatch import order_suggestions_pass

    order_suggestions_pass(now=timezone.now())


@db_periodic_task(crontab(hour="2", minute="30"))  # type: ignore[untyped-decorator]  # huey is untyped
def classifier_retrain_task() -> None:
    from insight.autodispatch import classifier_retrain_from_orders

    classifier_retrain_from_orders(now=timezone.now())


@db_periodic_task(crontab(minute="7"))  # type: ignore[untyped-decorator]  # huey is untyped
def early_warning_task() -> None:
    from insight.early_warning import early_warning_sweep

    early_warning_sweep(now=timezone.now())
