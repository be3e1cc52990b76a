from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.choices import HandlingLevel, LimitUnit
from orgs.choices import UnitKind


class Category(models.Model):
    """Levels 1 (大类) and 2 (小类) of the event catalog 事项清单."""

    code = models.CharField(_("编码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("大类"),
    )
    keywords = models.CharField(_("关键词"), max_length=255, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("事项分类")
        verbose_name_plural = _("事项分类")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def level(self) -> int:
        return 1 if self.parent_id is None else 2


class CatalogItem(models.Model):
    """Level 3 (小项): what an order is classified as."""

    code = models.CharField(_("编码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    subcategory = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="items", verbose_name=_("小类")
    )
    keywords = models.CharField(_("关键词"), max_length=255, blank=True, help_text=_("以逗号或空格分隔"))
    is_active = models.BooleanField(_("启用"), default=True)
    # Pinyin of the name and keywords (full and initials), kept by catalog.services for search.
    search_pinyin = models.CharField(_("拼音索引"), max_length=2048, blank=True, editable=False)

    class Meta:
        verbose_name = _("事项")
        verbose_name_plural = _("事项")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ResponsibilityRule(models.Model):
    """责任清单: for an item (optionally within an area), who leads, who assists, the limits."""

    item = models.ForeignKey(
        CatalogItem, on_delete=models.PROTECT, related_name="rules", verbose_name=_("事项")
    )
    area = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("适用区域"),
        help_text=_("为空表示全市适用"),
    )
    lead_unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("主办单位"),
    )
    lead_kind = models.CharField(
        _("主办单位类型"),
        max_length=16,
        choices=UnitKind.choices,
        blank=True,
        help_text=_("未指定主办单位时按类型与层级确定"),
    )
    handling_level = models.CharField(_("办理层级"), max_length=16, choices=HandlingLevel.choices)
    assist_units = models.ManyToManyField(
        "orgs.Unit", blank=True, related_name="+", verbose_name=_("协办单位")
    )
    limit_unit = models.CharField(
        _("时限单位"), max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_DAYS
    )
    accept_within = models.PositiveIntegerField(_("签收时限"))
    contact_within = models.PositiveIntegerField(_("联系时限"))
    reply_within = models.PositiveIntegerField(_("答复时限"))

    class Meta:
        verbose_name = _("责任清单")
        verbose_name_plural = _("责任清单")
        constraints = [
            models.UniqueConstraint(fields=["item", "area"], name="rule_unique_item_area"),
            models.UniqueConstraint(
                fields=["item"], condition=models.Q(area__isnull=True), name="rule_unique_item_citywide"
            ),
            models.CheckConstraint(
                condition=models.Q(lead_unit__isnull=False) | ~models.Q(lead_kind=""),
                name="rule_has_lead",
            ),
            models.CheckConstraint(
                condition=models.Q(lead_unit__isnull=True) | models.Q(lead_kind=""),
                name="rule_lead_unit_or_kind_not_both",
            ),
            models.CheckConstraint(condition=models.Q(accept_within__gte=1), name="rule_accept_positive"),
            models.CheckConstraint(
                condition=models.Q(accept_within__lte=models.F("contact_within"))
                & models.Q(contact_within__lte=models.F("reply_within")),
                name="rule_limits_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} → {self.lead_unit or self.get_lead_kind_display()}"


class KnowledgeAnswer(models.Model):
    """知识库: an answer an agent can give at once for a consultation."""

    question = models.CharField(_("问题"), max_length=255)
    answer = models.TextField(_("答复"))
    keywords = models.CharField(_("关键词"), max_length=255, blank=True)
    item = models.ForeignKey(
        CatalogItem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answers",
        verbose_name=_("事项"),
    )
    valid_from = models.DateField(_("生效日期"), null=True, blank=True)
    valid_until = models.DateField(_("失效日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("知识库")
        verbose_name_plural = _("知识库")
        ordering = ["id"]
        constraints = [
            # The question is the answer's natural key (Excel import upserts by it).
            models.UniqueConstraint(fields=["question"], name="knowledge_unique_question"),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="knowledge_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return self.question
