"""The Chinese working-day calendar: working days, working-day arithmetic and deadlines.

Sources, in order of precedence for a date:

1. a day an administrator entered (``CalendarDay``: a holiday or an adjusted working day 调休);
2. the ``chinese_calendar`` library (statutory holidays and 调休 working days; it knows the years
   in ``LIBRARY_YEARS`` and raises ``NotImplementedError`` outside them);
3. weekends alone (Monday–Friday work, Saturday and Sunday rest).

A year is *known* if the library covers it or an administrator has confirmed it
(``CalendarYear``). A day in an unknown year is classified by an entered day if there is one, else
by weekends alone, and every result whose computation had to classify such a day is
**provisional**: intake never stops for the calendar, and the deadline is recomputed once the year
is entered and confirmed (the version changes). Entered days apply even before their year is
confirmed: an entered holiday is a fact an administrator stated, and ignoring it until the whole
year is confirmed would make deadlines knowingly wrong; the result stays provisional until then.

Conventions (all dates are calendar dates in Asia/Shanghai):

- **Working-day limits** (``deadline_for(start, n, "working_days")``): counting starts on the day
  after the start's date, whether the start's date is itself a working day or not, and the limit
  ends at the end (24:00 Asia/Shanghai, i.e. 00:00 of the following calendar day) of the n-th
  working day so counted. This is the rule of the Civil Code (民法典) art. 201 and 203: the day an
  interval starts is not counted, and it ends at 24:00 of its last day. It makes an order dispatched at 08:00 and one
  dispatched at 23:59 on the same day due at the same instant, and an order dispatched on a
  Saturday with 1 working day due at the end of Monday (as is one dispatched on Friday).
- **Hour limits** (``"hours"``) are calendar hours: ``start + n hours``, never provisional (no day
  has to be classified).
- **Working time between two instants** (``working_time_between``) is the part of
  ``[start, end)`` that lies on working days, each working day counting all 24 hours (the
  granularity of the end-of-day convention above; office hours are not modelled). It is negative
  when ``end`` is before ``start``.

Performance: a ``WorkCalendar`` is an immutable snapshot of the entered days and confirmed years.
``load_calendar()`` costs one query (the version) when the cached snapshot is current and three
when it is not; batch callers load it once and pass it to every computation.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)

DeadlineUnit = Literal["working_days", "hours"]
WORKING_DAYS: DeadlineUnit = "working_days"
HOURS: DeadlineUnit = "hours"

# The library's own data, read once: ``chinese_calendar.is_workday`` recomputes its supported range
# on every call, which is too slow for thousands of deadlines.
_LIB_HOLIDAYS: Mapping[date, object] = chinese_calendar.holidays
_LIB_WORKDAYS: Mapping[date, object] = chinese_calendar.workdays
LIBRARY_YEARS = range(min(_LIB_HOLIDAYS).year, max(_LIB_HOLIDAYS).year + 1)


def library_covers(year: int) -> bool:
    """Whether the ``chinese_calendar`` library knows this year's holidays."""
    return year in LIBRARY_YEARS


def library_is_workday(day: date) -> bool:
    """The library's answer for a covered year (same rule as ``chinese_calendar.is_workday``)."""
    if not library_covers(day.year):
        raise NotImplementedError(f"chinese_calendar has no data for {day.year}")
    return day in _LIB_WORKDAYS or (day.weekday() < 5 and day not in _LIB_HOLIDAYS)


def weekend_is_workday(day: date) -> bool:
    return day.weekday() < 5


def local_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant."""
    _require_aware(instant)
    return instant.astimezone(SHANGHAI).date()


def start_of_day(day: date) -> datetime:
    """00:00 Asia/Shanghai of ``day`` as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def end_of_day(day: date) -> datetime:
    """24:00 Asia/Shanghai of ``day``, i.e. 00:00 of the next calendar day."""
    return start_of_day(day + DAY)


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware instant")


class DayClass(NamedTuple):
    is_workday: bool
    provisional: bool


class Shifted(NamedTuple):
    day: date
    provisional: bool


class WorkingTime(NamedTuple):
    duration: timedelta
    provisional: bool


@dataclass(frozen=True)
class Deadline:
    """When a limit runs out. ``provisional``: some day was classified by weekends alone."""

    at: datetime
    provisional: bool
    calendar_version: int


@dataclass(frozen=True)
class WorkCalendar:
    """An immutable snapshot of the calendar at one version. Pure: no database access."""

    version: int = 1
    entered: Mapping[date, bool] = field(default_factory=dict)
    confirmed_years: frozenset[int] = frozenset()

    def is_year_known(self, year: int) -> bool:
        return library_covers(year) or year in self.confirmed_years

    def classify(self, day: date) -> DayClass:
        known = self.is_year_known(day.year)
        entered = self.entered.get(day)
        if entered is not None:
            return DayClass(entered, not known)
        if library_covers(day.year):
            return DayClass(library_is_workday(day), False)
        return DayClass(weekend_is_workday(day), not known)

    def is_working_day(self, day: date) -> bool:
        return self.classify(day).is_workday

    def shift(self, day: date, n: int) -> Shifted:
        """The n-th working day after ``day`` (before it for negative n; ``day`` itself for 0)."""
        step = DAY if n >= 0 else -DAY
        remaining = abs(n)
        provisional = False
        current = day
        while remaining:
            current += step
            cls = self.classify(current)
            provisional = provisional or cls.provisional
            if cls.is_workday:
                remaining -= 1
        return Shifted(current, provisional)

    def add_working_days(self, day: date, n: int) -> date:
        return self.shift(day, n).day

    def working_time(self, start: datetime, end: datetime) -> WorkingTime:
        _require_aware(start)
        _require_aware(end)
        if end < start:
            inverse = self.working_time(end, start)
            return WorkingTime(-inverse.duration, inverse.provisional)
        total = timedelta(0)
        provisional = False
        day = local_date(start)
        last = local_date(end)
        while day <= last:
            cls = self.classify(day)
            provisional = provisional or cls.provisional
            if cls.is_workday:
                lo = max(start, start_of_day(day))
                hi = min(end, end_of_day(day))
                if hi > lo:
                    total += hi - lo
            day += DAY
        return WorkingTime(total, provisional)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        return self.working_time(start, end).duration

    def deadline_for(self, start: datetime, limit: int, unit: DeadlineUnit) -> Deadline:
        _require_aware(start)
        if limit < 1:
            raise ValueError("limit must be a positive number of working days or hours")
        if unit == HOURS:
            return Deadline(
                at=start + timedelta(hours=limit), provisional=False, calendar_version=self.version
            )
        if unit != WORKING_DAYS:
            raise ValueError(f"unknown deadline unit: {unit!r}")
        last_day, provisional = self.shift(local_date(start), limit)
        return Deadline(at=end_of_day(last_day), provisional=provisional, calendar_version=self.version)


# --- loading from the database, cached by version ---------------------------------------------

_cache_lock = threading.Lock()
_cached: tuple[tuple[str, int, datetime | None], WorkCalendar] | None = None


def clear_calendar_cache() -> None:
    """Forget the cached snapshot (the services call it on every change)."""
    global _cached
    with _cache_lock:
        _cached = None


def load_calendar(*, using: str = "default") -> WorkCalendar:
    """The current calendar: one query for the version, two more only when it changed."""
    global _cached
    from core.models import CalendarDay, CalendarState, CalendarYear

    state = CalendarState.objects.using(using).filter(pk=1).values_list("version", "changed_at").first()
    version, changed_at = state if state is not None else (1, None)
    key = (using, version, changed_at)
    with _cache_lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
    entered = dict(CalendarDay.objects.using(using).values_list("date", "is_workday"))
    years = frozenset(CalendarYear.objects.using(using).values_list("year", flat=True))
    calendar = WorkCalendar(version=version, entered=MappingProxyType(entered), confirmed_years=years)
    with _cache_lock:
        _cached = (key, calendar)
    return calendar


# --- module-level conveniences ------------------------------------------------------------------


def is_working_day(day: date, *, calendar: WorkCalendar | None = None) -> bool:
    return (calendar or load_calendar()).is_working_day(day)


def add_working_days(day: date, n: int, *, calendar: WorkCalendar | None = None) -> date:
    return (calendar or load_calendar()).add_working_days(day, n)


def working_time_between(
    start: datetime, end: datetime, *, calendar: WorkCalendar | None = None
) -> timedelta:
    return (calendar or load_calendar()).working_time_between(start, end)


def deadline_for(
    start: datetime, limit: int, unit: DeadlineUnit, *, calendar: WorkCalendar | None = None
) -> Deadline:
    return (calendar or load_calendar()).deadline_for(start, limit, unit)
