"""Responsibility-rule services: who leads, limits, areas; one audit row per change."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.choices import HandlingLevel, LimitUnit
from catalog.models import ResponsibilityRule
from catalog.services import CatalogError, rule_create, rule_delete, rule_update
from catalog.tests.utils import last_audit
from core.models import AuditEvent
from orgs.choices import UnitKind

pytestmark = pytest.mark.django_db


def make(actor, item, **overrides):
    values: dict[str, Any] = {
        "handling_level": HandlingLevel.STREET,
        "lead_kind": UnitKind.STREET,
        "accept_within": 1,
        "contact_within": 1,
        "reply_within": 10,
    }
    values.update(overrides)
    return rule_create(actor=actor, item=item, **values)


def messages_of(excinfo):
    return [m for _f, m in excinfo.value.problems]


def test_a_citywide_street_led_rule_is_created_and_audited(catalog, actor):
    before = AuditEvent.objects.count()
    rule = make(actor, catalog.garbage)
    assert rule.area is None
    assert AuditEvent.objects.count() == before + 1
    event = last_audit()
    assert event.event_type == "catalog.rule_create"
    assert event.after["lead_kind"] == "street"
    assert event.after["item"] == "010101"


def test_a_named_lead_with_assisting_units(catalog, actor, tree):
    rule = make(
        actor,
        catalog.garbage,
        lead_kind="",
        lead_unit=tree.water,
        handling_level=HandlingLevel.CITY,
        assist_units=[tree.gas, tree.street],
    )
    assert set(rule.assist_units.all()) == {tree.gas, tree.street}
    assert last_audit().after["assist_units"] == ["C0101", "D02"]


def test_lead_unit_and_lead_kind_are_exclusive_and_one_is_required(catalog, actor, tree):
    with pytest.raises(CatalogError) as both:
        make(actor, catalog.garbage, lead_unit=tree.water)
    assert "主办单位与主办单位类型须填且只填一项" in messages_of(both)
    with pytest.raises(CatalogError) as neither:
        make(actor, catalog.garbage, lead_kind="")
    assert "主办单位与主办单位类型须填且只填一项" in messages_of(neither)


def test_a_lead_kind_must_be_territorial_and_match_the_handling_level(catalog, actor):
    with pytest.raises(CatalogError, match="主办单位类型只能是"):
        make(actor, catalog.garbage, lead_kind=UnitKind.DEPARTMENT)
    with pytest.raises(CatalogError, match="办理层级应为「街道级」"):
        make(actor, catalog.garbage, handling_level=HandlingLevel.DISTRICT)


def test_a_grid_cannot_lead_or_assist(catalog, actor, tree):
    with pytest.raises(CatalogError) as info:
        make(
            actor,
            catalog.garbage,
            lead_kind="",
            lead_unit=tree.grid,
            handling_level=HandlingLevel.COMMUNITY,
            assist_units=[tree.grid],
        )
    found = messages_of(info)
    assert any("不能作为主办单位" in m for m in found)
    assert any("不能作为协办单位" in m for m in found)


def test_the_lead_unit_cannot_also_assist_and_inactive_units_are_refused(catalog, actor, tree):
    tree.gas.is_active = False
    tree.gas.save()
    with pytest.raises(CatalogError) as info:
        make(
            actor,
            catalog.garbage,
            lead_kind="",
            lead_unit=tree.water,
            handling_level=HandlingLevel.CITY,
            assist_units=[tree.water, tree.gas],
        )
    found = messages_of(info)
    assert "「市水务局」已是主办单位，不能同时协办" in found
    assert "协办单位「市燃气集团」已停用" in found


@pytest.mark.parametrize(
    ("unit", "accept", "contact", "reply", "expected"),
    [
        (LimitUnit.WORKING_DAYS, 2, 1, 10, "签收时限 ≤ 联系时限 ≤ 答复时限"),
        (LimitUnit.WORKING_DAYS, 1, 5, 3, "签收时限 ≤ 联系时限 ≤ 答复时限"),
        (LimitUnit.WORKING_DAYS, 0, 1, 5, "签收时限至少为1"),
        (LimitUnit.WORKING_DAYS, 1, 1, 61, "不能超过60个工作日"),
        (LimitUnit.HOURS, 1, 2, 96, "只用于紧急事项"),
    ],
)
def test_bad_limits_are_refused(catalog, actor, unit, accept, contact, reply, expected):
    with pytest.raises(CatalogError) as info:
        make(
            actor,
            catalog.garbage,
            limit_unit=unit,
            accept_within=accept,
            contact_within=contact,
            reply_within=reply,
        )
    assert any(expected in m for m in messages_of(info))
    assert not ResponsibilityRule.objects.exists()


def test_urgent_rules_take_hours(catalog, actor, tree):
    rule = make(
        actor,
        catalog.garbage,
        lead_kind="",
        lead_unit=tree.gas,
        handling_level=HandlingLevel.CITY,
        limit_unit=LimitUnit.HOURS,
        accept_within=1,
        contact_within=2,
        reply_within=24,
    )
    assert rule.limit_unit == LimitUnit.HOURS


def test_the_area_must_be_territorial_below_the_city(catalog, actor, tree):
    with pytest.raises(CatalogError, match="全市适用请留空"):
        make(actor, catalog.garbage, area=tree.city)
    with pytest.raises(CatalogError, match="适用区域应为"):
        make(actor, catalog.garbage, area=tree.water)
    assert make(actor, catalog.garbage, area=tree.district).area == tree.district


def test_one_rule_per_item_and_area(catalog, actor, tree):
    make(actor, catalog.garbage)
    with pytest.raises(CatalogError, match="在「全市」已有责任规则"):
        make(actor, catalog.garbage)
    make(actor, catalog.garbage, area=tree.street)
    with pytest.raises(CatalogError, match="在「和平街道」已有责任规则"):
        make(actor, catalog.garbage, area=tree.street)


def test_updating_a_rule_records_before_and_after(catalog, actor, tree):
    rule = make(actor, catalog.garbage)
    updated = rule_update(
        actor=actor,
        rule=rule,
        item=catalog.garbage,
        lead_unit=tree.water,
        handling_level=HandlingLevel.CITY,
        accept_within=1,
        contact_within=2,
        reply_within=15,
        assist_units=[tree.gas],
    )
    assert updated.lead_unit == tree.water
    assert updated.lead_kind == ""
    event = last_audit()
    assert event.event_type == "catalog.rule_update"
    assert event.before["lead_kind"] == "street"
    assert event.after["lead_unit"] == "D01"
    assert event.after["assist_units"] == ["D02"]


def test_deleting_a_rule_audits_its_last_state(catalog, actor):
    rule = make(actor, catalog.garbage)
    before = AuditEvent.objects.count()
    rule_delete(actor=actor, rule=rule)
    assert not ResponsibilityRule.objects.exists()
    assert AuditEvent.objects.count() == before + 1
    assert last_audit().before["reply_within"] == 10
