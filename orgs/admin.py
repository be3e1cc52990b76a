"""Admin for the organisation tree and memberships. Every save and delete goes through
``orgs.services``, which write the one audit row, so these classes override ``save_model`` and
``delete_model`` themselves rather than going through ``config_save`` (which would audit twice).

The forms run the services' checks in ``clean()`` so a refused change shows as a Chinese form
error instead of failing on save. The closure table is never edited here: a unit's change page
shows its ancestor path and subtree size read-only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.admin_base import AuditedModelAdmin
from orgs.addresses import AddressError, address_create, address_delete, address_update
from orgs.choices import UnitKind
from orgs.models import Address, Membership, Unit, UnitClosure
from orgs.selectors import unit_path
from orgs.services import (
    OrgError,
    check_code_free,
    check_delete,
    check_located_in,
    check_move,
    check_parent,
    membership_grant,
    membership_revoke,
    unit_create,
    unit_delete,
    unit_update,
)


class UnitAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Unit
        fields: tuple[str, ...] = ("code", "name", "kind", "parent", "located_in", "is_active")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if self.errors:
            return cleaned
        code = (cleaned.get("code") or "").strip()
        parent: Unit | None = cleaned.get("parent")
        located_in: Unit | None = cleaned.get("located_in")
        original: Unit | None = self.instance if self.instance.pk else None
        try:
            if original is None:
                kind = cleaned.get("kind") or ""
                check_parent(kind=kind, parent=parent)
                check_code_free(code=code)
                check_located_in(kind=kind, parent=parent, located_in=located_in)
            else:
                kind = original.kind
                check_code_free(code=code, exclude_pk=original.pk)
                if parent != original.parent:
                    check_move(unit=original, new_parent=parent, station_street=located_in)
                elif located_in != original.located_in:
                    check_located_in(kind=kind, parent=parent, located_in=located_in)
                if (
                    original.is_active
                    and not cleaned.get("is_active", True)
                    and Unit.objects.filter(parent_id=original.pk, is_active=True).exists()
                ):
                    raise OrgError(str(_("该单位还有启用的下级单位，不能停用。")))
        except OrgError as exc:
            raise ValidationError(str(exc)) from exc
        return cleaned


@admin.register(Unit)
class UnitAdmin(AuditedModelAdmin):
    form = UnitAdminForm
    list_display = ("code", "name", "kind", "level", "parent", "located_in", "is_active")
    list_filter = ("kind", "level", "is_active")
    search_fields = ("code", "name")
    list_select_related = ("parent", "located_in")
    autocomplete_fields = ("parent", "located_in")
    ordering = ("code",)
    # Access: ``core.permissions.ADMIN_ACCESS`` (the system administrator); the services check again.

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields: tuple[str, ...] = ("code", "name", "kind", "parent", "located_in", "is_active")
        if obj is not None:
            fields += ("level", "path", "subtree_size", "created_at")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The kind is fixed at creation; level and the closure are the services' business.
        return ("kind", "level", "path", "subtree_size", "created_at") if obj is not None else ()

    @admin.display(description=_("上级路径"))
    def path(self, obj: Unit) -> str:
        return unit_path(obj)

    @admin.display(description=_("下级单位数"))
    def subtree_size(self, obj: Unit) -> int:
        return UnitClosure.objects.filter(ancestor_id=obj.pk, depth__gt=0).count()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        # The "located in" autocomplete offers active streets only; "parent" offers active units.
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        field = request.GET.get("field_name")
        if field == "located_in":
            queryset = queryset.filter(kind=UnitKind.STREET, is_active=True)
        elif field == "parent":
            queryset = queryset.filter(is_active=True)
        return queryset, may_have_duplicates

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Units are deleted one at a time, so each refusal can be explained.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            unit = unit_update(
                actor=request.user,
                unit=Unit.objects.get(pk=obj.pk),
                code=obj.code,
                name=obj.name,
                parent=obj.parent,
                located_in=obj.located_in,
                is_active=obj.is_active,
            )
        else:
            unit = unit_create(
                actor=request.user,
                code=obj.code,
                name=obj.name,
                kind=obj.kind,
                parent=obj.parent,
                located_in=obj.located_in,
            )
        obj.pk = unit.pk
        obj.level = unit.level
        obj.created_at = unit.created_at
        obj.is_active = unit.is_active

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            try:
                check_delete(unit=obj)
            except OrgError as exc:
                messages.error(request, str(exc))
                return HttpResponseRedirect(reverse("admin:orgs_unit_change", args=[obj.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        unit_delete(actor=request.user, unit=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            unit_delete(actor=request.user, unit=obj)


class MembershipAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Membership
        fields = ("user", "unit", "role")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        unit: Unit | None = cleaned.get("unit")
        if unit is not None and not unit.is_active:
            raise ValidationError(_("单位“%(unit)s”已停用，不能授予岗位。") % {"unit": unit.name})
        return cleaned


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    """Memberships are granted and revoked, never edited: change a role by revoking and granting.

    Who may see and do what here comes from ``core.permissions.ADMIN_ACCESS`` (the security
    administrator); the services check again.
    """

    form = MembershipAdminForm
    list_display = ("user", "unit", "role", "created_at")
    list_filter = ("role", "unit__kind")
    search_fields = ("user__username", "user__display_name", "unit__name", "unit__code")
    list_select_related = ("user", "unit")
    autocomplete_fields = ("unit",)
    raw_id_fields = ("user",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        membership = membership_grant(actor=request.user, user=obj.user, unit=obj.unit, role=obj.role)
        obj.pk = membership.pk
        obj.created_at = membership.created_at

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        membership_revoke(actor=request.user, membership=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            membership_revoke(actor=request.user, membership=obj)


class AddressAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Address
        fields = ("text", "building", "grid", "lon", "lat")
        help_texts = {
            "grid": _("留空时由楼院或坐标自动确定所在网格。"),
            "lon": _("WGS-84 经度；高德、腾讯（GCJ-02）或百度（BD-09）坐标请用 Excel 导入并注明坐标系。"),
        }

    def _post_clean(self) -> None:
        # The services validate (normalised text unique, grid consistent with the point).
        pass


@admin.register(Address)
class AddressAdmin(AuditedModelAdmin):
    """The unified address list 统一地址库; every save and delete goes through ``orgs.addresses``."""

    form = AddressAdminForm
    list_display = ("text", "grid", "building", "lon", "lat")
    search_fields = ("text", "normalized")
    list_select_related = ("grid", "building")
    autocomplete_fields = ("grid", "building")
    list_per_page = 50
    show_full_result_count = False

    def _as_form_error(self, form: Any, exc: Exception) -> None:
        messages_list = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        for text in messages_list:
            form.add_error(None, text)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = address_update(
                actor=request.user,
                address=obj,
                text=data["text"],
                building=data.get("building"),
                grid=data.get("grid"),
                lon=data.get("lon"),
                lat=data.get("lat"),
            )
        else:
            saved = address_create(
                actor=request.user,
                text=data["text"],
                building=data.get("building"),
                grid=data.get("grid"),
                lon=data.get("lon"),
                lat=data.get("lat"),
            )
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except AddressError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        address_delete(actor=request.user, address=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            address_delete(actor=request.user, address=obj)
