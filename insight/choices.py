from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClassifierTarget(models.TextChoices):
    """What a classifier model predicts: a catalog item (by code) or a handling unit (by code)."""

    ITEM = "item", _("事项")
    UNIT = "unit", _("承办单位")


class TrainingSource(models.TextChoices):
    """Where a model's training examples came from."""

    COLD_START = "cold_start", _("事项清单与知识库（冷启动）")
    ORDERS = "orders", _("已办结工单")


class DispatchDecision(models.TextChoices):
    """How an order with suggestions was dispatched: still open, by the system, by a dispatcher,
    or never (withdrawn, merged, answered directly)."""

    PENDING = "pending", _("待派单员决定")
    AUTO = "auto", _("自动派单")
    MANUAL = "manual", _("人工派单")
    NONE = "none", _("未派单")
