from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarDay(models.Model):
    """A day an administrator entered: a holiday (is_workday=False) or an adjusted working day 调休.

    Entered days override the ``chinese_calendar`` library for that date.
    """

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是否工作日"))
    name = models.CharField(_("名称"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("录入时间"))

    class Meta:
        verbose_name = _("节假日/调休日")
        verbose_name_plural = _("节假日/调休日")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'班' if self.is_workday else '休'} {self.name}"


class CalendarYear(models.Model):
    """A year whose holidays an administrator has entered completely (beyond the library)."""

    year = models.PositiveIntegerField(_("年份"), unique=True)
    entered_at = models.DateTimeField(_("确认时间"))

    class Meta:
        verbose_name = _("已录入年份")
        verbose_name_plural = _("已录入年份")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarState(models.Model):
    """Singleton (pk=1): the calendar version, bumped by every change to entered days or years."""

    version = models.PositiveIntegerField(default=1)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("日历版本")
        verbose_name_plural = _("日历版本")

    def __str__(self) -> str:
        return f"v{self.version}"
