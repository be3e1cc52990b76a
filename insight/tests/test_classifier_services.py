"""Training, storing, activating and serving classifier versions; cold start; suggestions."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import override_settings

from catalog.choices import HandlingLevel
from catalog.services import category_create, item_create, knowledge_create, rule_create
from core.models import AuditEvent
from core.models.user import AdminRole
from insight import selectors
from insight.choices import ClassifierTarget, TrainingSource
from insight.classifier import Document, Example
from insight.models import ClassifierModel
from insight.selectors import (
    ModelIntegrityError,
    active_classifier,
    classifier_cache_clear,
    classifier_versions,
    cold_start_examples,
    load_classifier,
    suggestions_for_text,
)
from insight.services import TrainingError, classifier_activate, classifier_train
from insight.tests.texts import GARBAGE, LIGHTS, NOISE
from orgs.choices import UnitKind
from orgs.services import unit_create
from orgs.tests.factories import UserFactory

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_cache():
    classifier_cache_clear()
    yield
    classifier_cache_clear()


@pytest.fixture
def city_catalog(tree):
    """Three items with keywords and rules (one led by a named department, two by the street)."""
    top = category_create(actor=None, code="01", name="城市管理", keywords="城管")
    sub = category_create(actor=None, code="0101", name="市容环卫", parent=top)
    garbage = item_create(
        actor=None, code="010101", name="生活垃圾清运不及时", subcategory=sub, keywords="垃圾，清运，垃圾站"
    )
    lights = item_create(
        actor=None, code="010102", name="路灯不亮", subcategory=sub, keywords="路灯，照明，灯不亮"
    )
    noise = item_create(
        actor=None, code="010103", name="夜间施工噪音", subcategory=sub, keywords="施工，噪音，工地，扰民"
    )
    lights_dept = unit_create(
        actor=None, code="D9", name="市路灯管理处", kind=UnitKind.DEPARTMENT, parent=tree.city
    )
    limits: dict[str, Any] = {"accept_within": 1, "contact_within": 1, "reply_within": 5}
    rule_create(actor=None, item=lights, handling_level=HandlingLevel.CITY, lead_unit=lights_dept, **limits)
    rule_create(
        actor=None, item=garbage, handling_level=HandlingLevel.STREET, lead_kind=UnitKind.STREET, **limits
    )
    rule_create(
        actor=None, item=noise, handling_level=HandlingLevel.STREET, lead_kind=UnitKind.STREET, **limits
    )
    knowledge_create(
        actor=None,
        question="楼下垃圾多日无人清运怎么办？",
        answer="可先联系物业或社区，仍未处理的由属地街道组织清运。",
        keywords="垃圾，清运",
        item=garbage,
    )
    return SimpleNamespace(garbage=garbage, lights=lights, noise=noise, lights_dept=lights_dept, tree=tree)


def _order_examples():
    out = []
    for code, rows in (("010101", GARBAGE), ("010102", LIGHTS), ("010103", NOISE)):
        out += [Example(Document(title, body), code) for title, body in rows]
    return out


def test_cold_start_examples_come_from_items_keywords_and_knowledge(city_catalog):
    examples = cold_start_examples()
    labels = {e.label for e in examples}
    assert labels == {"010101", "010102", "010103"}
    assert any(e.document.title == "楼下垃圾多日无人清运怎么办？" and e.label == "010101" for e in examples)
    assert any(e.document.title == "照明" and e.label == "010102" for e in examples)


def test_a_fresh_city_gets_suggestions_before_any_order_closed(city_catalog):
    model = classifier_train(
        actor=None, target=ClassifierTarget.ITEM, examples=[], now=NOW, source=TrainingSource.COLD_START
    )
    assert model.version == 1
    assert model.is_active
    assert model.metrics["order_examples"] == 0
    suggestions = suggestions_for_text(
        title="路灯坏了", body="我家楼下的路灯晚上不亮，很黑", area_unit=city_catalog.tree.grid
    )
    assert suggestions.item_model_version == 1
    assert suggestions.best_item is not None
    assert suggestions.best_item.item == city_catalog.lights
    assert len(suggestions.items) == 3
    # No unit model yet: the unit comes from the responsibility rule of the suggested item.
    assert suggestions.best_unit is not None
    assert suggestions.best_unit.unit == city_catalog.lights_dept
    assert suggestions.best_unit.via == "rule"
    street_led = suggestions_for_text(title="", body="工地半夜施工噪音扰民", area_unit=city_catalog.tree.grid)
    assert street_led.best_item is not None and street_led.best_item.item == city_catalog.noise
    assert street_led.best_unit is not None and street_led.best_unit.unit == city_catalog.tree.street


def test_without_any_model_there_are_no_suggestions(city_catalog):
    suggestions = suggestions_for_text(title="路灯", body="路灯不亮")
    assert suggestions.items == ()
    assert suggestions.units == ()
    assert suggestions.item_model_version is None


def test_training_on_closed_orders_adds_a_version_and_keeps_the_cold_start(city_catalog):
    first = classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=[], now=NOW)
    second = classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=_order_examples(), now=NOW)
    first.refresh_from_db()
    assert (first.version, second.version) == (1, 2)
    assert not first.is_active and second.is_active
    assert second.metrics["order_examples"] == 30
    assert second.metrics["cold_start_examples"] == len(cold_start_examples())
    assert second.metrics["holdout"]["documents"] > 0
    assert second.n_labels == 3
    assert active_classifier(ClassifierTarget.ITEM).version == 2  # type: ignore[union-attr]


def test_a_dispatchers_override_is_learned_at_the_next_training(city_catalog):
    """Orders feed their final item; an override simply is the final label."""
    text = Document("工地照明灯太亮", "工地晚上的大灯照进卧室，刺眼睡不着")
    classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=_order_examples(), now=NOW)
    before = active_classifier(ClassifierTarget.ITEM)
    assert before is not None
    overrides = [Example(Document("工地照明灯太亮", f"工地大灯照进卧室{i}次"), "010103") for i in range(8)]
    classifier_train(
        actor=None, target=ClassifierTarget.ITEM, examples=_order_examples() + overrides, now=NOW
    )
    after = active_classifier(ClassifierTarget.ITEM)
    assert after is not None and after.version == before.version + 1
    assert after.classifier.predict(text).label == "010103"
    assert (
        after.classifier.predict(text).confidence
        > before.classifier.predict(text).alternatives[0].confidence - 1
    )


def test_the_training_window_keeps_the_newest_examples(city_catalog):
    examples = _order_examples()
    model = classifier_train(
        actor=None, target=ClassifierTarget.ITEM, examples=examples, now=NOW, max_examples=10
    )
    assert model.metrics["order_examples"] == 10  # the last ten: all noise orders
    assert model.n_examples == 10 + len(cold_start_examples())


@override_settings(INSIGHT_TRAINING_CAP=5)
def test_the_window_cap_comes_from_settings(city_catalog):
    model = classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=_order_examples(), now=NOW)
    assert model.metrics["order_examples"] == 5


def test_a_unit_model_is_trained_from_orders_only_and_then_suggests_units(city_catalog):
    tree = city_catalog.tree
    with pytest.raises(TrainingError):
        classifier_train(actor=None, target=ClassifierTarget.UNIT, examples=[], now=NOW)
    examples = [
        Example(e.document, tree.department.code if e.label == "010103" else tree.street.code)
        for e in _order_examples()
    ]
    classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=[], now=NOW)
    unit_model = classifier_train(actor=None, target=ClassifierTarget.UNIT, examples=examples, now=NOW)
    assert unit_model.n_labels == 2
    assert unit_model.metrics["cold_start_examples"] == 0
    suggestions = suggestions_for_text(title="", body="工地夜里施工噪声太大")
    assert suggestions.unit_model_version == 1
    assert suggestions.best_unit is not None
    assert suggestions.best_unit.unit == tree.department
    assert suggestions.best_unit.via == "model"


def test_empty_examples_are_dropped(city_catalog):
    model = classifier_train(
        actor=None,
        target=ClassifierTarget.ITEM,
        examples=[Example(Document("", "  "), "010101"), Example(Document("路灯", "不亮"), "")],
        now=NOW,
    )
    assert model.metrics["dropped_empty"] == 2
    assert model.metrics["order_examples"] == 0


def test_training_is_audited_and_the_stored_bytes_are_checked(city_catalog):
    model = classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=[], now=NOW)
    event = AuditEvent.objects.filter(event_type="insight.classifier_train").get()
    assert event.object_id == str(model.pk)
    after: Any = event.after
    assert after["version"] == 1
    assert model.size_bytes == len(bytes(model.blob))
    ClassifierModel.objects.filter(pk=model.pk).update(blob=bytes(model.blob)[:-10] + b"0123456789")
    model.refresh_from_db()
    with pytest.raises(ModelIntegrityError):
        load_classifier(model)


def test_activating_an_older_version_rolls_back(city_catalog):
    first = classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=[], now=NOW)
    classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=_order_examples(), now=NOW)
    assert active_classifier(ClassifierTarget.ITEM).version == 2  # type: ignore[union-attr]
    classifier_activate(actor=None, model=first, now=NOW)
    classifier_cache_clear()  # on_commit does not run inside the test transaction
    assert active_classifier(ClassifierTarget.ITEM).version == 1  # type: ignore[union-attr]
    assert [m.version for m in classifier_versions(ClassifierTarget.ITEM) if m.is_active] == [1]
    assert AuditEvent.objects.filter(event_type="insight.classifier_activate").count() == 1
    classifier_activate(actor=None, model=first, now=NOW)  # already active: nothing recorded
    assert AuditEvent.objects.filter(event_type="insight.classifier_activate").count() == 1


def test_only_the_system_administrator_trains_or_activates(city_catalog):
    handler = UserFactory.create()
    with pytest.raises(PermissionDenied):
        classifier_train(actor=handler, target=ClassifierTarget.ITEM, examples=[], now=NOW)
    admin = UserFactory.create(admin_role=AdminRole.SYSTEM, is_staff=True)
    model = classifier_train(actor=admin, target=ClassifierTarget.ITEM, examples=[], now=NOW)
    assert model.created_by == admin
    with pytest.raises(PermissionDenied):
        classifier_activate(actor=handler, model=model, now=NOW)
    assert ClassifierModel.objects.count() == 1


def test_the_serving_model_is_loaded_once_per_process(city_catalog, django_assert_num_queries):
    classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=[], now=NOW)
    first = active_classifier(ClassifierTarget.ITEM)
    with django_assert_num_queries(0):  # inside the check interval: no query, no loading
        again = active_classifier(ClassifierTarget.ITEM)
    assert again is first


@override_settings(INSIGHT_MODEL_CHECK_SECONDS=0)
def test_a_new_version_is_picked_up_after_the_check_interval(city_catalog):
    classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=[], now=NOW)
    first = active_classifier(ClassifierTarget.ITEM)
    assert first is not None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(selectors, "classifier_cache_clear", lambda: None)  # as if another process trained
        classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=_order_examples(), now=NOW)
    again = active_classifier(ClassifierTarget.ITEM)
    assert again is not None and again.version == first.version + 1


def test_a_retired_item_is_never_suggested(city_catalog):
    from catalog.services import item_deactivate

    classifier_train(actor=None, target=ClassifierTarget.ITEM, examples=[], now=NOW)
    item_deactivate(actor=None, item=city_catalog.lights)
    suggestions = suggestions_for_text(title="路灯坏了", body="路灯晚上不亮")
    assert city_catalog.lights not in [s.item for s in suggestions.items]


def test_the_train_classifier_command_trains_a_cold_start_version(city_catalog):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("train_classifier", "--dry-run", stdout=out)
    assert "nothing stored" in out.getvalue()
    assert not ClassifierModel.objects.exists()
    call_command("train_classifier", stdout=out)
    model = ClassifierModel.objects.get()
    assert model.source == TrainingSource.COLD_START
    assert model.is_active
    assert "item classifier v1" in out.getvalue()


def test_the_train_classifier_command_refuses_an_empty_catalog(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError):
        call_command("train_classifier")
    with pytest.raises(CommandError):
        call_command("train_classifier", "--dry-run")
