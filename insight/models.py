"""Insight's stored state: versioned classifier models and the suggestions made for each order.

Storage choice: the serialised model (``TextClassifier.to_bytes``: joblib, zlib level 3) is kept
in the database row itself (``blob``) with its sha256, not in a file under ``var/``: every app
server and worker then sees the same versions with no shared disk, a backup of the database
holds every model, and rolling back is activating an older row. A model trained on 200,000
orders is tens of megabytes (``bench/bench_classify.py`` prints the size), well within what
PostgreSQL ``bytea`` and SQLite blobs hold.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from insight.choices import ClassifierTarget, DispatchDecision, TrainingSource


class ClassifierModel(models.Model):
    """One trained version of a classifier; at most one active version per target."""

    target = models.CharField(_("预测对象"), max_length=16, choices=ClassifierTarget.choices)
    version = models.PositiveIntegerField(_("版本"))
    source = models.CharField(_("训练数据来源"), max_length=16, choices=TrainingSource.choices)
    created_at = models.DateTimeField(_("训练时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("训练人"),
    )
    n_examples = models.PositiveIntegerField(_("训练样本数"))
    n_labels = models.PositiveIntegerField(_("类别数"))
    metrics = models.JSONField(_("评估指标"), default=dict, blank=True)
    blob = models.BinaryField(_("模型数据"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size_bytes = models.PositiveIntegerField(_("大小（字节）"))
    is_active = models.BooleanField(_("启用"), default=False)

    class Meta:
        verbose_name = _("分类模型")
        verbose_name_plural = _("分类模型")
        ordering = ["target", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["target", "version"], name="classifier_unique_version"),
            models.UniqueConstraint(
                fields=["target"], condition=models.Q(is_active=True), name="classifier_one_active"
            ),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="classifier_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_target_display()} v{self.version}"


class OrderSuggestion(models.Model):
    """What insight suggested for one order, and what became of it (one row per order).

    The row is also the claim: the periodic pass inserts it for an order awaiting dispatch, and
    the unique ``order`` decides between two workers. ``decision`` starts ``pending`` (or
    ``auto`` when the system dispatched in the same transaction); the next passes compare it with
    the order's first dispatch event and record ``manual`` and whether the dispatcher overrode
    the suggested item or unit — the final labels then train the next model.
    """

    order = models.OneToOneField(
        "orders.Order", on_delete=models.PROTECT, related_name="insight_suggestion", verbose_name=_("工单")
    )
    created_at = models.DateTimeField(_("生成时间"))
    item_model_version = models.PositiveIntegerField(_("事项模型版本"), null=True, blank=True)
    unit_model_version = models.PositiveIntegerField(_("单位模型版本"), null=True, blank=True)
    # [{"id", "code", "name", "confidence"}] and [{"id", "code", "name", "confidence", "via"}], best first
    items = models.JSONField(_("建议事项"), default=list, blank=True)
    units = models.JSONField(_("建议承办单位"), default=list, blank=True)
    confidence = models.FloatField(_("置信度"), default=0.0)
    threshold = models.FloatField(_("自动派单阈值"), null=True, blank=True)
    address_flagged = models.BooleanField(_("地址未能定位"), default=False)
    address_reason = models.CharField(_("定位结果"), max_length=16, blank=True)
    address_candidates = models.JSONField(_("近似地址"), default=list, blank=True)
    located_grid = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("定位网格"),
    )
    decision = models.CharField(
        _("派单方式"), max_length=8, choices=DispatchDecision.choices, default=DispatchDecision.PENDING
    )
    auto_error = models.CharField(_("未自动派单原因"), max_length=255, blank=True)
    dispatch_event = models.ForeignKey(
        "orders.OrderEvent", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    dispatched_item = models.ForeignKey(
        "catalog.CatalogItem", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    dispatched_unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    item_overridden = models.BooleanField(_("改派事项"), null=True, blank=True)
    unit_overridden = models.BooleanField(_("改派单位"), null=True, blank=True)
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("智能派单建议")
        verbose_name_plural = _("智能派单建议")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision__in=DispatchDecision.values),
                name="order_suggestion_decision_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(decided_at__isnull=True),
                name="order_suggestion_undecided",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.get_decision_display()}"

    @property
    def overridden(self) -> bool:
        return bool(self.item_overridden or self.unit_overridden)
