"""Admin for the catalog, the responsibility list and the knowledge base (in Chinese).

Every save, activation and delete goes through ``catalog.services``, which write the one audit
row per change themselves. So ``save_model`` calls ``service_save`` directly instead of wrapping
it in ``config_save`` (which would write a second, generic row), as the calendar admin does.
Forms run the services' validation in ``clean`` so problems show on the form, not as a crash.
Categories and items are never deleted (orders refer to them): they are deactivated.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from catalog import services
from catalog.models import CatalogItem, Category, KnowledgeAnswer, ResponsibilityRule
from core.admin_base import AuditedModelAdmin
from orgs.models import Unit


def _add_problems(form: forms.ModelForm, problems: services.Problems) -> None:  # type: ignore[type-arg]
    for field, message in problems:
        form.add_error(field if field in form.fields else None, message)


class CatalogAdmin(AuditedModelAdmin):
    """Saves through a service (one audit row), no generic config_save wrapper."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self.service_save(request, obj, form, change)


# --- categories ---------------------------------------------------------------------------------


class LevelFilter(admin.SimpleListFilter):
    title = _("层级")
    parameter_name = "level"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("1", _("大类")), ("2", _("小类"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "1":
            return queryset.filter(parent__isnull=True)
        if self.value() == "2":
            return queryset.filter(parent__isnull=False)
        return queryset


class CategoryForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Category
        fields = ("code", "name", "parent", "keywords")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "parent" in self.fields:
            self.fields["parent"].queryset = Category.objects.filter(parent__isnull=True)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            _add_problems(
                self,
                services.category_problems(
                    code=data.get("code", "").strip(),
                    name=data.get("name", "").strip(),
                    parent=data.get("parent"),
                    keywords=data.get("keywords", ""),
                    category=self.instance if self.instance.pk else None,
                ),
            )
        return data


@admin.register(Category)
class CategoryAdmin(CatalogAdmin):
    form = CategoryForm
    list_display = ("code", "name", "level_label", "parent", "is_active")
    list_filter = (LevelFilter, "is_active")
    search_fields = ("code", "name", "keywords")
    list_select_related = ("parent",)
    actions = ("deactivate_selected", "activate_selected")

    @admin.display(description=_("层级"))
    def level_label(self, obj: Category) -> str:
        return str(_("大类") if obj.parent_id is None else _("小类"))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = services.category_update(
                actor=request.user,
                category=obj,
                code=data["code"],
                name=data["name"],
                parent=data.get("parent"),
                keywords=data.get("keywords", ""),
            )
        else:
            saved = services.category_create(
                actor=request.user,
                code=data["code"],
                name=data["name"],
                parent=data.get("parent"),
                keywords=data.get("keywords", ""),
            )
        obj.pk, obj.keywords = saved.pk, saved.keywords

    @admin.action(description=_("停用所选分类（含下级）"))
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        for category in queryset:
            services.category_deactivate(actor=request.user, category=category)

    @admin.action(description=_("启用所选分类"))
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        for category in queryset.order_by("parent_id", "code"):
            try:
                services.category_activate(actor=request.user, category=category)
            except services.CatalogError as exc:
                self.message_user(request, str(exc), messages.ERROR)


# --- items --------------------------------------------------------------------------------------


class CatalogItemForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = CatalogItem
        fields = ("code", "name", "subcategory", "keywords")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "subcategory" in self.fields:
            self.fields["subcategory"].queryset = Category.objects.filter(  # type: ignore[attr-defined]
                parent__isnull=False
            ).select_related("parent")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            _add_problems(
                self,
                services.item_problems(
                    code=data.get("code", "").strip(),
                    name=data.get("name", "").strip(),
                    subcategory=data["subcategory"],
                    keywords=data.get("keywords", ""),
                    item=self.instance if self.instance.pk else None,
                ),
            )
        return data


@admin.register(CatalogItem)
class CatalogItemAdmin(CatalogAdmin):
    form = CatalogItemForm
    list_display = ("code", "name", "subcategory", "category", "keywords", "is_active")
    list_filter = ("is_active", "subcategory__parent")
    search_fields = ("code", "name", "keywords", "search_pinyin")
    list_select_related = ("subcategory__parent",)
    actions = ("deactivate_selected", "activate_selected")

    @admin.display(description=_("大类"))
    def category(self, obj: CatalogItem) -> str:
        return obj.subcategory.parent.name if obj.subcategory.parent else ""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        values = {
            "code": data["code"],
            "name": data["name"],
            "subcategory": data["subcategory"],
            "keywords": data.get("keywords", ""),
        }
        if change:
            saved = services.item_update(actor=request.user, item=obj, **values)
        else:
            saved = services.item_create(actor=request.user, **values)
        obj.pk, obj.keywords, obj.search_pinyin = saved.pk, saved.keywords, saved.search_pinyin

    @admin.action(description=_("停用所选事项"))
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[CatalogItem]) -> None:
        for item in queryset:
            services.item_deactivate(actor=request.user, item=item)

    @admin.action(description=_("启用所选事项"))
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[CatalogItem]) -> None:
        for item in queryset:
            try:
                services.item_activate(actor=request.user, item=item)
            except services.CatalogError as exc:
                self.message_user(request, str(exc), messages.ERROR)


# --- responsibility rules -----------------------------------------------------------------------

RULE_FIELDS = (
    "item",
    "area",
    "lead_unit",
    "lead_kind",
    "handling_level",
    "assist_units",
    "limit_unit",
    "accept_within",
    "contact_within",
    "reply_within",
)


UNIT_FIELDS = ("area", "lead_unit", "assist_units")


def _units_searchable() -> bool:
    """Unit autocomplete needs the orgs admin (registered first: orgs precedes catalog in
    INSTALLED_APPS) with search fields; without it the unit pickers fall back to raw ids."""
    return admin.site.is_registered(Unit) and bool(admin.site.get_model_admin(Unit).search_fields)


class ResponsibilityRuleForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ResponsibilityRule
        fields = RULE_FIELDS

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            _add_problems(
                self,
                services.rule_problems(
                    item=data["item"],
                    area=data.get("area"),
                    lead_unit=data.get("lead_unit"),
                    lead_kind=data.get("lead_kind", ""),
                    handling_level=data["handling_level"],
                    assist_units=list(data.get("assist_units") or []),
                    limit_unit=data["limit_unit"],
                    accept_within=data["accept_within"],
                    contact_within=data["contact_within"],
                    reply_within=data["reply_within"],
                    rule=self.instance if self.instance.pk else None,
                ),
            )
        return data


@admin.register(ResponsibilityRule)
class ResponsibilityRuleAdmin(CatalogAdmin):
    form = ResponsibilityRuleForm
    list_display = (
        "item",
        "area_label",
        "lead_label",
        "handling_level",
        "limit_unit",
        "accept_within",
        "contact_within",
        "reply_within",
    )
    list_filter = ("handling_level", "limit_unit", "lead_kind")
    search_fields = ("item__code", "item__name", "item__keywords", "lead_unit__name", "area__name")
    autocomplete_fields = ("item", *UNIT_FIELDS) if _units_searchable() else ("item",)
    raw_id_fields = () if _units_searchable() else UNIT_FIELDS
    list_select_related = ("item", "area", "lead_unit")

    @admin.display(description=_("适用区域"))
    def area_label(self, obj: ResponsibilityRule) -> str:
        return obj.area.name if obj.area else str(_("全市"))

    @admin.display(description=_("主办"))
    def lead_label(self, obj: ResponsibilityRule) -> str:
        return obj.lead_unit.name if obj.lead_unit else str(obj.get_lead_kind_display())

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        values: dict[str, Any] = {key: data.get(key) for key in RULE_FIELDS}
        values["assist_units"] = list(values["assist_units"] or [])
        values["lead_kind"] = values["lead_kind"] or ""
        if change:
            saved = services.rule_update(actor=request.user, rule=obj, **values)
        else:
            saved = services.rule_create(actor=request.user, **values)
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The service already set the assisting units; there are no inlines.
        return None

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.rule_delete(actor=request.user, rule=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


# --- knowledge base -----------------------------------------------------------------------------

KNOWLEDGE_FIELDS = ("question", "answer", "keywords", "item", "valid_from", "valid_until")


class KnowledgeAnswerForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = KnowledgeAnswer
        fields = KNOWLEDGE_FIELDS

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            _add_problems(
                self,
                services.knowledge_problems(
                    question=data.get("question", "").strip(),
                    answer=data.get("answer", "").strip(),
                    keywords=data.get("keywords", ""),
                    valid_from=data.get("valid_from"),
                    valid_until=data.get("valid_until"),
                    knowledge=self.instance if self.instance.pk else None,
                ),
            )
        return data


class ValidityFilter(admin.SimpleListFilter):
    title = _("有效期")
    parameter_name = "validity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("dated", _("有期限")), ("open", _("长期有效"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "dated":
            return queryset.exclude(valid_from__isnull=True, valid_until__isnull=True)
        if self.value() == "open":
            return queryset.filter(valid_from__isnull=True, valid_until__isnull=True)
        return queryset


@admin.register(KnowledgeAnswer)
class KnowledgeAnswerAdmin(CatalogAdmin):
    form = KnowledgeAnswerForm
    list_display = ("question", "item", "valid_from", "valid_until")
    list_filter = (ValidityFilter, "item__subcategory__parent")
    search_fields = ("question", "keywords", "answer", "item__name", "item__code")
    autocomplete_fields = ("item",)
    list_select_related = ("item",)

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        values: dict[str, Any] = {key: data.get(key) for key in KNOWLEDGE_FIELDS}
        values["keywords"] = values["keywords"] or ""
        if change:
            saved = services.knowledge_update(actor=request.user, knowledge=obj, **values)
        else:
            saved = services.knowledge_create(actor=request.user, **values)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.knowledge_delete(actor=request.user, knowledge=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
