"""Admin for the working-day calendar. Every save and delete goes through ``core.calendar_services``.

The services write the one audit row and bump the calendar version, so these classes override
``save_model``/``delete_model`` themselves instead of going through ``config_save`` (which would
write a second, generic audit row).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin_base import AuditedModelAdmin, ReadOnlyModelAdmin
from core.calendar_selectors import calendar_missing_year_warning
from core.calendar_services import (
    calendar_day_enter,
    calendar_day_remove,
    calendar_year_confirm,
    calendar_year_confirm_check,
    calendar_year_unconfirm,
)
from core.models import CalendarDay, CalendarState, CalendarYear
from core.workcalendar import library_covers, library_is_workday, local_date

WEEKDAYS = "一二三四五六日"


def _warn_missing_year(request: HttpRequest) -> None:
    message = calendar_missing_year_warning(local_date(timezone.now()))
    if message:
        messages.warning(request, message)


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedModelAdmin):
    list_display = ("date", "weekday", "is_workday", "name", "library_value")
    list_filter = ("is_workday",)
    search_fields = ("name",)
    date_hierarchy = "date"
    fields = ("date", "is_workday", "name", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A day is identified by its date: to move it, delete it and enter the other date.
        return ("date", "created_at") if obj is not None else ("created_at",)

    @admin.display(description=_("星期"))
    def weekday(self, obj: CalendarDay) -> str:
        return f"周{WEEKDAYS[obj.date.weekday()]}"

    @admin.display(description=_("节假日库"))
    def library_value(self, obj: CalendarDay) -> str:
        if not library_covers(obj.date.year):
            return str(_("（库未覆盖）"))
        return str(_("班")) if library_is_workday(obj.date) else str(_("休"))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        _warn_missing_year(request)
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        day = calendar_day_enter(
            actor=request.user, date=obj.date, is_workday=obj.is_workday, name=obj.name, now=timezone.now()
        )
        obj.pk = day.pk
        obj.created_at = day.created_at

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        calendar_day_remove(actor=request.user, date=obj.date, now=timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class CalendarYearForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = CalendarYear
        fields = ("year",)

    def clean_year(self) -> int:
        year: int = self.cleaned_data["year"]
        calendar_year_confirm_check(year)
        return year


@admin.register(CalendarYear)
class CalendarYearAdmin(AuditedModelAdmin):
    """Confirming a year (adding it here) declares its entered holidays complete."""

    form = CalendarYearForm
    list_display = ("year", "entered_at")
    readonly_fields = ("entered_at",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        _warn_missing_year(request)
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        confirmed = calendar_year_confirm(actor=request.user, year=obj.year, now=timezone.now())
        obj.pk = confirmed.pk
        obj.entered_at = confirmed.entered_at

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        calendar_year_unconfirm(actor=request.user, year=obj.year, now=timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(CalendarState)
class CalendarStateAdmin(ReadOnlyModelAdmin):
    list_display = ("version", "changed_at")
