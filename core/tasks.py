"""Periodic and background tasks of ``core`` (Huey). Tasks take ids, are safe to run twice."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task


# 01:05 UTC (Huey schedules in UTC by default) = 09:05 Asia/Shanghai, during office hours.
@db_periodic_task(crontab(hour="1", minute="5"))  # type: ignore[untyped-decorator]  # huey is untyped
def calendar_missing_year_task() -> None:
    """Daily: audit ``calendar.next_year_missing`` (at most once a day) while next year is missing."""
    from core.calendar_services import calendar_warn_missing_year

    calendar_warn_missing_year(now=timezone.now())


# 18:30 UTC = 02:30 Asia/Shanghai.
@db_periodic_task(crontab(hour="18", minute="30"))  # type: ignore[untyped-decorator]  # huey is untyped
def disable_stale_accounts_task() -> None:
    """Daily: disable accounts inactive for ACCOUNT_INACTIVE_DAYS (AC-4). Safe to run twice."""
    from core.identity import accounts_disable_stale

    accounts_disable_stale(now=timezone.now())
