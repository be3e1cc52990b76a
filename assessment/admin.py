"""Admin for the assessment. The factors of a city (weights, the floor of the streets' rating
weight, the appeal window) are configuration, saved through ``assessment_config_set`` (its checks,
its one audit row); everything else is read-only here: appeals and evaluations change through
their services, the facts, daily counts and fill state are computed by ``assessment.rollups``,
warnings are recorded by the insight app, and issued briefings are kept as published.

Access follows ``core.permissions.ADMIN_ACCESS``: a model missing from that map is closed to
every role (only a superuser under DEBUG would see it), and core's tests require every
registered model to be in the map. So each admin below is kept in ``ASSESSMENT_ADMINS`` and
registered on the admin site only when the map names its model: the pages appear once
``assessment.*`` entries are added there (factors: the system administrator's configuration;
the records: view only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from assessment import metrics
from assessment.models import (
    Appeal,
    AssessmentConfig,
    Briefing,
    DepartmentEvaluation,
    EarlyWarning,
    FillState,
    OrderFact,
    UnitDailyCount,
)
from assessment.services import assessment_config_set
from core.admin_base import ReadOnlyModelAdmin, RoleAccessMixin
from core.permissions import ADMIN_ACCESS
from orders.errors import OrderError
from orgs.choices import UnitKind
from orgs.models import Unit

ASSESSMENT_ADMINS: dict[type[models.Model], type[admin.ModelAdmin[Any]]] = {}


def register(
    model: type[models.Model],
) -> Callable[[type[admin.ModelAdmin[Any]]], type[admin.ModelAdmin[Any]]]:
    """Keep the admin of ``model``; put it on the admin site when ADMIN_ACCESS names the model."""

    def wrap(model_admin: type[admin.ModelAdmin[Any]]) -> type[admin.ModelAdmin[Any]]:
        ASSESSMENT_ADMINS[model] = model_admin
        if model._meta.label_lower in ADMIN_ACCESS:
            admin.site.register(model, model_admin)
        return model_admin

    return wrap


class AssessmentConfigForm(forms.ModelForm):  # type: ignore[type-arg]
    """Validated as a model form, then handed to the service (which checks permission, that the
    weights add up to 1, the floor, the version) as the last step of validation, once the model
    form's own checks (the city's uniqueness among them) have passed: a refusal comes back as a
    form error, and the admin's own save does nothing more."""

    actor: Any = None

    class Meta:
        model = AssessmentConfig
        fields = ("city", *metrics.FACTOR_NAMES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "city" in self.fields:
            city_field = self.fields["city"]
            assert isinstance(city_field, forms.ModelChoiceField)
            city_field.queryset = Unit.objects.filter(parent__isnull=True, kind=UnitKind.CITY)
        self.saved: AssessmentConfig | None = None

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound or self.errors:
            return
        creating = self.instance.pk is None
        city = self.cleaned_data["city"] if creating else self.instance.city
        names = (
            metrics.FACTOR_NAMES if creating else [n for n in self.changed_data if n in metrics.FACTOR_NAMES]
        )
        changes = {name: self.cleaned_data[name] for name in names}
        try:
            self.saved = assessment_config_set(
                actor=self.actor,
                city=city,
                now=timezone.now(),
                changes=changes,
                version=None if creating else self.instance.version,
            )
        except OrderError as exc:
            self.add_error(None, exc.message)
        except PermissionDenied as exc:
            self.add_error(None, str(exc))


@register(AssessmentConfig)
class AssessmentConfigAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    form = AssessmentConfigForm
    list_display = (
        "city",
        "response_weight",
        "resolution_weight",
        "satisfaction_weight",
        "rating_weight",
        "rating_weight_floor",
        "appeal_window_days",
        "version",
        "updated_at",
    )
    list_select_related = ("city",)
    readonly_fields = ("version", "updated_by", "updated_at")
    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "city") if obj is not None else fields

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form: Any = super().get_form(request, obj, change, **kwargs)
        form.actor = request.user  # a class made for this request by modelform_factory
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # the service saved (and audited) the row while validating the form
        assert form.saved is not None
        obj.pk = form.saved.pk
        obj.refresh_from_db()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a city without a row uses the defaults; there is no service to remove one


@register(Appeal)
class AppealAdmin(ReadOnlyModelAdmin):
    list_display = ("pk", "order", "unit", "reason", "status", "submitted_at", "ruled_at")
    list_filter = ("status", "reason")
    list_select_related = ("order", "unit")
    raw_id_fields = ("order", "callback", "unit", "submitted_by", "ruled_by")
    date_hierarchy = "submitted_at"


@register(DepartmentEvaluation)
class DepartmentEvaluationAdmin(ReadOnlyModelAdmin):
    list_display = ("pk", "period", "rater_unit", "unit", "score", "rated_at")
    list_select_related = ("rater_unit", "unit")
    raw_id_fields = ("rater_unit", "unit", "rated_by")


@register(OrderFact)
class OrderFactAdmin(ReadOnlyModelAdmin):
    list_display = (
        "order",
        "count_day",
        "created_day",
        "hdl_unit",
        "valid",
        "resolved",
        "satisfied",
        "overdue",
    )
    list_select_related = ("order", "hdl_unit")
    raw_id_fields = ("order", "item", "loc_unit", "area_unit", "hdl_unit")
    show_full_result_count = False  # millions of rows


@register(UnitDailyCount)
class UnitDailyCountAdmin(ReadOnlyModelAdmin):
    list_display = ("unit", "day", "metric", "item", "channel", "value")
    list_select_related = ("unit", "item")
    raw_id_fields = ("unit", "item")
    show_full_result_count = False  # millions of rows


@register(FillState)
class FillStateAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "cursor", "state", "until", "updated_at")


@register(EarlyWarning)
class EarlyWarningAdmin(ReadOnlyModelAdmin):
    list_display = ("pk", "day", "level", "area", "item", "observed", "expected", "rule", "notified")
    list_filter = ("level", "notified")
    list_select_related = ("area", "item")
    raw_id_fields = ("area", "item")


@register(Briefing)
class BriefingAdmin(ReadOnlyModelAdmin):
    list_display = ("scope", "period", "created_at", "sha256", "pdf_sha256")
    list_select_related = ("scope",)
    fields = ("scope", "period", "created_at", "sha256", "pdf_sha256")
