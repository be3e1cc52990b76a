"""Reads about the working-day calendar (for the admin, the dashboard and the warning task)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from core.workcalendar import WorkCalendar, load_calendar

WARN_FROM_MONTH = 10  # administrators are warned from 1 October about next year


def calendar_missing_year(today: dt.date, *, calendar: WorkCalendar | None = None) -> int | None:
    """The year administrators must enter now, or None.

    The current year if it is unknown (deadlines are already provisional); else next year from
    1 October on if it is unknown.
    """
    cal = calendar or load_calendar()
    if not cal.is_year_known(today.year):
        return today.year
    if today.month >= WARN_FROM_MONTH and not cal.is_year_known(today.year + 1):
        return today.year + 1
    return None


def calendar_missing_year_warning(today: dt.date, *, calendar: WorkCalendar | None = None) -> str | None:
    """A Chinese warning for administrators when a year's holidays must be entered, else None."""
    year = calendar_missing_year(today=today, calendar=calendar)
    if year is None:
        return None
    return _(
        "%(year)d年的节假日和调休安排尚未录入：请在“日历”中按国务院办公厅的放假通知录入%(year)d年的"
        "节假日和调休工作日，并确认该年份。在此之前，涉及%(year)d年的办理期限只按周末计算，标为暂定，"
        "录入确认后自动重算。"
    ) % {"year": year}
