"""Golden cases of the pure calendar arithmetic (no database: a WorkCalendar snapshot is passed in).

Every date here was checked against chinesecalendar 1.11 (see test_library_agrees_...).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
import time_machine

from core.workcalendar import (
    HOURS,
    LIBRARY_YEARS,
    SHANGHAI,
    WORKING_DAYS,
    WorkCalendar,
    library_is_workday,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")

CAL = WorkCalendar(version=7)


@pytest.fixture
def frozen_clock():
    with time_machine.travel(datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI), tick=False):
        yield


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_library_covers_2026_but_not_2027():
    assert 2026 in LIBRARY_YEARS
    assert 2027 not in LIBRARY_YEARS
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_library_agrees_with_chinese_calendar_for_2025_and_2026():
    day = date(2025, 1, 1)
    while day.year <= 2026:
        assert library_is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        ("2026-02-13", True),  # Friday before Spring Festival
        ("2026-02-14", True),  # Saturday, adjusted working day 调休
        ("2026-02-15", False),  # Spring Festival holiday starts (Sunday)
        ("2026-02-16", False),
        ("2026-02-20", False),  # a Friday inside the holiday
        ("2026-02-23", False),  # last holiday day (Monday)
        ("2026-02-24", True),
        ("2026-02-28", True),  # Saturday, adjusted working day
        ("2026-03-01", False),  # ordinary Sunday
        ("2025-09-28", True),  # Sunday, adjusted working day before National Day 2025
        ("2025-10-01", False),
        ("2025-10-06", False),  # Mid-Autumn inside the National Day week
        ("2025-10-08", False),
        ("2025-10-09", True),
        ("2025-10-11", True),  # Saturday, adjusted working day
        ("2025-10-12", False),
        ("2026-09-25", False),  # Mid-Autumn 2026 (Friday)
        ("2026-10-07", False),
        ("2026-10-08", True),
        ("2026-10-10", True),  # Saturday, adjusted working day
        ("2027-01-01", True),  # unknown year: weekends alone (a Friday)
        ("2027-01-02", False),  # unknown year: Saturday
    ],
)
def test_is_working_day_golden(day, workday):
    assert CAL.is_working_day(d(day)) is workday


def test_days_in_unknown_years_are_provisional_and_known_ones_are_not():
    assert CAL.classify(d("2027-03-03")).provisional
    assert not CAL.classify(d("2026-03-03")).provisional
    assert not WorkCalendar(confirmed_years=frozenset({2027})).classify(d("2027-03-03")).provisional


def test_entered_day_overrides_the_library_and_the_weekend_rule():
    cal = WorkCalendar(entered={d("2026-03-02"): False, d("2027-01-02"): True})
    assert not cal.is_working_day(d("2026-03-02"))
    assert cal.is_working_day(d("2027-01-02"))
    assert cal.classify(d("2027-01-02")).provisional  # 2027 is still not confirmed


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2026-02-13", 1, "2026-02-14"),  # the 调休 Saturday counts
        ("2026-02-13", 2, "2026-02-24"),  # straight over the whole Spring Festival
        ("2026-02-14", 3, "2026-02-26"),
        ("2026-02-16", 1, "2026-02-24"),  # from inside the holiday
        ("2026-02-24", 4, "2026-02-28"),  # the second 调休 Saturday counts
        ("2026-02-24", 5, "2026-03-02"),
        ("2025-09-26", 1, "2025-09-28"),  # skips Saturday, counts the 调休 Sunday
        ("2025-09-30", 1, "2025-10-09"),  # over National Day 2025
        ("2025-09-30", 3, "2025-10-11"),
        ("2026-09-24", 2, "2026-09-29"),  # over Mid-Autumn 2026
        ("2026-09-24", 6, "2026-10-10"),  # over National Day 2026 onto its 调休 Saturday
        ("2026-02-24", 0, "2026-02-24"),
        ("2026-02-24", -1, "2026-02-14"),  # backwards over Spring Festival
        ("2025-10-09", -2, "2025-09-29"),
    ],
)
def test_add_working_days_golden(start, n, expected):
    assert CAL.add_working_days(d(start), n) == d(expected)


def test_add_working_days_into_an_unknown_year_is_provisional():
    shifted = CAL.shift(d("2026-12-30"), 3)
    assert shifted == (d("2027-01-04"), True)  # Thu 31, Fri 1 Jan (weekend rule), Mon 4
    assert CAL.shift(d("2026-12-01"), 3).provisional is False


@pytest.mark.parametrize(
    ("start", "limit", "due"),
    [
        # dispatched on the Friday before Spring Festival: the 调休 Saturday is the 1st working day
        (sh(2026, 2, 13, 10, 0), 1, sh(2026, 2, 15)),
        (sh(2026, 2, 13, 23, 59), 2, sh(2026, 2, 25)),
        (sh(2026, 2, 13, 0, 0), 3, sh(2026, 2, 26)),
        # dispatched during the holiday
        (sh(2026, 2, 18, 15, 0), 1, sh(2026, 2, 25)),
        # Saturday and Friday dispatches with 1 working day are both due at the end of Monday
        (sh(2026, 3, 7, 11, 0), 1, sh(2026, 3, 10)),
        (sh(2026, 3, 6, 11, 0), 1, sh(2026, 3, 10)),
        # National Day 2025
        (sh(2025, 9, 30, 15, 0), 1, sh(2025, 10, 10)),
        (sh(2025, 9, 30, 15, 0), 3, sh(2025, 10, 12)),
        (sh(2025, 9, 26, 9, 0), 1, sh(2025, 9, 29)),
        # National Day 2026
        (sh(2026, 9, 24, 9, 0), 5, sh(2026, 10, 10)),
        (sh(2026, 9, 24, 9, 0), 6, sh(2026, 10, 11)),
    ],
)
def test_working_day_deadline_golden(start, limit, due):
    deadline = CAL.deadline_for(start, limit, WORKING_DAYS)
    assert deadline.at == due
    assert deadline.provisional is False
    assert deadline.calendar_version == 7


def test_deadline_uses_the_shanghai_date_of_a_utc_instant():
    # 2026-02-13 17:30 UTC is already Saturday 2026-02-14 01:30 in Shanghai
    start = datetime.fromisoformat("2026-02-13T17:30:00+00:00")
    assert CAL.deadline_for(start, 1, WORKING_DAYS).at == sh(2026, 2, 25)


def test_hour_limits_are_calendar_hours_even_over_holidays():
    start = sh(2026, 2, 14, 20, 0)
    deadline = CAL.deadline_for(start, 24, HOURS)
    assert deadline.at == sh(2026, 2, 15, 20, 0)
    assert deadline.provisional is False
    assert CAL.deadline_for(sh(2026, 12, 31, 20, 0), 48, HOURS).provisional is False


def test_deadline_in_an_unknown_year_is_provisional_and_from_weekends():
    deadline = CAL.deadline_for(sh(2027, 2, 3, 10, 0), 5, WORKING_DAYS)
    assert deadline.at == sh(2027, 2, 11)  # Thu 4, Fri 5, Mon 8, Tue 9, Wed 10
    assert deadline.provisional is True


def test_deadline_refuses_naive_starts_bad_limits_and_units():
    with pytest.raises(ValueError, match="naive"):
        CAL.deadline_for(datetime(2026, 3, 2, 9, 0), 1, WORKING_DAYS)  # noqa: DTZ001
    with pytest.raises(ValueError, match="positive"):
        CAL.deadline_for(sh(2026, 3, 2, 9, 0), 0, WORKING_DAYS)
    with pytest.raises(ValueError, match="unit"):
        CAL.deadline_for(sh(2026, 3, 2, 9, 0), 1, "days")  # type: ignore[arg-type]


def test_working_time_counts_only_working_days():
    # Fri 13 from noon (12 h) + Sat 14 调休 (24 h) + holiday + Tue 24 until noon (12 h)
    assert CAL.working_time_between(sh(2026, 2, 13, 12, 0), sh(2026, 2, 24, 12, 0)) == timedelta(hours=48)
    assert CAL.working_time_between(sh(2026, 2, 16, 0, 0), sh(2026, 2, 23, 23, 0)) == timedelta(0)
    assert CAL.working_time_between(sh(2026, 3, 2, 9, 0), sh(2026, 3, 2, 17, 30)) == timedelta(hours=8.5)


def test_working_time_is_negative_when_end_is_before_start():
    assert CAL.working_time_between(sh(2026, 2, 24, 12, 0), sh(2026, 2, 13, 12, 0)) == -timedelta(hours=48)


def test_working_time_into_an_unknown_year_is_provisional():
    span = CAL.working_time(sh(2026, 12, 31, 12, 0), sh(2027, 1, 2, 0, 0))
    assert span == (timedelta(hours=36), True)


def test_working_time_refuses_naive_instants():
    with pytest.raises(ValueError, match="naive"):
        CAL.working_time_between(datetime(2026, 3, 2), sh(2026, 3, 3))  # noqa: DTZ001
