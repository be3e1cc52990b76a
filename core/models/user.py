from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class AdminRole(models.TextChoices):
    """Separation of duties (SECURITY.md AC-3): three administrators, none can do another's job."""

    NONE = "", _("无")
    SYSTEM = "system", _("系统管理员")
    SECURITY = "security", _("安全管理员")
    AUDIT = "audit", _("审计管理员")


class User(AbstractUser):
    """An account. ``username`` is the unique login ID (AUTH-1)."""

    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    admin_role = models.CharField(
        _("管理角色"), max_length=16, choices=AdminRole.choices, blank=True, default=AdminRole.NONE
    )
    is_demo = models.BooleanField(_("演示账号"), default=False)
    must_change_password = models.BooleanField(_("须修改密码"), default=False)
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("停用时间"), null=True, blank=True)
    # Re-enabling restarts the inactivity clock (AC-4) as a login would.
    enabled_at = models.DateTimeField(_("启用时间"), null=True, blank=True)
    # Optional end of validity: an expired account cannot log in (AC-4).
    expires_at = models.DateTimeField(_("账号有效期至"), null=True, blank=True)
    # Bumped whenever sessions and API tokens must die (disable, password change, admin kill).
    session_epoch = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class PasswordHistory(models.Model):
    """Earlier password hashes, so the MLPS profile can refuse reuse of the last N."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=256)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.created_at:%Y-%m-%d}"


class UserSession(models.Model):
    """A login session of a user, so sessions can be ended server-side by user (AUTH-6).

    Written when a user logs in, removed at logout; the session store holds the data.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("登录时间"))
    source_ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = _("登录会话")

    def __str__(self) -> str:
        return f"{self.user_id}@{self.created_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A bearer token for the HTTP API. Only the SHA-256 of the key is stored.

    A token is dead when revoked, when its user is disabled, or when the user's
    ``session_epoch`` moved on since the token was issued (password change, disable, kill).
    """

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("用户")
    )
    name = models.CharField(_("名称"), max_length=64)
    key_prefix = models.CharField(_("前缀"), max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"))
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    epoch = models.PositiveIntegerField(_("会话代次"))

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"
