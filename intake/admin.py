"""Admin for the intake credentials: telephony systems and Open311 clients (security admin only).

Issuing, changing and revoking go through ``intake.services`` (one audit row each). A new Open311
key is shown once, on the page that answers the save — never stored in a message or a cookie.
Nothing here is deleted: a key is revoked, a telephony system deactivated.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.permissions import can_manage_security
from intake import services
from intake.models import Open311Client, TelephonySystem

RAW_KEY_ATTR = "_intake_open311_raw_key"


class SecurityAdminOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    """Credentials are the security administrator's (SECURITY.md AC-3); nobody deletes them."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_manage_security(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_manage_security(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_manage_security(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_manage_security(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Open311Client)
class Open311ClientAdmin(SecurityAdminOnly):
    list_display = ("name", "key_prefix", "dispatch_unit", "created_at", "revoked_at")
    search_fields = ("name", "key_prefix")
    raw_id_fields = ("dispatch_unit",)
    actions = ["revoke_keys"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name", "contact", "dispatch_unit"] + (
            ["key_prefix", "created_at", "revoked_at"] if obj else []
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name", "key_prefix", "created_at", "revoked_at"] if obj else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        now = timezone.now()
        if change:
            services.open311_client_update(
                actor=request.user, client=obj, contact=obj.contact, dispatch_unit=obj.dispatch_unit, now=now
            )
            return
        client, raw = services.open311_client_create(
            actor=request.user, name=obj.name, contact=obj.contact, dispatch_unit=obj.dispatch_unit, now=now
        )
        obj.pk = client.pk
        obj.key_prefix, obj.key_hash, obj.created_at = client.key_prefix, client.key_hash, client.created_at
        setattr(request, RAW_KEY_ATTR, raw)

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        raw = getattr(request, RAW_KEY_ATTR, None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {**self.admin_site.each_context(request), "client": obj, "raw_key": raw, "opts": self.opts}
        response = TemplateResponse(request, "admin/intake/open311client/key_issued.html", context)
        response["Cache-Control"] = "no-store, private, max-age=0"
        return response

    @admin.action(description=_("吊销所选客户端的密钥"))
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[Open311Client]) -> None:
        done = 0
        for client in queryset.filter(revoked_at__isnull=True):
            services.open311_client_revoke(actor=request.user, client=client, now=timezone.now())
            done += 1
        self.message_user(request, _("已吊销 %(n)d 个密钥。") % {"n": done}, messages.SUCCESS)


@admin.register(TelephonySystem)
class TelephonySystemAdmin(SecurityAdminOnly):
    list_display = ("name", "user", "unit", "is_active", "created_at")
    raw_id_fields = ("user", "unit")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name", "user", "unit", "is_active"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name", "user", "unit"] if obj else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        now = timezone.now()
        if change:
            services.telephony_system_set_active(
                actor=request.user, system=obj, active=obj.is_active, now=now
            )
            return
        system = services.telephony_system_create(
            actor=request.user, name=obj.name, user=obj.user, unit=obj.unit, now=now
        )
        obj.pk, obj.created_at = system.pk, system.created_at
