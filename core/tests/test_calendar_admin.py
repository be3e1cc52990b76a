"""The calendar admin saves and deletes through the services: one audit row per change."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from django.contrib.admin.sites import AdminSite
from django.test import RequestFactory

from core.calendar_admin import CalendarDayAdmin, CalendarYearAdmin, CalendarYearForm
from core.models import AuditEvent, CalendarDay, CalendarState, CalendarYear, User
from core.workcalendar import SHANGHAI, clear_calendar_cache

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 10, 20, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def frozen_clock():
    clear_calendar_cache()
    with time_machine.travel(NOW, tick=False):
        yield
    clear_calendar_cache()


@pytest.fixture
def request_as_admin():
    user = User.objects.create_user(username="sysadmin", password="x", admin_role="system")
    request = RequestFactory().post("/admin/")
    request.user = user
    return request


def test_adding_a_day_in_the_admin_goes_through_the_service(request_as_admin):
    model_admin = CalendarDayAdmin(CalendarDay, AdminSite())
    obj = CalendarDay(date=date(2027, 1, 1), is_workday=False, name="元旦")
    model_admin.save_model(request_as_admin, obj, form=None, change=False)
    assert obj.pk == CalendarDay.objects.get().pk
    assert obj.created_at == NOW
    assert list(AuditEvent.objects.values_list("event_type", flat=True)) == ["calendar.day_enter"]
    assert CalendarState.objects.get().version == 2


def test_changing_and_deleting_a_day_in_the_admin_audit_once_each(request_as_admin):
    model_admin = CalendarDayAdmin(CalendarDay, AdminSite())
    obj = CalendarDay(date=date(2027, 1, 1), is_workday=False, name="元旦")
    model_admin.save_model(request_as_admin, obj, form=None, change=False)
    obj.name = "元旦节"
    model_admin.save_model(request_as_admin, obj, form=None, change=True)
    model_admin.delete_queryset(request_as_admin, CalendarDay.objects.all())
    assert not CalendarDay.objects.exists()
    assert list(AuditEvent.objects.values_list("event_type", flat=True)) == [
        "calendar.day_enter",
        "calendar.day_enter",
        "calendar.day_remove",
    ]
    assert model_admin.get_readonly_fields(request_as_admin, obj) == ("date", "created_at")


def test_the_day_list_shows_weekday_and_library_value():
    model_admin = CalendarDayAdmin(CalendarDay, AdminSite())
    assert model_admin.weekday(CalendarDay(date=date(2026, 2, 14))) == "周六"
    assert model_admin.library_value(CalendarDay(date=date(2026, 2, 14))) == "班"
    assert model_admin.library_value(CalendarDay(date=date(2026, 2, 16))) == "休"
    assert "未覆盖" in model_admin.library_value(CalendarDay(date=date(2027, 2, 16)))


def test_the_year_form_refuses_a_year_without_holidays():
    form = CalendarYearForm(data={"year": 2027})
    assert not form.is_valid()
    assert "不能确认" in str(form.errors["year"])


def test_confirming_and_unconfirming_a_year_in_the_admin(request_as_admin):
    CalendarDayAdmin(CalendarDay, AdminSite()).save_model(
        request_as_admin, CalendarDay(date=date(2027, 2, 8), is_workday=False, name="春节"), None, False
    )
    form = CalendarYearForm(data={"year": 2027})
    assert form.is_valid(), form.errors
    model_admin = CalendarYearAdmin(CalendarYear, AdminSite())
    obj = form.save(commit=False)
    model_admin.save_model(request_as_admin, obj, form, change=False)
    assert obj.pk == CalendarYear.objects.get(year=2027).pk
    model_admin.delete_model(request_as_admin, obj)
    assert not CalendarYear.objects.exists()
    assert list(AuditEvent.objects.values_list("event_type", flat=True)) == [
        "calendar.day_enter",
        "calendar.year_confirm",
        "calendar.year_unconfirm",
    ]
    assert model_admin.has_change_permission(request_as_admin) is False
