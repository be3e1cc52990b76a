from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LimitUnit(models.TextChoices):
    WORKING_DAYS = "working_days", _("工作日")
    HOURS = "hours", _("自然小时")


class HandlingLevel(models.TextChoices):
    CITY = "city", _("市级")
    DISTRICT = "district", _("区级")
    STREET = "street", _("街道级")
    COMMUNITY = "community", _("社区级")
