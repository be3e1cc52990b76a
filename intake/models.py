"""The intake channels' own records: telephony systems and their calls, Open311 clients and the
requests they posted, and residents' ratings. Orders themselves live in ``orders``; this app sits
on top of it (it reads orders and creates them through ``orders.services``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField
from orders.choices import Satisfaction

USER = settings.AUTH_USER_MODEL


class TelephonySystem(models.Model):
    """A call-centre telephony system allowed to post calls (``POST /api/v1/calls``).

    It authenticates with the API tokens of its own service account ``user`` (core.ApiToken:
    hashed, expiring with the account); that account has no memberships, so it sees no orders.
    Agents named in its calls must be agents at ``unit`` or below.
    """

    name = models.CharField(_("名称"), max_length=64, unique=True)
    user = models.OneToOneField(
        USER, on_delete=models.PROTECT, related_name="telephony_system", verbose_name=_("服务账号")
    )
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("热线受理单位")
    )
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("话务系统")
        verbose_name_plural = _("话务系统")

    def __str__(self) -> str:
        return self.name


class Call(models.Model):
    """One incoming call, as the telephony system reported it. The caller's number is encrypted
    at rest (searchable by keyed hash) and never travels in a URL: the agent's screen opens
    ``/calls/<pk>``."""

    system = models.ForeignKey(TelephonySystem, on_delete=models.PROTECT, related_name="calls")
    call_id = models.CharField(_("来电编号"), max_length=64)
    caller_phone = EncryptedTextField(_("来电号码"), blank=True, context="intake.Call.caller_phone")
    caller_phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    agent = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("话务员"))
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("受理单位")
    )
    recording_ref = models.CharField(_("录音编号"), max_length=255, blank=True)
    received_at = models.DateTimeField(_("来电时间"))

    class Meta:
        verbose_name = _("来电")
        verbose_name_plural = _("来电")
        constraints = [
            models.UniqueConstraint(fields=["system", "call_id"], name="call_unique_per_system"),
        ]
        indexes = [models.Index(fields=["agent", "received_at"], name="call_agent_received")]

    def __str__(self) -> str:
        return f"{self.call_id} → {self.agent_id}"


class Open311Client(models.Model):
    """An Open311 GeoReport v2 client with its API key (only the SHA-256 of the key is stored).

    Issued and revoked by the security administrator through ``intake.services``; requests it
    posts land in the dispatch queue of ``dispatch_unit`` (blank: the city's 12345 centre).
    """

    name = models.CharField(_("名称"), max_length=64, unique=True)
    contact = models.CharField(_("联系人"), max_length=128, blank=True)
    key_prefix = models.CharField(_("密钥前缀"), max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    dispatch_unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("派单层级"),
    )
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("创建时间"))
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 客户端")
        verbose_name_plural = _("Open311 客户端")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"


class Open311Request(models.Model):
    """Which client posted which order (a client reads back only its own requests)."""

    client = models.ForeignKey(Open311Client, on_delete=models.PROTECT, related_name="requests")
    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="+")
    device_id = models.CharField(max_length=64, blank=True)
    account_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Open311 诉求")
        verbose_name_plural = _("Open311 诉求")

    def __str__(self) -> str:
        return f"{self.client_id} → {self.order_id}"


class ResidentRating(models.Model):
    """A resident's own rating of the answer (once per order, after the callback stage opens)."""

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="+")
    satisfaction = models.CharField(_("满意度"), max_length=16, choices=Satisfaction.choices)
    comment = models.TextField(_("评价"), blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("群众评价")
        verbose_name_plural = _("群众评价")
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__in=Satisfaction.values), name="resident_rating_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.satisfaction}"
