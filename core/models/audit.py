from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditImmutableError(Exception):
    """Raised on any attempt to change or delete an audit row outside the retention purge."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditImmutableError("audit rows cannot be updated")

    def delete(self) -> NoReturn:
        raise AuditImmutableError("audit rows cannot be deleted (the retention purge is the only path)")


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失败")


class AuditEvent(models.Model):
    """One security or configuration event (SECURITY.md AU-1..AU-5).

    Append-only: ``save()`` refuses updates and database triggers refuse UPDATE and DELETE
    (see the migration). Rows are hash-chained: ``hash = sha256(prev_hash + canonical row)``.
    The only delete path is the retention purge, which temporarily lifts the trigger in its
    own transaction and leaves an ``AuditCheckpoint``.
    """

    seq = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        "core.User",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_login = models.CharField(_("登录名"), max_length=150, blank=True)
    actor_role = models.CharField(_("角色"), max_length=64, blank=True)
    source_ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    request_id = models.CharField(_("请求号"), max_length=64, blank=True)
    event_type = models.CharField(_("事件类型"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    outcome = models.CharField(_("结果"), max_length=16, choices=AuditOutcome.choices)
    before = models.JSONField(_("变更前"), null=True, blank=True)
    after = models.JSONField(_("变更后"), null=True, blank=True)
    extra = models.JSONField(_("附加信息"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutableError("audit rows cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutableError("audit rows cannot be deleted (the retention purge is the only path)")


class AuditChainHead(models.Model):
    """Singleton (pk=1) holding the last hash; locked on every write to serialise the chain."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("审计链头")
        verbose_name_plural = _("审计链头")

    def __str__(self) -> str:
        return f"head #{self.last_seq}"


class AuditCheckpoint(models.Model):
    """Left by each retention purge: the verifier starts the chain from the newest one."""

    created_at = models.DateTimeField()
    upto_seq = models.BigIntegerField(help_text="last purged seq")
    upto_hash = models.CharField(max_length=64, help_text="hash of the last purged row")
    purged_count = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("审计检查点")
        verbose_name_plural = _("审计检查点")
        ordering = ["-upto_seq"]

    def __str__(self) -> str:
        return f"checkpoint ≤ #{self.upto_seq}"
