"""Calendar services: entered days, confirmed years, the version, audit rows, recomputed deadlines."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from core.calendar_services import (
    calendar_day_enter,
    calendar_day_remove,
    calendar_year_confirm,
    calendar_year_unconfirm,
)
from core.models import AuditEvent, CalendarDay, CalendarState, CalendarYear, User
from core.workcalendar import (
    SHANGHAI,
    WORKING_DAYS,
    add_working_days,
    clear_calendar_cache,
    deadline_for,
    is_working_day,
    load_calendar,
    working_time_between,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 10, 15, 9, 30, tzinfo=SHANGHAI)

# A plausible 2027 Spring Festival arrangement an administrator might enter (the library ends at 2026).
SPRING_2027_HOLIDAYS = [date(2027, 2, d) for d in (6, 7, 8, 9, 10, 11, 12)]
SPRING_2027_WORKDAYS = [date(2027, 2, 20)]


@pytest.fixture(autouse=True)
def frozen_clock():
    clear_calendar_cache()
    with time_machine.travel(NOW, tick=False):
        yield
    clear_calendar_cache()


@pytest.fixture
def admin_user():
    return User.objects.create_user(username="sysadmin", password="x", admin_role="system")


def enter_spring_2027(actor):
    for day in SPRING_2027_HOLIDAYS:
        calendar_day_enter(actor=actor, date=day, is_workday=False, name="春节", now=NOW)
    for day in SPRING_2027_WORKDAYS:
        calendar_day_enter(actor=actor, date=day, is_workday=True, name="春节调休", now=NOW)


def last_event() -> AuditEvent:
    event = AuditEvent.objects.last()
    assert event is not None
    return event


def version() -> int:
    return CalendarState.objects.get(pk=1).version


def test_entering_a_day_stores_it_bumps_the_version_and_audits_once(admin_user):
    before = AuditEvent.objects.count()
    day = calendar_day_enter(
        actor=admin_user, date=date(2027, 1, 1), is_workday=False, name=" 元旦 ", now=NOW
    )
    assert (day.date, day.is_workday, day.name, day.created_at) == (date(2027, 1, 1), False, "元旦", NOW)
    assert version() == 2
    assert AuditEvent.objects.count() == before + 1
    event = last_event()
    assert event.event_type == "calendar.day_enter"
    assert event.actor == admin_user
    assert event.before is None
    assert event.after == {"date": "2027-01-01", "is_workday": False, "name": "元旦"}
    assert event.extra == {"calendar_version": 2, "library_is_workday": None}


def test_entering_the_same_date_again_changes_it_and_records_before_and_after(admin_user):
    calendar_day_enter(actor=admin_user, date=date(2027, 1, 2), is_workday=False, name="", now=NOW)
    calendar_day_enter(actor=admin_user, date=date(2027, 1, 2), is_workday=True, name="调休", now=NOW)
    assert CalendarDay.objects.get().is_workday is True
    event = last_event()
    assert event.before == {"date": "2027-01-02", "is_workday": False, "name": ""}
    assert (event.after or {})["is_workday"] is True
    assert version() == 3


def test_an_override_of_a_library_year_is_allowed_and_records_the_library_value(admin_user):
    calendar_day_enter(actor=admin_user, date=date(2026, 3, 2), is_workday=False, name="地方假日", now=NOW)
    assert last_event().extra["library_is_workday"] is True
    due = deadline_for(datetime(2026, 2, 27, 10, 0, tzinfo=SHANGHAI), 2, WORKING_DAYS)
    # Sat 28 (调休) is the first working day, Mon 2 is now a holiday, Tue 3 is the second
    assert due.at == datetime(2026, 3, 4, tzinfo=SHANGHAI)


def test_a_too_long_name_is_refused_without_any_write(admin_user):
    with pytest.raises(ValidationError):
        calendar_day_enter(actor=admin_user, date=date(2027, 1, 1), is_workday=False, name="节" * 65, now=NOW)
    assert not CalendarDay.objects.exists()
    assert not AuditEvent.objects.filter(event_type__startswith="calendar.").exists()


def test_removing_a_day_restores_the_weekend_rule_and_audits(admin_user):
    calendar_day_enter(actor=admin_user, date=date(2027, 1, 1), is_workday=False, name="元旦", now=NOW)
    assert not load_calendar().is_working_day(date(2027, 1, 1))
    calendar_day_remove(actor=admin_user, date=date(2027, 1, 1), now=NOW)
    assert load_calendar().is_working_day(date(2027, 1, 1))
    event = last_event()
    assert event.event_type == "calendar.day_remove"
    assert (event.before or {})["name"] == "元旦"
    assert version() == 3


def test_removing_a_day_that_was_never_entered_is_refused(admin_user):
    with pytest.raises(ValidationError, match="没有录入过"):
        calendar_day_remove(actor=admin_user, date=date(2027, 1, 1), now=NOW)
    assert not AuditEvent.objects.exists()
    assert not CalendarState.objects.exists()


def test_confirming_a_year_without_holidays_is_refused_in_chinese(admin_user):
    with pytest.raises(ValidationError, match="不能确认"):
        calendar_year_confirm(actor=admin_user, year=2027, now=NOW)
    calendar_day_enter(actor=admin_user, date=date(2027, 2, 6), is_workday=False, name="周六", now=NOW)
    calendar_day_enter(actor=admin_user, date=date(2027, 2, 20), is_workday=True, name="调休", now=NOW)
    with pytest.raises(ValidationError, match="不能确认"):  # a Saturday holiday changes nothing
        calendar_year_confirm(actor=admin_user, year=2027, now=NOW)
    assert not CalendarYear.objects.exists()


def test_confirming_a_library_year_or_twice_is_refused(admin_user):
    with pytest.raises(ValidationError, match="节假日库"):
        calendar_year_confirm(actor=admin_user, year=2026, now=NOW)
    enter_spring_2027(admin_user)
    calendar_year_confirm(actor=admin_user, year=2027, now=NOW)
    with pytest.raises(ValidationError, match="已经确认"):
        calendar_year_confirm(actor=admin_user, year=2027, now=NOW)
    assert CalendarYear.objects.count() == 1


def test_confirming_a_year_audits_its_days_and_bumps_the_version(admin_user):
    enter_spring_2027(admin_user)
    entered_version = version()
    confirmed = calendar_year_confirm(actor=admin_user, year=2027, now=NOW)
    assert (confirmed.year, confirmed.entered_at) == (2027, NOW)
    assert version() == entered_version + 1
    event = last_event()
    assert event.event_type == "calendar.year_confirm"
    after = event.after or {}
    assert after["holidays"] == [d.isoformat() for d in SPRING_2027_HOLIDAYS]
    assert after["workdays"] == ["2027-02-20"]


def test_a_2027_deadline_is_provisional_until_entered_and_confirmed_then_later(admin_user):
    start = datetime(2027, 2, 3, 10, 0, tzinfo=SHANGHAI)
    provisional = deadline_for(start, 5, WORKING_DAYS)
    assert provisional.at == datetime(2027, 2, 11, tzinfo=SHANGHAI)  # weekends alone
    assert provisional.provisional is True
    assert provisional.calendar_version == 1

    enter_spring_2027(admin_user)
    entered = deadline_for(start, 5, WORKING_DAYS)
    # Thu 4, Fri 5, holiday 6..12, Mon 15, Tue 16, Wed 17
    assert entered.at == datetime(2027, 2, 18, tzinfo=SHANGHAI)
    assert entered.provisional is True  # the year is not confirmed yet
    assert entered.calendar_version == 1 + len(SPRING_2027_HOLIDAYS) + len(SPRING_2027_WORKDAYS)

    calendar_year_confirm(actor=admin_user, year=2027, now=NOW)
    final = deadline_for(start, 5, WORKING_DAYS)
    assert final.at == entered.at > provisional.at
    assert final.provisional is False
    assert final.calendar_version == entered.calendar_version + 1


def test_unconfirming_makes_the_year_provisional_again(admin_user):
    enter_spring_2027(admin_user)
    calendar_year_confirm(actor=admin_user, year=2027, now=NOW)
    calendar_year_unconfirm(actor=admin_user, year=2027, now=NOW)
    assert load_calendar().is_year_known(2027) is False
    assert last_event().event_type == "calendar.year_unconfirm"
    with pytest.raises(ValidationError, match="没有确认"):
        calendar_year_unconfirm(actor=admin_user, year=2027, now=NOW)


def test_the_loaded_calendar_is_cached_by_version(admin_user, django_assert_num_queries):
    load_calendar()
    with django_assert_num_queries(1):  # only the version
        first = load_calendar()
    with django_assert_num_queries(1):
        assert load_calendar() is first
    calendar_day_enter(actor=admin_user, date=date(2027, 1, 1), is_workday=False, name="元旦", now=NOW)
    with django_assert_num_queries(3):  # version changed: days and years reloaded
        fresh = load_calendar()
    assert fresh is not first
    assert fresh.version == 2
    assert fresh.entered == {date(2027, 1, 1): False}


def test_a_calendar_snapshot_is_one_query_for_many_deadlines(admin_user, django_assert_num_queries):
    enter_spring_2027(admin_user)
    with django_assert_num_queries(3):
        cal = load_calendar()
        for hour in range(500):
            deadline_for(
                datetime(2027, 1, 1, tzinfo=SHANGHAI).replace(hour=hour % 24), 5, WORKING_DAYS, calendar=cal
            )


def test_the_module_functions_read_the_entered_days(admin_user):
    assert is_working_day(date(2027, 2, 8))
    enter_spring_2027(admin_user)
    assert not is_working_day(date(2027, 2, 8))
    assert is_working_day(date(2027, 2, 20))  # an entered Saturday working day
    assert add_working_days(date(2027, 2, 5), 1) == date(2027, 2, 15)
    week = working_time_between(datetime(2027, 2, 6, tzinfo=SHANGHAI), datetime(2027, 2, 13, tzinfo=SHANGHAI))
    assert week.total_seconds() == 0
