"""Catalog services: three levels, one audit row per change, Chinese refusals."""

from __future__ import annotations

import pytest

from catalog.models import CatalogItem, Category
from catalog.services import (
    CatalogError,
    category_activate,
    category_create,
    category_deactivate,
    category_update,
    item_activate,
    item_create,
    item_deactivate,
    item_update,
)
from catalog.tests.utils import last_audit
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def audit_count() -> int:
    return AuditEvent.objects.count()


def test_creating_a_category_audits_once_with_its_snapshot(actor):
    before = audit_count()
    top = category_create(actor=actor, code="01", name=" 城市管理 ", keywords="市容、环卫 市容")
    assert audit_count() == before + 1
    event = last_audit()
    assert event.event_type == "catalog.category_create"
    assert event.object_type == "catalog.Category"
    assert event.after["name"] == "城市管理"
    assert top.keywords == "市容，环卫"
    assert top.level == 1


def test_a_subcategory_under_a_subcategory_is_refused(catalog, actor):
    with pytest.raises(CatalogError) as info:
        category_create(actor=actor, code="010101", name="再下一级", parent=catalog.sub)
    assert "只能在大类下建小类" in str(info.value)
    assert not Category.objects.filter(code="010101").exists()


def test_an_item_under_a_level_one_category_is_refused(catalog, actor):
    before = audit_count()
    with pytest.raises(CatalogError) as info:
        item_create(actor=actor, code="019999", name="错放的事项", subcategory=catalog.top)
    assert "事项只能建在小类下" in str(info.value)
    assert audit_count() == before


def test_duplicate_codes_and_empty_names_are_refused(catalog, actor):
    with pytest.raises(CatalogError) as info:
        category_create(actor=actor, code="01", name="")
    messages = [m for _f, m in info.value.problems]
    assert "分类编码「01」已存在" in messages
    assert "名称不能为空" in messages
    with pytest.raises(CatalogError, match="事项编码「010101」已存在"):
        item_create(actor=actor, code="010101", name="重复", subcategory=catalog.sub)
    with pytest.raises(CatalogError, match="只能包含"):
        item_create(actor=actor, code="01 01", name="空格", subcategory=catalog.sub)


def test_updating_an_item_records_before_and_after_and_reindexes_pinyin(catalog, actor):
    item = item_update(
        actor=actor,
        item=catalog.noise,
        code="010102",
        name="噪声扰民",
        subcategory=catalog.sub,
        keywords="广场舞",
    )
    event = last_audit()
    assert event.event_type == "catalog.item_update"
    assert event.before["name"] == "施工噪音"
    assert event.after["name"] == "噪声扰民"
    assert "zaoshengraomin" in item.search_pinyin
    assert "gcw" in item.search_pinyin
    assert "sgzy" not in item.search_pinyin


def test_a_level_one_category_with_children_cannot_become_a_subcategory(catalog, actor):
    other = category_create(actor=actor, code="02", name="生态环境")
    with pytest.raises(CatalogError, match="下还有小类"):
        category_update(actor=actor, category=catalog.top, code="01", name="城市管理", parent=other)
    with pytest.raises(CatalogError, match="下还有事项"):
        category_update(actor=actor, category=catalog.sub, code="0101", name="环境卫生", parent=None)
    moved = category_update(actor=actor, category=catalog.sub, code="0101", name="环境卫生", parent=other)
    assert moved.parent == other


def test_deactivating_a_category_deactivates_its_subtree_in_one_audit_row(catalog, actor):
    before = audit_count()
    category_deactivate(actor=actor, category=catalog.top)
    assert audit_count() == before + 1
    event = last_audit()
    assert event.extra == {"categories_deactivated": 2, "items_deactivated": 2}
    assert not CatalogItem.objects.filter(is_active=True).exists()
    assert not Category.objects.filter(is_active=True).exists()


def test_activation_is_refused_while_the_parent_is_inactive(catalog, actor):
    category_deactivate(actor=actor, category=catalog.top)
    with pytest.raises(CatalogError, match="请先启用大类"):
        category_activate(actor=actor, category=catalog.sub)
    with pytest.raises(CatalogError, match="请先启用小类"):
        item_activate(actor=actor, item=catalog.garbage)
    category_activate(actor=actor, category=catalog.top)
    category_activate(actor=actor, category=catalog.sub)
    assert item_activate(actor=actor, item=catalog.garbage).is_active


def test_item_deactivate_writes_one_row(catalog, actor):
    before = audit_count()
    item = item_deactivate(actor=actor, item=catalog.garbage)
    assert not item.is_active
    assert audit_count() == before + 1
    assert last_audit().before["is_active"] is True
