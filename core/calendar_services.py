"""Every write to the working-day calendar. Each change bumps the calendar version and audits once.

Overrides: an administrator may enter a day in a year the library covers (the State Council
occasionally amends an arrangement, or a locality adds a day); it is allowed and audited, and the
audit row records what the library said so the override is visible.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.calendar_selectors import calendar_missing_year, calendar_missing_year_warning
from core.models import AuditEvent, CalendarDay, CalendarState, CalendarYear
from core.workcalendar import (
    SHANGHAI,
    clear_calendar_cache,
    library_covers,
    library_is_workday,
    local_date,
    start_of_day,
)

NEXT_YEAR_MISSING = "calendar.next_year_missing"
NAME_MAX_LENGTH = 64


def _bump_version(*, now: dt.datetime) -> int:
    """Increment the calendar version (the singleton is created at 1 and locked); returns the new one."""
    state, _created = CalendarState.objects.select_for_update().get_or_create(pk=1)
    state.version += 1
    state.changed_at = now
    state.save(update_fields=["version", "changed_at"])
    clear_calendar_cache()
    transaction.on_commit(clear_calendar_cache)
    return state.version


def _day_snapshot(day: CalendarDay) -> dict[str, Any]:
    return {"date": day.date.isoformat(), "is_workday": day.is_workday, "name": day.name}


def _library_value(day: dt.date) -> bool | None:
    return library_is_workday(day) if library_covers(day.year) else None


@transaction.atomic
def calendar_day_enter(
    *, actor: Any, date: dt.date, is_workday: bool, name: str, now: dt.datetime
) -> CalendarDay:
    """Enter (or change) one day: a holiday (``is_workday=False``) or an adjusted working day."""
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(_("名称不能超过%(n)d个字。") % {"n": NAME_MAX_LENGTH})
    existing = CalendarDay.objects.select_for_update().filter(date=date).first()
    before = _day_snapshot(existing) if existing is not None else None
    if existing is None:
        day = CalendarDay.objects.create(date=date, is_workday=is_workday, name=name, created_at=now)
    else:
        day = existing
        day.is_workday = is_workday
        day.name = name
        day.save(update_fields=["is_workday", "name"])
    version = _bump_version(now=now)
    audit_record(
        event_type="calendar.day_enter",
        actor=actor,
        object_type="core.CalendarDay",
        object_id=date.isoformat(),
        before=before,
        after=_day_snapshot(day),
        extra={"calendar_version": version, "library_is_workday": _library_value(date)},
        now=now,
    )
    return day


@transaction.atomic
def calendar_day_remove(*, actor: Any, date: dt.date, now: dt.datetime) -> None:
    """Remove an entered day; the library (or the weekend rule) decides that date again."""
    day = CalendarDay.objects.select_for_update().filter(date=date).first()
    if day is None:
        raise ValidationError(_("%(date)s 没有录入过，无法删除。") % {"date": date.isoformat()})
    before = _day_snapshot(day)
    day.delete()
    version = _bump_version(now=now)
    audit_record(
        event_type="calendar.day_remove",
        actor=actor,
        object_type="core.CalendarDay",
        object_id=date.isoformat(),
        before=before,
        extra={"calendar_version": version, "library_is_workday": _library_value(date)},
        now=now,
    )


def calendar_year_confirm_check(year: int) -> None:
    """Raise the Chinese ``ValidationError`` that ``calendar_year_confirm`` would (for forms)."""
    if library_covers(year):
        raise ValidationError(_("%(year)d年的节假日已由节假日库提供，无需确认。") % {"year": year})
    if CalendarYear.objects.filter(year=year).exists():
        raise ValidationError(_("%(year)d年已经确认过。") % {"year": year})
    has_weekday_holiday = any(
        d.weekday() < 5
        for d in CalendarDay.objects.filter(date__year=year, is_workday=False).values_list("date", flat=True)
    )
    if not has_weekday_holiday:
        raise ValidationError(
            _(
                "%(year)d年还没有录入任何落在工作日（周一至周五）的节假日，不能确认："
                "一年没有法定节假日几乎可以肯定是录入遗漏。请先按国务院办公厅的放假通知录入。"
            )
            % {"year": year}
        )


@transaction.atomic
def calendar_year_confirm(*, actor: Any, year: int, now: dt.datetime) -> CalendarYear:
    """Declare a year's entered holidays complete: its deadlines stop being provisional."""
    calendar_year_confirm_check(year)
    days = list(CalendarDay.objects.filter(date__year=year).order_by("date"))
    confirmed = CalendarYear.objects.create(year=year, entered_at=now)
    version = _bump_version(now=now)
    audit_record(
        event_type="calendar.year_confirm",
        actor=actor,
        object_type="core.CalendarYear",
        object_id=str(year),
        after={
            "year": year,
            "holidays": [d.date.isoformat() for d in days if not d.is_workday],
            "workdays": [d.date.isoformat() for d in days if d.is_workday],
        },
        extra={"calendar_version": version},
        now=now,
    )
    return confirmed


@transaction.atomic
def calendar_year_unconfirm(*, actor: Any, year: int, now: dt.datetime) -> None:
    """Withdraw a confirmation (an entry mistake found later): the year is provisional again."""
    confirmed = CalendarYear.objects.select_for_update().filter(year=year).first()
    if confirmed is None:
        raise ValidationError(_("%(year)d年没有确认过。") % {"year": year})
    confirmed.delete()
    version = _bump_version(now=now)
    audit_record(
        event_type="calendar.year_unconfirm",
        actor=actor,
        object_type="core.CalendarYear",
        object_id=str(year),
        before={"year": year},
        extra={"calendar_version": version},
        now=now,
    )


@transaction.atomic
def calendar_warn_missing_year(*, now: dt.datetime) -> AuditEvent | None:
    """Write ``calendar.next_year_missing`` at most once per Asia/Shanghai day while it applies.

    Safe to run twice: the calendar singleton is locked first, so two concurrent runs serialise
    and the second sees the first one's row. Returns the row written, or None.
    """
    today = local_date(now)
    missing = calendar_missing_year(today=today)
    message = calendar_missing_year_warning(today=today)
    if missing is None or message is None:
        return None
    CalendarState.objects.select_for_update().get_or_create(pk=1)
    day_start = start_of_day(today)
    already = AuditEvent.objects.filter(
        event_type=NEXT_YEAR_MISSING,
        occurred_at__gte=day_start,
        occurred_at__lt=day_start + dt.timedelta(days=1),
    ).exists()
    if already:
        return None
    return audit_record(
        event_type=NEXT_YEAR_MISSING,
        object_type="core.CalendarYear",
        object_id=str(missing),
        extra={"message": message, "today": today.isoformat(), "tz": str(SHANGHAI)},
        actor_login="system",
        now=now,
    )
