"""Catalog selectors: the most specific rule, the lead unit, item and knowledge search."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog.choices import HandlingLevel
from catalog.selectors import item_search, knowledge_search, resolve_lead_unit, rule_for
from catalog.services import item_create, item_deactivate, knowledge_create, rule_create
from orgs.choices import UnitKind

pytestmark = pytest.mark.django_db


def rule(actor, item, *, area=None, lead_kind=UnitKind.STREET, lead_unit=None, level=HandlingLevel.STREET):
    return rule_create(
        actor=actor,
        item=item,
        area=area,
        lead_kind="" if lead_unit else lead_kind,
        lead_unit=lead_unit,
        handling_level=level,
        accept_within=1,
        contact_within=1,
        reply_within=10,
    )


def test_the_nearest_area_rule_wins_over_the_citywide_rule(catalog, actor, tree):
    citywide = rule(actor, catalog.garbage)
    district_rule = rule(actor, catalog.garbage, area=tree.district)
    street_rule = rule(actor, catalog.garbage, area=tree.street)
    assert rule_for(catalog.garbage, tree.grid) == street_rule
    assert rule_for(catalog.garbage, tree.community) == street_rule
    assert rule_for(catalog.garbage, tree.street) == street_rule
    assert rule_for(catalog.garbage, tree.other_street) == district_rule
    assert rule_for(catalog.garbage, tree.city) == citywide
    assert rule_for(catalog.garbage, None) == citywide


def test_without_a_citywide_rule_an_area_outside_every_rule_gets_none(catalog, actor, tree):
    rule(actor, catalog.garbage, area=tree.street)
    assert rule_for(catalog.garbage, tree.other_street) is None
    assert rule_for(catalog.noise, tree.street) is None


def test_a_lead_kind_resolves_to_the_ancestor_of_that_kind(catalog, actor, tree):
    street_led = rule(actor, catalog.garbage)
    assert resolve_lead_unit(street_led, tree.grid) == tree.street
    assert resolve_lead_unit(street_led, tree.street) == tree.street
    # The district alone does not say which street: the dispatcher decides.
    assert resolve_lead_unit(street_led, tree.district) is None
    assert resolve_lead_unit(street_led, None) is None
    community_led = rule(actor, catalog.noise, lead_kind=UnitKind.COMMUNITY, level=HandlingLevel.COMMUNITY)
    assert resolve_lead_unit(community_led, tree.grid) == tree.community


def test_a_named_lead_unit_is_that_unit(catalog, actor, tree):
    named = rule(actor, catalog.garbage, lead_unit=tree.water, level=HandlingLevel.CITY)
    assert resolve_lead_unit(named, tree.grid) == tree.water
    assert resolve_lead_unit(named, None) == tree.water


@pytest.mark.parametrize(
    "query",
    ["垃圾", "垃圾分类", "ljfl", "LJFL", "lajifenlei", "laji fenlei", "fenlei", "010101", "分类投放", "fltf"],
)
def test_item_search_finds_by_name_keyword_code_and_pinyin(catalog, query):
    assert catalog.garbage in item_search(query)


def test_item_search_does_not_match_unrelated_items_or_span_keywords(catalog):
    assert item_search("ljfl") == [catalog.garbage]
    assert item_search("zaoyin") == [catalog.noise]
    assert item_search("xyz") == []
    assert item_search("  ") == []


def test_item_search_ranks_name_prefix_before_keyword_matches(catalog, actor):
    other = item_create(actor=actor, code="010103", name="占道经营", subcategory=catalog.sub, keywords="施工")
    results = item_search("施工")
    assert results[:2] == [catalog.noise, other]


def test_item_search_skips_inactive_items(catalog, actor):
    item_deactivate(actor=actor, item=catalog.garbage)
    assert item_search("ljfl") == []
    assert item_search("ljfl", active_only=False) == [catalog.garbage]


def test_knowledge_search_returns_only_answers_valid_today(catalog, actor):
    current = knowledge_create(
        actor=actor,
        question="垃圾分类有哪几类？",
        answer="分为四类。",
        keywords="垃圾",
        valid_from=dt.date(2025, 1, 1),
        valid_until=dt.date(2025, 12, 31),
    )
    future = knowledge_create(
        actor=actor,
        question="新规何时施行？",
        answer="垃圾分类新规明年起施行。",
        valid_from=dt.date(2026, 1, 1),
    )
    open_ended = knowledge_create(actor=actor, question="大件垃圾怎么扔？", answer="预约清运。")
    # Question matches first (then in creation order), answer-only matches after them.
    assert knowledge_search("垃圾", dt.date(2025, 6, 1)) == [current, open_ended]
    assert knowledge_search("垃圾", dt.date(2026, 6, 1)) == [open_ended, future]
    assert knowledge_search("垃圾", dt.date(2024, 6, 1)) == [open_ended]
    # Last valid day is included.
    assert current in knowledge_search("四类", dt.date(2025, 12, 31))


def test_knowledge_search_needs_every_word_and_ranks_question_matches_first(actor):
    in_answer = knowledge_create(
        actor=actor, question="如何办理居住证？", answer="可在社区服务站办理，需提供租房合同。"
    )
    in_question = knowledge_create(actor=actor, question="租房合同如何备案？", answer="到街道办理。")
    today = dt.date(2025, 6, 1)
    assert knowledge_search("租房合同", today) == [in_question, in_answer]
    assert knowledge_search("租房合同 居住证", today) == [in_answer]
    assert knowledge_search("", today) == []
