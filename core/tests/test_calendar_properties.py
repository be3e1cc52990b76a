"""Properties of deadlines (SECURITY.md SLA-3) on random calendars around known and unknown years."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from core.workcalendar import SHANGHAI, WORKING_DAYS, WorkCalendar


@pytest.fixture(autouse=True, scope="module")
def frozen_clock():
    # Nothing here reads the clock; frozen anyway so a regression that did would be deterministic.
    with time_machine.travel(datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI), tick=False):
        yield


CI = settings(deadline=None, derandomize=True, max_examples=100)

days = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 6, 30))
instants = st.builds(
    lambda d, t: datetime.combine(d, t, tzinfo=SHANGHAI),
    days,
    st.times(),
)
limits = st.integers(min_value=1, max_value=40)
entered = st.dictionaries(days, st.booleans(), max_size=25)
confirmed = st.frozensets(st.sampled_from([2027, 2028]))
calendars = st.builds(lambda e, y: WorkCalendar(entered=e, confirmed_years=y), entered, confirmed)


@CI
@given(calendars, instants, limits, days)
def test_adding_a_holiday_never_makes_a_deadline_earlier(cal, start, limit, holiday):
    with_holiday = WorkCalendar(entered={**cal.entered, holiday: False}, confirmed_years=cal.confirmed_years)
    assert (
        with_holiday.deadline_for(start, limit, WORKING_DAYS).at
        >= cal.deadline_for(start, limit, WORKING_DAYS).at
    )


@CI
@given(calendars, instants, instants, limits)
def test_deadline_is_monotone_in_start(cal, a, b, limit):
    early, late = min(a, b), max(a, b)
    assert cal.deadline_for(early, limit, WORKING_DAYS).at <= cal.deadline_for(late, limit, WORKING_DAYS).at


@CI
@given(calendars, instants, limits, limits)
def test_deadline_is_monotone_in_limit(cal, start, a, b):
    small, big = min(a, b), max(a, b)
    assert cal.deadline_for(start, small, WORKING_DAYS).at <= cal.deadline_for(start, big, WORKING_DAYS).at


@CI
@given(calendars, instants, limits)
def test_deadline_is_the_end_of_a_working_day_after_the_start_date(cal, start, limit):
    due = cal.deadline_for(start, limit, WORKING_DAYS).at.astimezone(SHANGHAI)
    last_day = due.date() - timedelta(days=1)
    assert due.time() == time(0, 0)
    assert cal.is_working_day(last_day)
    assert last_day > start.date()
    # exactly `limit` working days after the start date, the last of them being last_day
    span = cal.working_time_between(
        datetime.combine(start.date() + timedelta(days=1), time(0), tzinfo=SHANGHAI), due
    )
    assert span == timedelta(days=limit)


@CI
@given(calendars, instants, limits)
def test_a_deadline_is_provisional_iff_its_days_reach_an_unconfirmed_year(cal, start, limit):
    deadline = cal.deadline_for(start, limit, WORKING_DAYS)
    crossed = range(start.date().year, deadline.at.astimezone(SHANGHAI).date().year + 1)
    touched_unknown = any(not cal.is_year_known(y) for y in crossed)
    # the last classified day is the deadline's last day; its year is within `crossed`
    if not touched_unknown:
        assert deadline.provisional is False
    if not cal.is_year_known((deadline.at - timedelta(days=1)).astimezone(SHANGHAI).year):
        assert deadline.provisional is True
