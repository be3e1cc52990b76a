"""Background work of the assessment (Huey). Thin: take ids or days, call ``assessment.rollups``;
safe to run twice (a second run finds every fact up to date and changes nothing).

- ``rollup_catch_up_task`` — every minute: read the orders timeline since the cursor and bring
  the facts and daily rollups up to date (``rollups.rollup_catch_up``);
- ``live_counts_task`` — every minute: the snapshot of the dashboard's live counters per grid
  (``rollups.live_counts_refresh``; the dashboard counts live when it is over 5 minutes old);
- ``rollup_orders_task(order_ids)`` — recompute some orders now (after an appeal is upheld);
- ``rollup_days_task(days)`` — rebuild some days from the facts (ISO dates);
- ``briefing_issue_task`` — 03:00 on the first of each month: last month's briefing per city.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey is untyped
def rollup_catch_up_task() -> int:
    from assessment.rollups import rollup_catch_up

    return rollup_catch_up(now=timezone.now()).orders


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey is untyped
def live_counts_task() -> int:
    from assessment.rollups import live_counts_refresh

    return live_counts_refresh(now=timezone.now()).grids


@db_task(retries=3, retry_delay=30)  # type: ignore[untyped-decorator]  # huey is untyped
def rollup_orders_task(order_ids: list[int]) -> int:
    from assessment.rollups import rollup_orders

    return rollup_orders(order_ids=[int(pk) for pk in order_ids], now=timezone.now()).orders


@db_task(retries=3, retry_delay=30)  # type: ignore[untyped-decorator]  # huey is untyped
def rollup_days_task(days: list[str]) -> int:
    from assessment.rollups import rollup_days

    return rollup_days(days=[dt.date.fromisoformat(day) for day in days])


@db_periodic_task(crontab(day="1", hour="3", minute="0"))  # type: ignore[untyped-decorator]  # huey is untyped
def briefing_issue_task() -> int:
    """On the first of each month: bring the rollups up to date, then issue last month's
    briefing for every city (a second run keeps the first copy)."""
    from assessment.briefing import briefing_issue_all
    from assessment.rollups import rollup_catch_up

    now = timezone.now()
    rollup_catch_up(now=now)
    return len(briefing_issue_all(now=now))
