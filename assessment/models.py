"""The assessment's tables: per-city factors, appeals, the streets' evaluations of departments,
the per-order facts and the daily rollups built from them, and the early-warning slot.

Only ``assessment.services`` and ``assessment.rollups`` write these tables. What the rates *mean*
is in ``assessment.metrics`` (the one module with the definitions); these rows only hold counts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from assessment.choices import (
    APPEAL_ACTIVE,
    AppealReason,
    AppealStatus,
    FillStatus,
    WarningLevel,
)

USER = settings.AUTH_USER_MODEL
_APPEAL_ACTIVE = sorted(APPEAL_ACTIVE)


def _weight(label: Any, default: str) -> models.DecimalField[Decimal, Decimal]:
    return models.DecimalField(label, max_digits=7, decimal_places=6, default=Decimal(default))


class AssessmentConfig(models.Model):
    """The factors of one city (the root unit of its tree); a city without a row uses the defaults
    of ``assessment.metrics.DEFAULT_FACTORS``. Edited only through
    ``assessment.services.assessment_config_set`` (audited, compare-and-set on ``version``)."""

    city = models.OneToOneField(
        "orgs.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("城市")
    )
    response_weight = _weight(_("响应率权重"), "0.1")
    resolution_weight = _weight(_("解决率权重"), "0.5")
    satisfaction_weight = _weight(_("满意率权重"), "0.4")
    satisfied_factor = _weight(_("满意系数"), "1")
    basically_factor = _weight(_("基本满意系数"), "0.9")
    rating_weight = _weight(_("街道评价权重"), "0.333333")
    rating_weight_floor = _weight(_("街道评价权重下限"), "0.333333")
    whistle_share = _weight(_("吹哨评价占街道评价比重"), "0.5")
    appeal_window_days = models.PositiveSmallIntegerField(_("申诉期限(天)"), default=15)
    version = models.PositiveIntegerField(default=0)
    updated_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("考评参数")
        verbose_name_plural = _("考评参数")
        constraints = [
            models.CheckConstraint(
                condition=Q(response_weight__gte=0)
                & Q(resolution_weight__gte=0)
                & Q(satisfaction_weight__gte=0)
                & Q(satisfied_factor__gte=0, satisfied_factor__lte=1)
                & Q(basically_factor__gte=0, basically_factor__lte=1)
                & Q(rating_weight__gte=0, rating_weight__lte=1)
                & Q(rating_weight_floor__gte=0, rating_weight_floor__lte=1)
                & Q(whistle_share__gte=0, whistle_share__lte=1),
                name="assessment_config_ranges",
            ),
            models.CheckConstraint(
                condition=Q(rating_weight__gte=models.F("rating_weight_floor")),
                name="assessment_config_rating_weight_at_floor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.city_id}: v{self.version}"


class Appeal(models.Model):
    """申诉/免责: a unit contests a callback with evidence; the centre rules. An upheld appeal
    takes the order out of the rates (``metrics`` rule ``appeal``); every appeal stays on record."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    callback = models.ForeignKey("orders.Callback", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("申诉单位")
    )
    reason = models.CharField(_("申诉类别"), max_length=32, choices=AppealReason.choices)
    text = models.TextField(_("申诉理由"))
    # Evidence: ids of the order's own attachments (orders.Attachment), checked by the service.
    attachment_ids = models.JSONField(_("佐证材料"), default=list, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=AppealStatus.choices, default=AppealStatus.PENDING
    )
    version = models.PositiveIntegerField(default=0)
    submitted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("申诉时间"))
    ruled_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    ruled_at = models.DateTimeField(_("裁定时间"), null=True, blank=True)
    ruling = models.TextField(_("裁定意见"), blank=True)

    class Meta:
        verbose_name = _("申诉")
        verbose_name_plural = _("申诉")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AppealStatus.values), name="appeal_status_valid"),
            models.CheckConstraint(condition=Q(reason__in=AppealReason.values), name="appeal_reason_valid"),
            models.CheckConstraint(
                condition=Q(status=AppealStatus.PENDING, ruled_at__isnull=True)
                | (~Q(status=AppealStatus.PENDING) & Q(ruled_at__isnull=False)),
                name="appeal_ruled_iff_decided",
            ),
            models.UniqueConstraint(
                fields=["callback", "unit"],
                condition=Q(status__in=_APPEAL_ACTIVE),
                name="appeal_one_active_per_callback_unit",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "submitted_at"], name="appeal_status_submitted"),
            models.Index(fields=["order", "status"], name="appeal_order_status"),
            models.Index(fields=["unit", "submitted_at"], name="appeal_unit_submitted"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.callback_id} {self.unit_id} ({self.status})"


class DepartmentEvaluation(models.Model):
    """A street's periodic (monthly) evaluation of a department 街道评部门, 0–100. Weighed into
    department scores beside the whistle ratings (``whistles.DepartmentRating``)."""

    period = models.DateField(_("考评月份"))  # the first day of the month
    rater_unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("评价街道")
    )
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("被评部门")
    )
    score = models.PositiveSmallIntegerField(_("评分"))
    comment = models.TextField(_("评价意见"), blank=True)
    rated_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    rated_at = models.DateTimeField(_("评价时间"))

    class Meta:
        verbose_name = _("街道评价部门")
        verbose_name_plural = _("街道评价部门")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "rater_unit", "unit"], name="evaluation_once_per_period"
            ),
            models.CheckConstraint(condition=Q(score__lte=100), name="evaluation_score_0_100"),
            models.CheckConstraint(condition=Q(period__day=1), name="evaluation_period_first_day"),
        ]
        indexes = [models.Index(fields=["unit", "period"], name="evaluation_unit_period")]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} {self.rater_unit_id}→{self.unit_id}: {self.score}"


class OrderFact(models.Model):
    """What one order contributes to the rollups, as last computed from its timeline
    (``assessment.metrics.order_fact``). The incremental rollup compares the new fact with this
    row to find the days to recompute; ``source_seq`` is the order's ``last_seq`` it was built on.
    Measure columns are the names in ``metrics.VOLUME_MEASURES`` and ``metrics.ASSESSED_MEASURES``.
    """

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, primary_key=True, related_name="+")
    source_seq = models.PositiveIntegerField()
    item = models.ForeignKey("catalog.CatalogItem", on_delete=models.PROTECT, null=True, related_name="+")
    channel = models.CharField(max_length=20)
    loc_unit = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, related_name="+")  # grid: volume
    area_unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="+"
    )  # community: assessed
    hdl_unit = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, null=True, related_name="+")
    created_day = models.DateField()
    count_day = models.DateField(null=True)
    # volume (by created_day, territorial axis)
    received = models.PositiveSmallIntegerField(default=0)
    direct_answer = models.PositiveSmallIntegerField(default=0)
    merged = models.PositiveSmallIntegerField(default=0)
    # assessed (by count_day, both axes)
    closed = models.PositiveSmallIntegerField(default=0)
    valid = models.PositiveSmallIntegerField(default=0)
    contacted = models.PositiveSmallIntegerField(default=0)
    resolved = models.PositiveSmallIntegerField(default=0)
    satisfied = models.PositiveSmallIntegerField(default=0)
    basically = models.PositiveSmallIntegerField(default=0)
    excluded = models.PositiveSmallIntegerField(default=0)
    unreached = models.PositiveSmallIntegerField(default=0)
    accept_total = models.PositiveSmallIntegerField(default=0)
    accept_on_time = models.PositiveSmallIntegerField(default=0)
    reply_total = models.PositiveSmallIntegerField(default=0)
    reply_on_time = models.PositiveSmallIntegerField(default=0)
    overdue = models.PositiveSmallIntegerField(default=0)
    overdue_multiple_milli = models.PositiveIntegerField(default=0)
    rework = models.PositiveSmallIntegerField(default=0)
    reopen = models.PositiveSmallIntegerField(default=0)
    suspensions = models.PositiveSmallIntegerField(default=0)
    extensions = models.PositiveSmallIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("工单考评事实")
        verbose_name_plural = _("工单考评事实")
        indexes = [
            models.Index(fields=["created_day"], name="order_fact_created_day"),
            models.Index(fields=["count_day"], name="order_fact_count_day"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} @ {self.count_day or '-'}"


class UnitDailyCount(models.Model):
    """Pre-aggregated counts (STYLE.md rule 15): per unit, day (Asia/Shanghai), item, channel and
    metric ``"<axis>.<measure>"``. Volume rows sit on the order's grid with its item and channel;
    assessed rows on the grid's community (territorial) or the handling unit, per day only (item
    NULL, channel ""; see ``metrics.fact_rows``). Subtree totals are sums through
    ``orgs.UnitClosure``. Kept up to date by ``assessment.rollups`` (deltas of changed facts;
    ``rollup_days`` rebuilds whole days); only non-zero values are stored."""

    # indexed by the composite indexes below (unit first), not by a single-column one
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="daily_counts", db_index=False
    )
    day = models.DateField()
    item = models.ForeignKey("catalog.CatalogItem", on_delete=models.PROTECT, null=True, related_name="+")
    channel = models.CharField(max_length=20)
    metric = models.CharField(max_length=40)
    value = models.BigIntegerField()

    class Meta:
        verbose_name = _("单位日统计")
        verbose_name_plural = _("单位日统计")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "day", "item", "channel", "metric"],
                condition=Q(item__isnull=False),
                name="unit_daily_count_unique_item",
            ),
            models.UniqueConstraint(
                fields=["unit", "day", "channel", "metric"],
                condition=Q(item__isnull=True),
                name="unit_daily_count_unique_no_item",
            ),
        ]
        indexes = [
            # widgets ask for a few metrics over a range of days, per unit of a subtree (through the
            # closure table) or over every unit: equalities first, then the range of days
            models.Index(fields=["unit", "metric", "day"], name="unit_daily_count_unit_metric"),
            models.Index(fields=["metric", "day", "unit"], name="unit_daily_count_metric_day"),
            # the incremental update reads the cells of some units on one day
            models.Index(fields=["unit", "day"], name="unit_daily_count_unit_day"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.day} {self.metric}={self.value}"


class UnitMonthCount(models.Model):
    """The same counts as ``UnitDailyCount`` summed per calendar month (``month``: its first day),
    for what a month's dashboard sums across a whole city (``metrics.fact_month_rows``):
    territorial rows on the community and handling rows on the handling unit as in the daily table,
    and the volume split by item (``vi.*``) and by channel (``vc.*``) on the community. A city's
    month is then tens of thousands of rows, not the millions of grid × item × channel × day.
    Kept by ``assessment.rollups`` beside the daily table (deltas of changed facts;
    ``rollup_months`` rebuilds whole months); only non-zero values are stored."""

    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="month_counts", db_index=False
    )
    month = models.DateField()
    item = models.ForeignKey("catalog.CatalogItem", on_delete=models.PROTECT, null=True, related_name="+")
    channel = models.CharField(max_length=20)
    metric = models.CharField(max_length=40)
    value = models.BigIntegerField()

    class Meta:
        verbose_name = _("单位月统计")
        verbose_name_plural = _("单位月统计")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "month", "item", "channel", "metric"],
                condition=Q(item__isnull=False),
                name="unit_month_count_unique_item",
            ),
            models.UniqueConstraint(
                fields=["unit", "month", "channel", "metric"],
                condition=Q(item__isnull=True),
                name="unit_month_count_unique_no_item",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="unit_month_count_first_day"),
        ]
        indexes = [
            models.Index(fields=["unit", "metric", "month"], name="unit_month_count_unit_metric"),
            models.Index(fields=["metric", "month", "unit"], name="unit_month_count_metric_month"),
            models.Index(fields=["month", "unit"], name="unit_month_count_month_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.month:%Y-%m} {self.metric}={self.value}"


class GridLiveCount(models.Model):
    """The dashboard's live counters per grid as of the last snapshot (``FillState("live")``:
    ``until`` is its instant): open orders, those open past their reply deadline at that instant,
    and the orders registered and closed on its day (Asia/Shanghai). Rewritten every minute by
    ``assessment.rollups.live_counts_refresh`` (Huey), so a dashboard sums a few thousand grid
    rows instead of counting a million open orders; only grids with a non-zero count have a row."""

    unit = models.OneToOneField("orgs.Unit", on_delete=models.PROTECT, primary_key=True, related_name="+")
    open = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("网格实时计数")
        verbose_name_plural = _("网格实时计数")

    def __str__(self) -> str:
        return f"{self.unit_id}: {self.open} open"


class FillState(models.Model):
    """How far a fill has got (Zulip ``analytics.FillState``). ``timeline``: the last
    ``orders.OrderEvent`` id the incremental rollup has read; ``rebuild``: the last full rebuild.
    The row is also the lock that serialises rollup writers (``select_for_update``)."""

    name = models.CharField(max_length=40, unique=True)
    cursor = models.BigIntegerField(default=0)
    until = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=FillStatus.choices, default=FillStatus.DONE)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("统计进度")
        verbose_name_plural = _("统计进度")

    def __str__(self) -> str:
        return f"{self.name}: {self.cursor} ({self.state})"


class EarlyWarning(models.Model):
    """An early warning 预警 for the dashboard: a category (item) spiking in an area on a day.
    Filled by the insight app (``assessment.services.early_warning_record``, idempotent on
    ``episode_key``); shown through ``assessment.selectors.early_warnings_for_dashboard``."""

    area = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("区域"))
    item = models.ForeignKey(
        "catalog.CatalogItem", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    day = models.DateField(_("日期"))
    level = models.CharField(_("级别"), max_length=8, choices=WarningLevel.choices)
    observed = models.FloatField(_("观测值"))
    expected = models.FloatField(_("期望值"))
    rule = models.CharField(_("规则"), max_length=64)
    episode_key = models.CharField(max_length=128, unique=True)
    notified = models.BooleanField(_("已通知"), default=False)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("预警")
        verbose_name_plural = _("预警")
        constraints = [
            models.CheckConstraint(
                condition=Q(level__in=WarningLevel.values), name="early_warning_level_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["day", "level"], name="early_warning_day_level"),
            models.Index(fields=["area", "day"], name="early_warning_area_day"),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.day} {self.level}"


class Briefing(models.Model):
    """The issued monthly briefing 月度通报 of a scope (the workbook and its PDF as published on the
    first of the next month by ``assessment.tasks.briefing_issue_task``); later downloads serve
    these copies. ``pdf`` is empty on rows issued before the PDF existed (filled by the next run)."""

    scope = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("范围"))
    period = models.DateField(_("月份"))  # the first day of the month
    content = models.BinaryField()  # the workbook (.xlsx)
    sha256 = models.CharField(max_length=64)
    pdf = models.BinaryField(default=b"", blank=True)
    pdf_sha256 = models.CharField(max_length=64, default="", blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("月度通报")
        verbose_name_plural = _("月度通报")
        constraints = [
            models.UniqueConstraint(fields=["scope", "period"], name="briefing_once_per_month"),
        ]

    def __str__(self) -> str:
        return f"{self.scope_id} {self.period:%Y-%m}"
