"""吹哨报到: the whistle, its summonses, tasks, ratings, append-only timeline, outbox and warnings.

Only ``whistles.services`` (and ``whistles.tasks`` through them) writes these tables. The
database enforces what it can: valid states, one summons per (whistle, unit), ratings in 1–5,
coordinates in range, meeting details on long whistles, one notification per (event, recipient,
channel), one warning per (summons or task, kind, level), and an append-only ``WhistleEvent``
(model layer here plus triggers from migration 0002).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from whistles.choices import (
    DeadlineKind,
    EventType,
    LimitUnit,
    NotificationChannel,
    SummonsStatus,
    TaskStatus,
    WarningLevel,
    WhistleStatus,
    WhistleType,
)

USER = settings.AUTH_USER_MODEL
_WAITING = sorted({SummonsStatus.SUMMONED, SummonsStatus.ACKNOWLEDGED})


def _point_constraints(prefix: str, lon: str, lat: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(**{f"{lon}__isnull": True, f"{lat}__isnull": True})
            | Q(**{f"{lon}__isnull": False, f"{lat}__isnull": False}),
            name=f"{prefix}_point_pair",
        ),
        models.CheckConstraint(
            condition=Q(**{f"{lon}__isnull": True})
            | (
                Q(**{f"{lon}__gte": -180})
                & Q(**{f"{lon}__lte": 180})
                & Q(**{f"{lat}__gte": -90})
                & Q(**{f"{lat}__lte": 90})
            ),
            name=f"{prefix}_point_range",
        ),
    ]


class WhistleTypeLimit(models.Model):
    """The limits of one whistle type (configuration; ``whistles.limits.DEFAULT_LIMITS`` applies
    to a type without a row)."""

    type = models.CharField(_("哨型"), max_length=8, choices=WhistleType.choices, unique=True)
    acknowledge_within = models.PositiveIntegerField(_("响应时限"))
    acknowledge_unit = models.CharField(_("响应时限单位"), max_length=16, choices=LimitUnit.choices)
    arrive_within = models.PositiveIntegerField(_("到场时限"))
    arrive_unit = models.CharField(_("到场时限单位"), max_length=16, choices=LimitUnit.choices)

    class Meta:
        verbose_name = _("哨型时限")
        verbose_name_plural = _("哨型时限")
        constraints = [
            models.CheckConstraint(condition=Q(acknowledge_within__gte=1), name="whistle_limit_ack_positive"),
            models.CheckConstraint(condition=Q(arrive_within__gte=1), name="whistle_limit_arrive_positive"),
            models.CheckConstraint(
                condition=Q(acknowledge_unit__in=LimitUnit.values), name="whistle_limit_ack_unit"
            ),
            models.CheckConstraint(
                condition=Q(arrive_unit__in=LimitUnit.values), name="whistle_limit_arrive_unit"
            ),
        ]

    def __str__(self) -> str:
        return str(self.get_type_display())


class Whistle(models.Model):
    """A whistle 吹哨 blown by a street or community. ``status`` and ``version`` change only
    through ``whistles.services`` (a conditional UPDATE on both)."""

    type = models.CharField(_("哨型"), max_length=8, choices=WhistleType.choices)
    status = models.CharField(_("状态"), max_length=12, choices=WhistleStatus.choices)
    version = models.PositiveIntegerField(_("版本"), default=0)
    last_seq = models.PositiveIntegerField(_("时间线序号"), default=0)

    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="whistles_blown", verbose_name=_("吹哨单位")
    )
    blown_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("吹哨人"))
    title = models.CharField(_("事项"), max_length=200)
    description = models.TextField(_("情况说明"))
    address = models.CharField(_("地点"), max_length=255, blank=True)
    lon = models.FloatField(_("经度(WGS-84)"), null=True, blank=True)
    lat = models.FloatField(_("纬度(WGS-84)"), null=True, blank=True)
    meeting_at = models.DateTimeField(_("会议时间"), null=True, blank=True)
    meeting_place = models.CharField(_("会议地点"), max_length=255, blank=True)
    orders = models.ManyToManyField(
        "orders.Order", blank=True, related_name="whistles", verbose_name=_("关联工单")
    )

    result = models.TextField(_("办理结果"), blank=True)
    cancel_reason = models.TextField(_("撤销原因"), blank=True)
    blown_at = models.DateTimeField(_("吹哨时间"))
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("吹哨")
        verbose_name_plural = _("吹哨")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=WhistleStatus.values), name="whistle_status_valid"),
            models.CheckConstraint(condition=Q(type__in=WhistleType.values), name="whistle_type_valid"),
            *_point_constraints("whistle", "lon", "lat"),
            models.CheckConstraint(
                condition=~Q(type=WhistleType.LONG) | (Q(meeting_at__isnull=False) & ~Q(meeting_place="")),
                name="whistle_long_has_meeting",
            ),
            models.CheckConstraint(
                condition=Q(status=WhistleStatus.OPEN) | Q(closed_at__isnull=False),
                name="whistle_ended_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["unit", "blown_at"], condition=Q(status=WhistleStatus.OPEN), name="whistle_open_unit"
            ),
            models.Index(fields=["status", "blown_at"], name="whistle_status_blown"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == WhistleStatus.OPEN

    @property
    def has_point(self) -> bool:
        return self.lon is not None and self.lat is not None


class Summons(models.Model):
    """One department (or station) summoned by one whistle: it must acknowledge and then report
    报到 (arrive on site or at the meeting) within the limits fixed when the whistle was blown."""

    whistle = models.ForeignKey(Whistle, on_delete=models.PROTECT, related_name="summonses")
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="whistle_summonses", verbose_name=_("被召集部门")
    )
    status = models.CharField(_("状态"), max_length=16, choices=SummonsStatus.choices)
    version = models.PositiveIntegerField(default=0)

    acknowledge_by = models.DateTimeField(_("响应时限"))
    arrive_by = models.DateTimeField(_("到场时限"))
    # When the yellow warnings fall due (fixed with the deadlines).
    acknowledge_warn_at = models.DateTimeField()
    arrive_warn_at = models.DateTimeField()
    provisional = models.BooleanField(_("时限待定"), default=False)

    acknowledged_at = models.DateTimeField(_("响应时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checked_in_at = models.DateTimeField(_("报到时间"), null=True, blank=True)
    checked_in_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    check_in_lon = models.FloatField(_("报到经度(WGS-84)"), null=True, blank=True)
    check_in_lat = models.FloatField(_("报到纬度(WGS-84)"), null=True, blank=True)
    at_meeting = models.BooleanField(_("参会报到"), default=False)
    distance_m = models.FloatField(_("距现场(米)"), null=True, blank=True)
    attendees = models.JSONField(_("到场人员"), default=list, blank=True)
    check_in_note = models.TextField(_("报到说明"), blank=True)
    # First missed deadline (acknowledge or arrive), marked by the sweep or a late action.
    overdue_at = models.DateTimeField(_("超时标记"), null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("召集")
        verbose_name_plural = _("召集")
        constraints = [
            models.UniqueConstraint(fields=["whistle", "unit"], name="summons_one_per_unit"),
            models.CheckConstraint(condition=Q(status__in=SummonsStatus.values), name="summons_status_valid"),
            models.CheckConstraint(
                condition=Q(acknowledge_by__lte=models.F("arrive_by")), name="summons_ack_before_arrive"
            ),
            models.CheckConstraint(
                condition=~Q(status=SummonsStatus.CHECKED_IN)
                | (Q(checked_in_at__isnull=False) & Q(acknowledged_at__isnull=False)),
                name="summons_checked_in_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=SummonsStatus.CHECKED_IN)
                | Q(check_in_lon__isnull=False)
                | Q(at_meeting=True),
                name="summons_checked_in_where",
            ),
            *_point_constraints("summons", "check_in_lon", "check_in_lat"),
        ]
        indexes = [
            models.Index(
                fields=["acknowledge_warn_at"],
                condition=Q(status=SummonsStatus.SUMMONED),
                name="summons_pending_ack",
            ),
            models.Index(
                fields=["arrive_warn_at"], condition=Q(status__in=_WAITING), name="summons_pending_arrive"
            ),
            models.Index(fields=["unit", "status"], name="summons_unit_status"),
        ]

    def __str__(self) -> str:
        return f"{self.whistle_id} → {self.unit_id} ({self.status})"

    @property
    def is_waiting(self) -> bool:
        return self.status in _WAITING


class WhistleTask(models.Model):
    """A task the whistle's unit gives a summoned department, with a deadline and a reply."""

    whistle = models.ForeignKey(Whistle, on_delete=models.PROTECT, related_name="tasks")
    summons = models.ForeignKey(Summons, on_delete=models.PROTECT, related_name="tasks")
    description = models.TextField(_("任务内容"))
    due_at = models.DateTimeField(_("完成时限"))
    warn_at = models.DateTimeField()
    status = models.CharField(_("状态"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    version = models.PositiveIntegerField(default=0)
    assigned_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(_("派发时间"))
    reply = models.TextField(_("答复"), blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    replied_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    overdue_at = models.DateTimeField(_("超时标记"), null=True, blank=True)

    class Meta:
        verbose_name = _("哨令任务")
        verbose_name_plural = _("哨令任务")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TaskStatus.values), name="whistle_task_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=TaskStatus.REPLIED) | (Q(replied_at__isnull=False) & ~Q(reply="")),
                name="whistle_task_replied_has_reply",
            ),
            models.CheckConstraint(
                condition=Q(due_at__gt=models.F("assigned_at")), name="whistle_task_due_after"
            ),
        ]
        indexes = [
            models.Index(
                fields=["warn_at"], condition=Q(status=TaskStatus.OPEN), name="whistle_task_open_warn"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.summons_id}: {self.description[:20]}"


class DepartmentRating(models.Model):
    """The whistle unit's rating of one summoned department's response, written at close.

    Assessment reads these (``whistles.selectors.department_rating_summary``): timeliness,
    effectiveness and attitude, each 1–5, and whether the department reported at all.
    """

    summons = models.OneToOneField(Summons, on_delete=models.PROTECT, related_name="rating")
    whistle = models.ForeignKey(Whistle, on_delete=models.PROTECT, related_name="ratings")
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="whistle_ratings", verbose_name=_("被评部门")
    )
    rater_unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("评价单位")
    )
    rated_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    timeliness = models.PositiveSmallIntegerField(_("响应及时"))
    effectiveness = models.PositiveSmallIntegerField(_("解决实效"))
    attitude = models.PositiveSmallIntegerField(_("工作态度"))
    comment = models.TextField(_("评价意见"), blank=True)
    reported = models.BooleanField(_("已报到"))
    rated_at = models.DateTimeField(_("评价时间"))

    class Meta:
        verbose_name = _("部门评价")
        verbose_name_plural = _("部门评价")
        constraints = [
            models.CheckConstraint(
                condition=Q(timeliness__gte=1, timeliness__lte=5)
                & Q(effectiveness__gte=1, effectiveness__lte=5)
                & Q(attitude__gte=1, attitude__lte=5),
                name="department_rating_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["unit", "rated_at"], name="department_rating_unit_time")]

    def __str__(self) -> str:
        return f"{self.unit_id}: {self.timeliness}/{self.effectiveness}/{self.attitude}"

    @property
    def average(self) -> float:
        return (self.timeliness + self.effectiveness + self.attitude) / 3


class WhistleEventQuerySet(models.QuerySet["WhistleEvent"]):
    """Refuses bulk UPDATE and DELETE: the timeline only grows."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError("the whistle timeline is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("the whistle timeline is append-only")


class WhistleEvent(models.Model):
    """One entry of a whistle's timeline: who did what, when, from which unit. Append-only."""

    whistle = models.ForeignKey(Whistle, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(_("事件"), max_length=24, choices=EventType.choices)
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor_unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    summons = models.ForeignKey(
        Summons, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    task = models.ForeignKey(
        WhistleTask, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    note = models.TextField(_("说明"), blank=True)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    occurred_at = models.DateTimeField(_("时间"))

    objects: ClassVar[Any] = WhistleEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("吹哨时间线")
        verbose_name_plural = _("吹哨时间线")
        ordering = ["whistle", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["whistle", "seq"], name="whistle_event_seq_unique"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="whistle_event_seq_positive"),
        ]
        indexes = [models.Index(fields=["type", "occurred_at"], name="whistle_event_type_time")]

    def __str__(self) -> str:
        return f"{self.whistle_id}#{self.seq} {self.type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("the whistle timeline is append-only: an event cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("the whistle timeline is append-only: an event cannot be deleted")


class WhistleNotification(models.Model):
    """The outbox: one row per (event, recipient, channel), written in the event's transaction.

    The in-app inbox is this row itself (``read_at``). Delivery claims the row with a conditional
    UPDATE (``claim_token`` plus a lease in ``claimed_until``), sends, then marks
    ``delivered_at`` where the token still matches, so a crashed worker's claim expires.
    """

    event = models.ForeignKey(WhistleEvent, on_delete=models.PROTECT, related_name="notifications")
    recipient = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="whistle_notifications")
    channel = models.CharField(max_length=8, choices=NotificationChannel.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField()
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("吹哨通知")
        verbose_name_plural = _("吹哨通知")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient", "channel"], name="whistle_notification_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(delivered_at__isnull=True),
                name="whistle_notif_undelivered",
            ),
            models.Index(fields=["recipient", "channel", "read_at"], name="whistle_notif_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.recipient_id} ({self.channel})"


class WhistleWarning(models.Model):
    """A yellow (approaching) or red (reached) warning on a summons' or a task's deadline,
    recorded once however many sweeps run (unique rows)."""

    whistle = models.ForeignKey(Whistle, on_delete=models.PROTECT, related_name="warnings")
    summons = models.ForeignKey(Summons, on_delete=models.PROTECT, related_name="warnings")
    task = models.ForeignKey(
        WhistleTask, on_delete=models.PROTECT, null=True, blank=True, related_name="warnings"
    )
    kind = models.CharField(max_length=12, choices=DeadlineKind.choices)
    level = models.CharField(max_length=8, choices=WarningLevel.choices)
    due_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    event = models.ForeignKey(WhistleEvent, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("吹哨预警")
        verbose_name_plural = _("吹哨预警")
        constraints = [
            models.UniqueConstraint(
                fields=["summons", "kind", "level"],
                condition=Q(task__isnull=True),
                name="whistle_warning_unique_summons",
            ),
            models.UniqueConstraint(
                fields=["task", "level"], condition=Q(task__isnull=False), name="whistle_warning_unique_task"
            ),
            models.CheckConstraint(
                condition=(Q(kind=DeadlineKind.TASK) & Q(task__isnull=False))
                | (~Q(kind=DeadlineKind.TASK) & Q(task__isnull=True)),
                name="whistle_warning_task_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.summons_id} {self.kind} {self.level}"
