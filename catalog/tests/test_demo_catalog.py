"""The demo catalog: exact sizes, a rule for every item, known departments, and loading it."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog.models import CatalogItem, Category, KnowledgeAnswer, ResponsibilityRule
from catalog.selectors import item_search, knowledge_search, resolve_lead_unit, rule_for
from catalog.services import CatalogError, catalog_load_demo, demo_catalog_data
from core.models import AuditEvent
from orgs.choices import UnitKind
from orgs.services import unit_create

# The demo city's departments, fixed by the foundation issue's brief.
DEPARTMENTS = [
    "市城市管理委员会", "市生态环境局", "市交通委员会", "市住房和城乡建设委员会", "市教育委员会",
    "市卫生健康委员会", "市人力资源和社会保障局", "市市场监督管理局", "市公安局", "市民政局",
    "市水务局", "市园林绿化局", "市规划和自然资源委员会", "市商务局", "市文化和旅游局",
    "市应急管理局", "市医疗保障局", "市税务局", "市消防救援支队", "市城管执法局",
    "市发展和改革委员会", "市财政局", "市司法局", "市农业农村局", "市体育局",
    "市退役军人事务局", "市政务服务管理局", "市信访办", "市残疾人联合会", "市妇女联合会",
    "市总工会", "市邮政管理局", "市通信管理局", "市供电公司", "市燃气集团",
    "市自来水集团", "市热力集团", "市公交集团", "市地铁运营公司", "市住房公积金管理中心",
]  # fmt: skip

DATA = demo_catalog_data()
SUBCATEGORIES = [s for c in DATA["categories"] for s in c["subcategories"]]
ITEMS = [i for s in SUBCATEGORIES for i in s["items"]]


def test_the_demo_catalog_has_exactly_11_categories_114_subcategories_235_items():
    assert len(DATA["categories"]) == 11
    assert len(SUBCATEGORIES) == 114
    assert len(ITEMS) == 235
    codes = [c["code"] for c in DATA["categories"]] + [s["code"] for s in SUBCATEGORIES]
    assert len(set(codes)) == len(codes)
    assert len({i["code"] for i in ITEMS}) == 235
    assert len({i["name"] for i in ITEMS}) == 235
    assert all(i["keywords"] for i in ITEMS)
    assert all(s["items"] for s in SUBCATEGORIES)


def test_every_item_has_exactly_one_citywide_rule_with_realistic_limits():
    rules = {r["item"]: r for r in DATA["rules"]}
    assert len(DATA["rules"]) == len(rules) == 235
    assert set(rules) == {i["code"] for i in ITEMS}
    hours = []
    for rule in DATA["rules"]:
        assert bool(rule["lead_kind"]) != bool(rule["lead_department"])
        if rule["lead_kind"]:
            assert rule["lead_kind"] in {"street", "community"}
            assert rule["handling_level"] == rule["lead_kind"]
        if rule["limit_unit"] == "hours":
            hours.append(rule["item"])
            assert rule["accept_within"] <= rule["contact_within"] <= rule["reply_within"] <= 72
        else:
            assert rule["limit_unit"] == "working_days"
            assert rule["accept_within"] == 1
            assert 1 <= rule["contact_within"] <= 2
            assert 5 <= rule["reply_within"] <= 15
    names = {i["code"]: i["name"] for i in ITEMS}
    urgent = {names[code] for code in hours}
    assert {"燃气泄漏", "供水管道爆裂"} <= urgent
    assert len(urgent) < 15  # a few urgent items, not a habit


def test_every_department_named_is_in_the_demo_citys_list():
    assert DATA["departments"] == DEPARTMENTS
    named = {r["lead_department"] for r in DATA["rules"] if r["lead_department"]}
    for rule in DATA["rules"]:
        named.update(rule["assist_departments"])
        assert rule["lead_department"] not in rule["assist_departments"]
    assert named <= set(DEPARTMENTS)


def test_about_200_knowledge_answers_point_at_real_items():
    answers = DATA["knowledge"]
    assert 180 <= len(answers) <= 220
    assert len({a["question"] for a in answers}) == len(answers)
    item_codes = {i["code"] for i in ITEMS}
    assert all(a["item"] in item_codes and a["answer"] and a["keywords"] for a in answers)


@pytest.fixture
def city_departments(db):
    city = unit_create(actor=None, code="DEMO", name="示例市", kind=UnitKind.CITY, parent=None)
    return {
        name: unit_create(actor=None, code=f"DEMO-D{n:02d}", name=name, kind=UnitKind.DEPARTMENT, parent=city)
        for n, name in enumerate(DEPARTMENTS, start=1)
    }


@pytest.mark.django_db
def test_loading_the_demo_catalog_builds_it_all_with_one_audit_row(city_departments):
    before = AuditEvent.objects.count()
    counts = catalog_load_demo()
    assert counts == {
        "categories": 11,
        "subcategories": 114,
        "items": 235,
        "rules": 235,
        "knowledge": len(DATA["knowledge"]),
    }
    assert AuditEvent.objects.count() == before + 1
    assert Category.objects.filter(parent__isnull=True).count() == 11
    assert Category.objects.filter(parent__isnull=False).count() == 114
    assert CatalogItem.objects.count() == 235
    assert ResponsibilityRule.objects.filter(area__isnull=True).count() == 235
    assert KnowledgeAnswer.objects.count() == len(DATA["knowledge"])
    leak = item_search("rqxl")[0]
    assert leak.name == "燃气泄漏"
    rule = rule_for(leak, None)
    assert rule is not None
    assert resolve_lead_unit(rule, None) == city_departments["市燃气集团"]
    assert rule.limit_unit == "hours"
    assert knowledge_search("燃气", dt.date(2026, 1, 5))


@pytest.mark.django_db
def test_loading_twice_changes_nothing(city_departments):
    catalog_load_demo()
    catalog_load_demo()
    assert CatalogItem.objects.count() == 235
    assert ResponsibilityRule.objects.count() == 235
    assert KnowledgeAnswer.objects.count() == len(DATA["knowledge"])


@pytest.mark.django_db
def test_missing_departments_are_listed_and_nothing_is_loaded():
    city = unit_create(actor=None, code="DEMO", name="示例市", kind=UnitKind.CITY, parent=None)
    for n, name in enumerate(DEPARTMENTS[2:], start=3):
        unit_create(actor=None, code=f"DEMO-D{n:02d}", name=name, kind=UnitKind.DEPARTMENT, parent=city)
    with pytest.raises(CatalogError) as info:
        catalog_load_demo()
    assert str(info.value) == "以下部门在组织机构中不存在：市城市管理委员会、市生态环境局"
    assert not CatalogItem.objects.exists()


@pytest.mark.django_db
def test_the_command_reports_missing_departments_in_chinese():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="以下部门在组织机构中不存在"):
        call_command("load_demo_catalog")
