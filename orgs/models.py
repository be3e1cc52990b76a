from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from orgs.choices import Role, UnitKind


class Unit(models.Model):
    """An organisation unit: territorial (city → building) or a department / station.

    The tree is ``parent`` plus ``level`` (0 = root) plus the ``UnitClosure`` table; only
    ``orgs.services`` writes any of the three, so they always agree.
    """

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    kind = models.CharField(_("类型"), max_length=16, choices=UnitKind.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级"),
    )
    level = models.PositiveSmallIntegerField(_("层级"), default=0)
    # A department's station is a child of its department and located in a street.
    located_in = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stations_here",
        verbose_name=_("所在街道"),
    )
    is_active = models.BooleanField(_("启用"), default=True)
    # Grids: GeoJSON geometry (WGS-84 lon/lat) and its bounds for quick filtering.
    boundary = models.JSONField(_("边界"), null=True, blank=True)
    min_lon = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(parent__isnull=True) | ~models.Q(parent=models.F("pk")),
                name="unit_not_own_parent",
            ),
        ]
        indexes = [models.Index(fields=["kind", "code"]), models.Index(fields=["parent", "kind"])]

    def __str__(self) -> str:
        return self.name


class UnitClosure(models.Model):
    """Closure table: one row per (ancestor, descendant) pair, including (u, u) at depth 0."""

    ancestor = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    descendant = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    depth = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ancestor", "descendant"], name="unit_closure_unique"),
        ]
        indexes = [models.Index(fields=["descendant", "ancestor"])]

    def __str__(self) -> str:
        return f"{self.ancestor_id}→{self.descendant_id} ({self.depth})"


class Membership(models.Model):
    """A user's role in a unit; a person may hold several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("用户")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("单位")
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("岗位")
        verbose_name_plural = _("岗位")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit} ({self.get_role_display()})"


class Address(models.Model):
    """The unified address list 统一地址库: address → building → grid."""

    text = models.CharField(_("地址"), max_length=255)
    normalized = models.CharField(_("规范化地址"), max_length=255, unique=True)
    building = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("楼院")
    )
    grid = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="addresses",
        verbose_name=_("网格"),
    )
    lon = models.FloatField(_("经度(WGS-84)"), null=True, blank=True)
    lat = models.FloatField(_("纬度(WGS-84)"), null=True, blank=True)

    class Meta:
        verbose_name = _("地址")
        verbose_name_plural = _("统一地址库")

    def __str__(self) -> str:
        return self.text
