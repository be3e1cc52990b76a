"""The enumerations of the assessment (DESIGN.md "Assessment 考评")."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Axis(models.TextChoices):
    """The two ways an order is attributed to units (``assessment.metrics.COUNTING_RULES``)."""

    TERRITORIAL = "t", _("属地")  # where the problem is: the order's grid (street, community)
    HANDLING = "h", _("承办")  # the unit holding the final lead assignment


class AppealReason(models.TextChoices):
    """Why a unit contests a callback (申诉/免责 categories)."""

    UNREASONABLE_DEMAND = "unreasonable_demand", _("诉求不合理")
    OUTSIDE_DUTIES = "outside_duties", _("非本单位职责")
    CANNOT_SATISFY_BY_LAW = "cannot_satisfy_by_law", _("依法依规无法满足")


class AppealStatus(models.TextChoices):
    PENDING = "pending", _("待裁定")
    UPHELD = "upheld", _("申诉成立")
    REJECTED = "rejected", _("申诉驳回")


class AppealDecision(models.TextChoices):
    UPHOLD = "uphold", _("申诉成立")
    REJECT = "reject", _("申诉驳回")


APPEAL_ACTIVE: frozenset[str] = frozenset({AppealStatus.PENDING, AppealStatus.UPHELD})


class WarningLevel(models.TextChoices):
    """Early-warning levels (filled by the insight app)."""

    YELLOW = "yellow", _("黄色预警")
    ORANGE = "orange", _("橙色预警")
    RED = "red", _("红色预警")


class FillStatus(models.TextChoices):
    STARTED = "started", _("进行中")
    DONE = "done", _("已完成")


class RankingKind(models.TextChoices):
    STREET = "street", _("街道（属地）")
    DEPARTMENT = "department", _("部门（承办）")
