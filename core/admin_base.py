"""Admin glue: configuration changes in the admin go through a service and write one audit row."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.http import HttpRequest

from core.audit import audit_record
from core.permissions import can_admin


def snapshot(obj: models.Model) -> dict[str, Any]:
    """A JSON-able before/after picture of a configuration object (no secrets)."""
    data = model_to_dict(obj)
    data.pop("password", None)
    return {
        k: (list(v.values_list("pk", flat=True)) if hasattr(v, "values_list") else v) for k, v in data.items()
    }


@transaction.atomic
def config_save(*, actor: Any, obj: models.Model, save: Any, request: HttpRequest | None = None) -> None:
    """Save a configuration object through ``save()`` and audit the change in one transaction."""
    before = None
    if obj.pk is not None:
        old = type(obj)._default_manager.filter(pk=obj.pk).first()
        before = snapshot(old) if old is not None else None
    save()
    audit_record(
        event_type=f"config.{'update' if before is not None else 'create'}",
        actor=actor,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        before=before,
        after=snapshot(obj),
        request=request,
    )


@transaction.atomic
def config_delete(*, actor: Any, obj: models.Model, request: HttpRequest | None = None) -> None:
    before = snapshot(obj)
    pk = obj.pk
    obj.delete()
    audit_record(
        event_type="config.delete",
        actor=actor,
        object_type=obj._meta.label,
        object_id=str(pk),
        before=before,
        request=request,
    )


class RoleAccessMixin:
    """Admin permissions come from the separation-of-duties map (core.permissions.ADMIN_ACCESS),
    not from Django's per-user permission table: a model missing from the map is closed."""

    model: type[models.Model]

    def _can(self, request: HttpRequest, action: Any) -> bool:
        return can_admin(request.user, self.model._meta.label_lower, action)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._can(request, "view")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, "view") or self._can(request, "change")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, "delete")


class AuditedModelAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """ModelAdmin whose save and delete write exactly one audit row each (through config_save).

    Subclasses that have a domain service override ``service_save`` to call it instead of
    ``obj.save()``; the audit row is written either way.
    """

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        config_save(
            actor=request.user,
            obj=obj,
            request=request,
            save=lambda: self.service_save(request, obj, form, change),
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        config_delete(actor=request.user, obj=obj, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            config_delete(actor=request.user, obj=obj, request=request)


class ReadOnlyModelAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """For domain records and the audit log: visible (to the roles the map names), never edited or
    deleted in the admin."""

    actions = None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, "view")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
