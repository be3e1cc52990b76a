"""Insight's stored state: versioned classifier models.

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

from insight.choices import ClassifierTarget, TrainingSource


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
