"""The enumerations of 吹哨报到 (DESIGN.md "The whistle").

``WhistleStatus`` and ``SummonsStatus`` carry their state groups; the transition tables that use
these values live in ``whistles.states``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WhistleType(models.TextChoices):
    SHORT = "short", _("短哨")
    LONG = "long", _("长哨")
    URGENT = "urgent", _("急哨")


class WhistleStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已办结")
    CANCELLED = "cancelled", _("已撤销")


WHISTLE_TERMINAL: frozenset[str] = frozenset({WhistleStatus.CLOSED, WhistleStatus.CANCELLED})


class SummonsStatus(models.TextChoices):
    SUMMONED = "summoned", _("待响应")
    ACKNOWLEDGED = "acknowledged", _("已响应")
    CHECKED_IN = "checked_in", _("已报到")
    NOT_REPORTED = "not_reported", _("未报到")
    CANCELLED = "cancelled", _("已撤销")


# A summons that still has to report (acknowledge and/or arrive).
SUMMONS_WAITING: frozenset[str] = frozenset({SummonsStatus.SUMMONED, SummonsStatus.ACKNOWLEDGED})
# A summons that may still receive and answer tasks.
SUMMONS_WORKING: frozenset[str] = frozenset(
    {SummonsStatus.SUMMONED, SummonsStatus.ACKNOWLEDGED, SummonsStatus.CHECKED_IN}
)


class TaskStatus(models.TextChoices):
    OPEN = "open", _("待答复")
    REPLIED = "replied", _("已答复")
    UNANSWERED = "unanswered", _("未答复")
    CANCELLED = "cancelled", _("已撤销")


class LimitUnit(models.TextChoices):
    """How a whistle limit counts: calendar minutes/hours, or working hours/days
    (``core.workcalendar``: a working day counts all its 24 hours)."""

    MINUTES = "minutes", _("自然分钟")
    HOURS = "hours", _("自然小时")
    WORKING_HOURS = "working_hours", _("工作小时")
    WORKING_DAYS = "working_days", _("工作日")


class Action(models.TextChoices):
    """Every action on a whistle; each is one service and one event type."""

    BLOW = "blow", _("吹哨")
    ACKNOWLEDGE = "acknowledge", _("响应")
    CHECK_IN = "check_in", _("报到")
    TASK_ASSIGN = "task_assign", _("派发任务")
    TASK_REPLY = "task_reply", _("任务答复")
    CLOSE = "close", _("办结评价")
    CANCEL = "cancel", _("撤销")


class EventType(models.TextChoices):
    """Timeline entries: one per action (same value), plus what the system records."""

    BLOWN = "blow", _("吹哨")
    ACKNOWLEDGED = "acknowledge", _("响应")
    CHECKED_IN = "check_in", _("报到")
    TASK_ASSIGNED = "task_assign", _("派发任务")
    TASK_REPLIED = "task_reply", _("任务答复")
    CLOSED = "close", _("办结评价")
    CANCELLED = "cancel", _("撤销")
    # recorded by close, the sweep or cancel, not by an action of its own:
    NOT_REPORTED = "not_reported", _("未报到")
    TASK_UNANSWERED = "task_unanswered", _("任务未答复")
    DEADLINE_WARNING = "deadline_warning", _("时限预警")


class DeadlineKind(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", _("响应时限")
    ARRIVE = "arrive", _("到场时限")
    TASK = "task", _("任务时限")


class WarningLevel(models.TextChoices):
    YELLOW = "yellow", _("黄牌预警")
    RED = "red", _("红牌超时")


class NotificationChannel(models.TextChoices):
    IN_APP = "in_app", _("站内信")
    EMAIL = "email", _("邮件")
    SMS = "sms", _("短信")
