"""Smoke test of the classification benchmark: a tiny corpus, both classifiers, figures printed."""

from __future__ import annotations

from bench.bench_classify import Item, KeywordRules, corpus, load_items, main
from insight.classifier import Document


def test_the_synthetic_corpus_covers_the_demo_catalog_and_is_reproducible():
    items = load_items()
    assert len(items) == 235
    docs, labels = corpus(300, seed=1, items=items)
    again, again_labels = corpus(300, seed=1, items=items)
    assert docs == again and labels == again_labels
    assert len(set(labels)) > 20
    assert all(d.title and d.body for d in docs)


def test_the_keyword_rules_pick_the_item_with_most_hits():
    items = [
        Item("A", "路灯不亮", ("路灯", "照明"), "市政", ()),
        Item("B", "施工噪音", ("施工", "噪音"), "环境", ()),
    ]
    rules = KeywordRules(items, default="B")
    assert rules.predict(Document("路灯不亮", "晚上照明没有")) == "A"
    assert rules.predict(Document("", "工地施工噪音很大")) == "B"
    assert rules.predict(Document("", "与此无关")) == "B"  # the default


def test_the_benchmark_runs_and_prints_both_classifiers(capsys):
    result = main(["--train", "400", "--test", "40", "--seed", "3"])
    assert result.train_orders == 400
    assert result.test_orders == 40
    assert result.p50_ms > 0 and result.rules_p50_ms > 0
    assert 0.0 <= result.accuracy <= 1.0
    assert result.model_bytes > 0
    out = capsys.readouterr().out
    assert "keyword rules" in out
    assert "p99 ratio" in out
