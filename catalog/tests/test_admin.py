"""The catalog admin saves through the services: exactly one audit row per change."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import AdminSite
from django.test import RequestFactory
from django.utils.datastructures import MultiValueDict

from catalog.admin import CatalogItemAdmin, CategoryAdmin, KnowledgeAnswerAdmin, ResponsibilityRuleAdmin
from catalog.models import CatalogItem, Category, KnowledgeAnswer, ResponsibilityRule
from catalog.tests.utils import last_audit
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_(actor):
    request = RequestFactory().post("/admin/")
    request.user = actor
    return request


def submit(model_admin, request, data, obj=None):
    """What the admin's change view does: validate the form, save the object, then related."""
    posted = MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in data.items()})
    form = model_admin.get_form(request, obj)(data=posted, instance=obj)
    if not form.is_valid():
        return form
    new_obj = form.save(commit=False)
    model_admin.save_model(request, new_obj, form, obj is not None)
    model_admin.save_related(request, form, [], obj is not None)
    return form


def audit_types():
    return list(AuditEvent.objects.order_by("seq").values_list("event_type", flat=True))


def test_adding_and_changing_a_category_writes_one_row_each(request_):
    model_admin = CategoryAdmin(Category, AdminSite())
    submit(model_admin, request_, {"code": "01", "name": "城市管理", "keywords": "市容 环卫"})
    top = Category.objects.get(code="01")
    assert top.keywords == "市容，环卫"
    submit(model_admin, request_, {"code": "01", "name": "城市管理与执法", "keywords": ""}, obj=top)
    assert Category.objects.get(code="01").name == "城市管理与执法"
    assert audit_types() == ["catalog.category_create", "catalog.category_update"]


def test_the_category_form_shows_service_refusals(request_, catalog):
    before = AuditEvent.objects.count()
    model_admin = CategoryAdmin(Category, AdminSite())
    form = submit(model_admin, request_, {"code": "0199", "name": "x", "parent": catalog.sub.pk})
    # The parent picker only offers level-1 categories, so a subcategory is not even a choice.
    assert "parent" in form.errors
    assert AuditEvent.objects.count() == before


def test_deactivating_categories_from_the_admin_uses_the_service(request_, catalog):
    model_admin = CategoryAdmin(Category, AdminSite())
    before = AuditEvent.objects.count()
    model_admin.deactivate_selected(request_, Category.objects.filter(pk=catalog.top.pk))
    assert AuditEvent.objects.count() == before + 1
    assert not CatalogItem.objects.filter(is_active=True).exists()
    assert model_admin.has_delete_permission(request_) is False


def test_adding_an_item_writes_one_row_and_refuses_a_level_one_parent(request_, catalog):
    model_admin = CatalogItemAdmin(CatalogItem, AdminSite())
    before = AuditEvent.objects.count()
    form = submit(
        model_admin, request_, {"code": "010103", "name": "占道经营", "subcategory": catalog.top.pk}
    )
    assert "subcategory" in form.errors
    assert AuditEvent.objects.count() == before
    submit(model_admin, request_, {"code": "010103", "name": "占道经营", "subcategory": catalog.sub.pk})
    item = CatalogItem.objects.get(code="010103")
    assert item.search_pinyin.startswith("zhandaojingying")
    assert AuditEvent.objects.count() == before + 1


def rule_data(item, **overrides):
    data = {
        "item": item.pk,
        "lead_kind": "street",
        "handling_level": "street",
        "limit_unit": "working_days",
        "accept_within": 1,
        "contact_within": 1,
        "reply_within": 10,
    }
    data.update(overrides)
    return data


def test_rules_in_the_admin_write_one_row_with_assisting_units(request_, catalog, tree):
    model_admin = ResponsibilityRuleAdmin(ResponsibilityRule, AdminSite())
    before = AuditEvent.objects.count()
    form = submit(
        model_admin,
        request_,
        rule_data(
            catalog.garbage,
            lead_kind="",
            lead_unit=tree.water.pk,
            handling_level="city",
            assist_units=[tree.gas.pk],
        ),
    )
    assert form.is_valid(), form.errors
    rule = ResponsibilityRule.objects.get()
    assert list(rule.assist_units.all()) == [tree.gas]
    assert AuditEvent.objects.count() == before + 1
    assert last_audit().after["assist_units"] == ["D02"]
    submit(model_admin, request_, rule_data(catalog.garbage, reply_within=12), obj=rule)
    rule.refresh_from_db()
    assert (rule.lead_unit, rule.lead_kind, rule.reply_within) == (None, "street", 12)
    assert list(rule.assist_units.all()) == []
    assert AuditEvent.objects.count() == before + 2
    model_admin.delete_model(request_, rule)
    assert AuditEvent.objects.count() == before + 3
    assert audit_types()[-1] == "catalog.rule_delete"


def test_the_rule_form_reports_bad_limits_on_the_field(request_, catalog):
    model_admin = ResponsibilityRuleAdmin(ResponsibilityRule, AdminSite())
    form = submit(
        model_admin,
        request_,
        rule_data(catalog.garbage, limit_unit="hours", contact_within=2, reply_within=200),
    )
    assert any("紧急事项" in e for e in form.errors["reply_within"])
    assert not ResponsibilityRule.objects.exists()


def test_knowledge_in_the_admin_writes_one_row_per_change(request_, catalog):
    model_admin = KnowledgeAnswerAdmin(KnowledgeAnswer, AdminSite())
    data = {"question": "怎么分类？", "answer": "分四类。", "keywords": "垃圾", "item": catalog.garbage.pk}
    submit(model_admin, request_, data)
    answer = KnowledgeAnswer.objects.get()
    bad = submit(
        model_admin, request_, {**data, "valid_from": "2025-03-01", "valid_until": "2025-02-01"}, obj=answer
    )
    assert "valid_until" in bad.errors
    submit(model_admin, request_, {**data, "answer": "分为四类。"}, obj=answer)
    model_admin.delete_queryset(request_, KnowledgeAnswer.objects.all())
    assert (
        audit_types()[-3:]
        == ["catalog.knowledge_create", "catalog.knowledge_update", "catalog.knowledge_delete"][-3:]
    )
    assert audit_types().count("catalog.knowledge_create") == 1
    assert audit_types().count("catalog.knowledge_update") == 1
    assert not KnowledgeAnswer.objects.exists()
