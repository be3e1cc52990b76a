"""Knowledge-base services: validity dates, unique questions, audit rows."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog.models import KnowledgeAnswer
from catalog.services import CatalogError, knowledge_create, knowledge_delete, knowledge_update
from catalog.tests.utils import last_audit
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_an_answer_is_created_with_normalized_keywords_and_one_audit_row(catalog, actor):
    before = AuditEvent.objects.count()
    answer = knowledge_create(
        actor=actor,
        question="垃圾分类有哪几类？",
        answer="一般分为可回收物、有害垃圾、厨余垃圾和其他垃圾。",
        keywords="垃圾 分类;垃圾",
        item=catalog.garbage,
        valid_from=dt.date(2025, 1, 1),
    )
    assert answer.keywords == "垃圾，分类"
    assert AuditEvent.objects.count() == before + 1
    assert last_audit().after["item"] == "010101"


def test_validity_dates_must_be_ordered(actor):
    with pytest.raises(CatalogError, match="失效日期不能早于生效日期"):
        knowledge_create(
            actor=actor,
            question="问",
            answer="答",
            valid_from=dt.date(2025, 2, 1),
            valid_until=dt.date(2025, 1, 31),
        )
    assert not KnowledgeAnswer.objects.exists()


def test_questions_are_unique_and_answers_required(actor):
    knowledge_create(actor=actor, question="怎么办？", answer="这样办。")
    with pytest.raises(CatalogError) as info:
        knowledge_create(actor=actor, question=" 怎么办？ ", answer=" ")
    found = [m for _f, m in info.value.problems]
    assert "知识库中已有相同的问题" in found
    assert "答复不能为空" in found


def test_update_and_delete_are_audited(actor):
    answer = knowledge_create(actor=actor, question="怎么办？", answer="这样办。")
    knowledge_update(actor=actor, knowledge=answer, question="怎么办？", answer="那样办。")
    event = last_audit()
    assert (event.before["answer"], event.after["answer"]) == ("这样办。", "那样办。")
    knowledge_delete(actor=actor, knowledge=answer)
    assert last_audit().event_type == "catalog.knowledge_delete"
    assert not KnowledgeAnswer.objects.exists()
