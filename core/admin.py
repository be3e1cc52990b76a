"""The Django admin of ``core``: accounts, API tokens, lockouts, second factors, the audit log.

Who sees what is the separation-of-duties map in ``core.permissions`` (AC-3). Every change goes
through ``core.identity`` services, each writing exactly one audit row. The admin login page is
our own login view, so the second factor applies to the admin too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import calendar_admin, identity, permissions
from core.admin_base import AuditedModelAdmin, ReadOnlyModelAdmin, RoleAccessMixin, config_save
from core.models import ApiToken, AuditCheckpoint, AuditEvent, User
from core.models.user import AdminRole

CALENDAR_ADMIN = calendar_admin  # imported for its registrations (the calendar models)
admin.site.site_header = gettext_lazy("民呼管理后台")
admin.site.site_title = gettext_lazy("民呼管理后台")
admin.site.index_title = gettext_lazy("配置与安全管理")


def _admin_login(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """The admin's login goes through ``core:login`` (password, then TOTP)."""
    next_url = request.GET.get("next") or reverse("admin:index")
    return HttpResponseRedirect(f"{reverse('core:login')}?{urlencode({'next': next_url})}")


admin.site.login = _admin_login  # type: ignore[method-assign]

for _model in (Group, AccessAttempt, AccessLog, AccessFailureLog, TOTPDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


def _run_per_user(
    request: HttpRequest, queryset: QuerySet[Any], service: Any, done: str, **kwargs: Any
) -> None:
    ok = 0
    for obj in queryset:
        try:
            service(actor=request.user, user=obj, now=timezone.now(), **kwargs)
        except (PermissionDenied, ValidationError) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, f"{obj.username}: {text}")
        else:
            ok += 1
    if ok:
        messages.success(request, done % {"n": ok})


class UserAddForm(forms.ModelForm):  # type: ignore[type-arg]
    password1 = forms.CharField(label=gettext_lazy("初始密码"), strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label=gettext_lazy("确认初始密码"), strip=False, widget=forms.PasswordInput)

    class Meta:
        model = User
        fields = ("username", "display_name", "email", "expires_at")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        username = (data.get("username") or "").strip()
        if username and User.objects.filter(username__iexact=username).exists():
            self.add_error("username", _("登录名“%(u)s”已被使用。") % {"u": username})
        if data.get("password1") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        elif data.get("password1"):
            candidate = User(username=username, display_name=data.get("display_name", ""))
            try:
                validate_password(data["password1"], candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data

    def _post_clean(self) -> None:
        # Skip ModelForm's model validation of the unsaved user; the service validates.
        pass


@admin.register(User)
class UserAdmin(AuditedModelAdmin):
    list_display = (
        "username",
        "display_name",
        "admin_role",
        "is_active",
        "disabled_at",
        "must_change_password",
        "last_login",
        "is_demo",
    )
    list_filter = ("admin_role", "is_active", "is_demo", "must_change_password")
    search_fields = ("username", "display_name", "email")
    ordering = ("username",)
    actions = (
        "disable_users",
        "enable_users",
        "kill_sessions",
        "unlock_users",
        "reset_mfa",
        "reset_password",
    )
    change_list_template = "admin/core/user/change_list.html"
    EDITABLE_BY_SYSTEM = ("display_name", "email", "expires_at")
    EDITABLE_BY_SECURITY = ("admin_role",)
    SHOWN = (
        "username",
        "display_name",
        "email",
        "admin_role",
        "expires_at",
        "is_active",
        "disabled_at",
        "must_change_password",
        "password_changed_at",
        "last_login",
        "date_joined",
        "is_demo",
        "is_staff",
    )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("username", "display_name", "email", "expires_at", "password1", "password2")
        return self.SHOWN

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = UserAddForm
            kwargs["fields"] = ("username", "display_name", "email", "expires_at")
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        role = permissions.user_admin_role(request.user)
        editable: tuple[str, ...] = ()
        if role == AdminRole.SYSTEM:
            editable = self.EDITABLE_BY_SYSTEM
        elif role == AdminRole.SECURITY and permissions.can_grant_admin_role(request.user, obj):
            editable = self.EDITABLE_BY_SECURITY
        return tuple(f for f in self.SHOWN if f not in editable)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        now = timezone.now()
        if not change:
            created = identity.user_create(
                actor=request.user,  # type: ignore[arg-type]
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                display_name=form.cleaned_data.get("display_name", ""),
                email=form.cleaned_data.get("email", ""),
                now=now,
            )
            if form.cleaned_data.get("expires_at"):
                created.expires_at = form.cleaned_data["expires_at"]
                created.save(update_fields=["expires_at"])
            obj.pk = created.pk
            obj._state.adding = False
            return
        if "admin_role" in form.changed_data:
            identity.admin_role_grant(
                actor=request.user,  # type: ignore[arg-type]
                user=obj,
                role=form.cleaned_data["admin_role"],
                now=now,
            )
            return
        if form.changed_data:
            config_save(actor=request.user, obj=obj, request=request, save=obj.save)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "kill-all-sessions/",
                self.admin_site.admin_view(self.kill_all_sessions_view),
                name="core_user_kill_all_sessions",
            )
        ]
        return extra + super().get_urls()

    def kill_all_sessions_view(self, request: HttpRequest) -> HttpResponse:
        if not permissions.can_manage_security(request.user):
            raise PermissionDenied
        if request.method == "POST":
            ended = identity.sessions_kill_all(
                actor=request.user,  # type: ignore[arg-type]
                now=timezone.now(),
                keep_session_key=request.session.session_key,
            )
            messages.success(request, _("已结束 %(n)d 个会话。") % {"n": ended})
            return redirect("admin:core_user_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("结束所有会话"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/core/user/kill_all_sessions.html", context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_kill_all": permissions.can_manage_security(request.user),
        }
        return super().changelist_view(request, extra_context)

    @admin.action(description=gettext_lazy("停用所选账号"))
    def disable_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        _run_per_user(request, queryset, identity.user_disable, _("已停用 %(n)d 个账号。"), reason="admin")

    @admin.action(description=gettext_lazy("启用所选账号"))
    def enable_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        _run_per_user(request, queryset, identity.user_enable, _("已启用 %(n)d 个账号。"))

    @admin.action(description=gettext_lazy("结束所选账号的全部会话和令牌"))
    def kill_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        _run_per_user(request, queryset, identity.sessions_kill_user, _("已结束 %(n)d 个账号的会话。"))

    @admin.action(description=gettext_lazy("解除所选账号的登录锁定"))
    def unlock_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        def unlock(*, actor: Any, user: User, now: Any) -> None:
            identity.lockout_unlock(actor=actor, username=user.username, now=now)

        _run_per_user(request, queryset, unlock, _("已解锁 %(n)d 个账号。"))

    @admin.action(description=gettext_lazy("重置所选账号的双因素认证"))
    def reset_mfa(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        _run_per_user(request, queryset, identity.mfa_reset, _("已重置 %(n)d 个账号的双因素认证。"))

    @admin.action(description=gettext_lazy("重置所选账号的密码（生成临时密码）"))
    def reset_password(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for obj in queryset:
            try:
                _user, temporary = identity.password_reset(actor=request.user, user=obj, now=timezone.now())  # type: ignore[arg-type]
            except (PermissionDenied, ValidationError) as exc:
                messages.error(request, f"{obj.username}: {exc}")
            else:
                messages.warning(
                    request,
                    _("%(u)s 的临时密码：%(p)s（只显示这一次）") % {"u": obj.username, "p": temporary},
                )


@admin.register(ApiToken)
class ApiTokenAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "user", "key_prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "key_prefix")
    readonly_fields = ("user", "name", "key_prefix", "created_at", "last_used_at", "revoked_at", "epoch")
    exclude = ("key_hash",)
    actions = ("revoke_tokens",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        return None  # every field is read-only; revoking is the action

    @admin.action(description=gettext_lazy("吊销所选令牌"), permissions=["change"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            try:
                identity.api_token_revoke(actor=request.user, token=token, now=timezone.now())  # type: ignore[arg-type]
            except (PermissionDenied, ValidationError) as exc:
                messages.error(request, f"{token}: {exc}")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "seq",
        "occurred_at",
        "actor_login",
        "actor_role",
        "source_ip",
        "event_type",
        "object_type",
        "object_id",
        "outcome",
    )
    list_filter = ("outcome", "occurred_at")
    search_fields = ("=event_type", "event_type", "actor_login", "object_type", "=object_id", "request_id")
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        # Match prefixes on the indexed columns rather than scanning every row for a substring.
        if not search_term:
            return queryset, False
        term = search_term.strip()
        from django.db.models import Q

        return (
            queryset.filter(
                Q(event_type__startswith=term)
                | Q(actor_login__startswith=term)
                | Q(object_type__startswith=term)
                | Q(object_id=term)
                | Q(request_id=term)
            ),
            False,
        )


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyModelAdmin):
    list_display = ("upto_seq", "created_at", "purged_count", "upto_hash")


@admin.register(AccessAttempt)
class LockoutAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Login failures and lockouts (AUTH-3). Unlocking (deleting the record) is audited."""

    list_display = ("username", "ip_address", "failures_since_start", "attempt_time", "locked")
    search_fields = ("username", "ip_address")
    date_hierarchy = "attempt_time"
    readonly_fields = (
        "username",
        "ip_address",
        "user_agent",
        "failures_since_start",
        "attempt_time",
        "path_info",
    )
    fields = readonly_fields
    actions = ("unlock",)

    @admin.display(description=gettext_lazy("已锁定"), boolean=True)
    def locked(self, obj: AccessAttempt) -> bool:
        return bool(obj.failures_since_start >= settings.AXES_FAILURE_LIMIT)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _unlock(self, request: HttpRequest, obj: AccessAttempt) -> None:
        identity.lockout_unlock(
            actor=request.user,  # type: ignore[arg-type]
            username=obj.username or None,
            ip_address=obj.ip_address or None,
            now=timezone.now(),
        )

    def delete_model(self, request: HttpRequest, obj: AccessAttempt) -> None:
        self._unlock(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        for obj in queryset:
            self._unlock(request, obj)

    @admin.action(description=gettext_lazy("解除所选锁定"), permissions=["delete"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        self.delete_queryset(request, queryset)
        messages.success(request, _("已解除锁定。"))


@admin.register(AccessFailureLog)
class LoginFailureLogAdmin(ReadOnlyModelAdmin):
    list_display = ("attempt_time", "username", "ip_address", "locked_out")
    search_fields = ("username", "ip_address")
    date_hierarchy = "attempt_time"


@admin.register(TOTPDevice)
class TotpDeviceAdmin(ReadOnlyModelAdmin):
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    search_fields = ("user__username",)
    exclude = ("key",)
