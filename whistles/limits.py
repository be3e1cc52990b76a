"""The time limits of a whistle: acknowledge-within and arrive-within per type.

Defaults (``DEFAULT_LIMITS``) follow common 吹哨报到 practice; a ``WhistleTypeLimit`` row
overrides a type. Urgent whistles count calendar time (30 minutes to acknowledge, 2 hours to be
on site); short and long whistles count working time on the Chinese working-day calendar
(``core.workcalendar``: working-day limits end at 24:00 of the n-th working day after the start;
working hours are laid out over working days, each counting all its 24 hours — office hours are
not modelled, as everywhere in Minhu). A long whistle's arrival deadline is its meeting time.

Yellow warnings fall due when ``WHISTLE_YELLOW_FRACTION`` (default 0.75) of the interval between
the start and the deadline has passed.

Nothing here reads the clock: every instant is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from core.workcalendar import WORKING_DAYS, WorkCalendar, end_of_day, local_date, start_of_day
from whistles.choices import LimitUnit, WhistleType

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: LimitUnit

    def label(self) -> str:
        return f"{self.amount}{LimitUnit(self.unit).label}"


@dataclass(frozen=True)
class TypeLimits:
    acknowledge: Limit
    arrive: Limit


DEFAULT_LIMITS: dict[WhistleType, TypeLimits] = {
    WhistleType.URGENT: TypeLimits(Limit(30, LimitUnit.MINUTES), Limit(2, LimitUnit.HOURS)),
    WhistleType.SHORT: TypeLimits(Limit(4, LimitUnit.WORKING_HOURS), Limit(1, LimitUnit.WORKING_DAYS)),
    WhistleType.LONG: TypeLimits(Limit(1, LimitUnit.WORKING_DAYS), Limit(3, LimitUnit.WORKING_DAYS)),
}


def limits_for(whistle_type: str) -> TypeLimits:
    """The limits in force for a type: its configured row, else the default (one query)."""
    from whistles.models import WhistleTypeLimit

    row = WhistleTypeLimit.objects.filter(type=whistle_type).first()
    if row is None:
        return DEFAULT_LIMITS[WhistleType(whistle_type)]
    return TypeLimits(
        Limit(row.acknowledge_within, LimitUnit(row.acknowledge_unit)),
        Limit(row.arrive_within, LimitUnit(row.arrive_unit)),
    )


def yellow_fraction() -> float:
    value = float(getattr(settings, "WHISTLE_YELLOW_FRACTION", 0.75))
    if not 0.0 < value < 1.0:
        raise ValueError("WHISTLE_YELLOW_FRACTION must lie strictly between 0 and 1")
    return value


def add_working_hours(calendar: WorkCalendar, start: datetime, hours: int) -> tuple[datetime, bool]:
    """The instant at which ``hours`` of working time have passed since ``start``; (instant,
    provisional)."""
    remaining = timedelta(hours=hours)
    provisional = False
    day = local_date(start)
    while True:
        cls = calendar.classify(day)
        provisional = provisional or cls.provisional
        if cls.is_workday:
            lo = max(start, start_of_day(day))
            available = end_of_day(day) - lo
            if available >= remaining:
                return lo + remaining, provisional
            remaining -= available
        day += DAY


def deadline_after(start: datetime, limit: Limit, calendar: WorkCalendar) -> tuple[datetime, bool]:
    """When ``limit`` counted from ``start`` runs out; (instant, provisional)."""
    if limit.amount < 1:
        raise ValueError("a limit must be positive")
    if limit.unit == LimitUnit.MINUTES:
        return start + timedelta(minutes=limit.amount), False
    if limit.unit == LimitUnit.HOURS:
        return start + timedelta(hours=limit.amount), False
    if limit.unit == LimitUnit.WORKING_HOURS:
        return add_working_hours(calendar, start, limit.amount)
    deadline = calendar.deadline_for(start, limit.amount, WORKING_DAYS)
    return deadline.at, deadline.provisional


def warn_at(start: datetime, due: datetime) -> datetime:
    """When the yellow warning for a deadline falls due."""
    if due <= start:
        return due
    return start + (due - start) * yellow_fraction()


@dataclass(frozen=True)
class SummonsDeadlines:
    acknowledge_by: datetime
    arrive_by: datetime
    acknowledge_warn_at: datetime
    arrive_warn_at: datetime
    provisional: bool


def summons_deadlines(
    *, start: datetime, limits: TypeLimits, calendar: WorkCalendar, meeting_at: datetime | None = None
) -> SummonsDeadlines:
    """A summons' deadlines from the blowing instant: the arrival deadline is the meeting time
    when there is one, and acknowledging is never due after arriving."""
    arrive_by, arrive_prov = deadline_after(start, limits.arrive, calendar)
    if meeting_at is not None:
        arrive_by, arrive_prov = meeting_at, False
    acknowledge_by, ack_prov = deadline_after(start, limits.acknowledge, calendar)
    acknowledge_by = min(acknowledge_by, arrive_by)
    return SummonsDeadlines(
        acknowledge_by=acknowledge_by,
        arrive_by=arrive_by,
        acknowledge_warn_at=warn_at(start, acknowledge_by),
        arrive_warn_at=warn_at(start, arrive_by),
        provisional=ack_prov or arrive_prov,
    )
