"""The text classifier itself (no database): fit, predict, top 3, confidence, persistence."""

from __future__ import annotations

import pytest

from insight.classifier import Document, Example, TextClassifier, clean_text
from insight.tests.texts import corpus


@pytest.fixture(scope="module")
def trained():
    docs, labels = corpus()
    return TextClassifier().fit(docs, labels)


def test_a_new_text_gets_the_label_of_its_kind(trained):
    assert trained.predict(Document("路灯坏了", "我家楼下的路灯一直不亮")).label == "lights"
    assert trained.predict(Document("", "工地晚上施工，吵得睡不着觉")).label == "noise"
    assert trained.predict(Document("垃圾", "垃圾好几天没人收了")).label == "garbage"


def test_a_prediction_carries_a_confidence_and_the_top_three(trained):
    prediction = trained.predict(Document("路灯不亮", "路口的路灯晚上不亮"))
    assert prediction.alternatives[0].label == prediction.label
    assert prediction.alternatives[0].confidence == prediction.confidence
    assert len(prediction.alternatives) == 3
    confidences = [a.confidence for a in prediction.alternatives]
    assert confidences == sorted(confidences, reverse=True)
    assert 0.0 < prediction.confidence <= 1.0
    assert sum(confidences) == pytest.approx(1.0, abs=1e-3)
    assert prediction.confidence > 0.5


def test_top_k_limits_the_alternatives(trained):
    assert len(trained.predict(Document("", "路灯不亮"), top_k=1).alternatives) == 1


def test_the_temperature_is_fitted_on_a_hold_out_of_the_training_data(trained):
    assert trained.holdout_metrics["documents"] >= 3
    assert 0.0 <= trained.holdout_metrics["accuracy"] <= 1.0
    assert trained.temperature == trained.holdout_metrics["temperature"]


def test_with_more_labels_than_the_shortlist_only_shortlisted_labels_are_scored():
    docs, labels = corpus()
    model = TextClassifier(shortlist=2).fit(docs, labels)
    scores = model.decision_scores([Document("", "路灯不亮")])
    assert (scores[0] == float("-inf")).sum() == 1  # three labels, two shortlisted
    assert model.predict(Document("", "路灯晚上不亮很黑")).label == "lights"
    assert model.predict(Document("", "工地夜间施工噪音")).label == "noise"


def test_two_labels_work_like_any_other_count():
    docs, labels = corpus()
    keep = [i for i, label in enumerate(labels) if label != "noise"]
    model = TextClassifier().fit([docs[i] for i in keep], [labels[i] for i in keep])
    prediction = model.predict(Document("", "垃圾站的垃圾没人清运"))
    assert prediction.label == "garbage"
    assert len(prediction.alternatives) == 2


def test_a_single_label_is_always_predicted_with_full_confidence():
    model = TextClassifier().fit([Document("路灯", "路灯坏了")], ["lights"])
    prediction = model.predict(Document("", "随便什么"))
    assert prediction.label == "lights"
    assert prediction.confidence == 1.0


def test_fit_examples_is_fit_on_pairs():
    docs, labels = corpus()
    model = TextClassifier(calibrate=False).fit_examples(
        [Example(d, lab) for d, lab in zip(docs, labels, strict=True)]
    )
    assert model.labels == ["garbage", "lights", "noise"]


def test_a_saved_model_predicts_the_same_after_loading(trained):
    loaded = TextClassifier.from_bytes(trained.to_bytes())
    doc = Document("夜间施工", "工地凌晨施工噪音扰民")
    assert loaded.predict(doc) == trained.predict(doc)


def test_foreign_bytes_are_refused():
    with pytest.raises(ValueError):
        TextClassifier.from_bytes(b"not a model at all")


@pytest.mark.parametrize(
    ("docs", "labels"),
    [([], []), ([Document("a", "b")], ["x", "y"])],
)
def test_fit_refuses_nothing_or_mismatched_input(docs, labels):
    with pytest.raises(ValueError):
        TextClassifier().fit(docs, labels)


def test_an_untrained_classifier_refuses_to_predict():
    with pytest.raises(RuntimeError):
        TextClassifier().predict(Document("", "路灯"))


def test_cleaning_drops_numbers_and_makes_full_width_half_width():
    assert clean_text("３号楼  电话13812345678 Ａ座") == "号楼 电话 A座"


def test_the_single_document_path_gives_the_batch_answer(trained):
    docs, _labels = corpus()
    extra = [Document("", "没有任何已知的字词"), Document("", ""), Document("路灯", "")]
    for doc in [*docs, *extra]:
        one, batch = trained.predict(doc), trained.predict_many([doc])[0]
        assert one.label == batch.label
        assert [a.label for a in one.alternatives] == [a.label for a in batch.alternatives]
        assert one.confidence == pytest.approx(batch.confidence, abs=1e-3)


def test_the_single_document_path_works_with_a_shortlist_and_after_loading():
    docs, labels = corpus()
    model = TextClassifier(shortlist=2).fit(docs, labels)
    loaded = TextClassifier.from_bytes(model.to_bytes())
    for doc in docs:
        assert loaded.predict(doc).label == model.predict_many([doc])[0].label
