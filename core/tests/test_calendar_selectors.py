"""The missing-year warning (from 1 October) and the daily task that audits it once a day."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine

from core.calendar_selectors import calendar_missing_year, calendar_missing_year_warning
from core.calendar_services import NEXT_YEAR_MISSING, calendar_warn_missing_year
from core.models import AuditEvent
from core.tasks import calendar_missing_year_task
from core.workcalendar import SHANGHAI, WorkCalendar, clear_calendar_cache

CONFIRMED_2027 = WorkCalendar(confirmed_years=frozenset({2027}))


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_calendar_cache()
    with time_machine.travel(datetime(2026, 10, 1, 9, 0, tzinfo=SHANGHAI), tick=False):
        yield
    clear_calendar_cache()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("today", "calendar", "missing"),
    [
        (date(2026, 9, 30), WorkCalendar(), None),  # before 1 October: no warning yet
        (date(2026, 10, 1), WorkCalendar(), 2027),
        (date(2026, 12, 31), WorkCalendar(), 2027),
        (date(2026, 10, 1), CONFIRMED_2027, None),
        (date(2025, 10, 1), WorkCalendar(), None),  # 2026 is in the library
        (date(2027, 3, 1), WorkCalendar(), 2027),  # the current year itself is missing
        (date(2027, 3, 1), CONFIRMED_2027, None),
        (date(2027, 10, 1), CONFIRMED_2027, 2028),
    ],
)
def test_missing_year(today, calendar, missing):
    assert calendar_missing_year(today, calendar=calendar) == missing


def test_the_warning_is_chinese_and_names_the_year():
    message = calendar_missing_year_warning(date(2026, 10, 1), calendar=WorkCalendar())
    assert message is not None
    assert "2027年的节假日" in message
    assert "暂定" in message
    assert calendar_missing_year_warning(date(2026, 9, 30), calendar=WorkCalendar()) is None


@pytest.mark.django_db
def test_the_warning_reads_the_database_calendar():
    with time_machine.travel(at(2026, 10, 1, 9, 0), tick=False):
        assert calendar_missing_year_warning(date(2026, 10, 1)) is not None


@pytest.mark.django_db
def test_the_warning_task_audits_at_most_once_a_day():
    with time_machine.travel(at(2026, 10, 1, 0, 30), tick=False):
        first = calendar_warn_missing_year(now=at(2026, 10, 1, 0, 30))
        assert first is not None
        assert first.event_type == NEXT_YEAR_MISSING
        assert first.object_id == "2027"
        assert "2027" in first.extra["message"]
        assert calendar_warn_missing_year(now=at(2026, 10, 1, 23, 59)) is None
    with time_machine.travel(at(2026, 10, 2, 0, 1), tick=False):
        assert calendar_warn_missing_year(now=at(2026, 10, 2, 0, 1)) is not None
    assert AuditEvent.objects.filter(event_type=NEXT_YEAR_MISSING).count() == 2


@pytest.mark.django_db
def test_the_warning_task_writes_nothing_before_october():
    with time_machine.travel(at(2026, 9, 30, 12, 0), tick=False):
        assert calendar_warn_missing_year(now=at(2026, 9, 30, 12, 0)) is None
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_the_periodic_task_runs_the_warning_with_the_current_time():
    with time_machine.travel(at(2026, 11, 3, 9, 5), tick=False):
        calendar_missing_year_task.call_local()
        calendar_missing_year_task.call_local()  # safe to run twice
    events = list(AuditEvent.objects.filter(event_type=NEXT_YEAR_MISSING))
    assert len(events) == 1
    assert events[0].occurred_at == at(2026, 11, 3, 9, 5)
