"""Offline evaluation of the serving classifier against the pinned baseline (issue 6).

``evaluate(train_rows, test_rows=None, label_column="category")`` scores
``insight.classifier.TextClassifier`` — the very pipeline the services train and serve — and the
pinned baseline in the same run on the same splits:

- with a test file: fit on the training rows, score on the test rows;
- without: ``StratifiedKFold(5, shuffle=True, random_state=0)`` over the training rows, each
  fold's model fitted on the other four folds only (the classifier's only fitted setting, its
  confidence temperature, comes from its own training data, so nothing is tuned on a test fold).

Baseline: text = title + "。" + body; ``TfidfVectorizer(analyzer="char", ngram_range=(1, 3),
sublinear_tf=True, min_df=2)`` + ``LinearSVC(C=1)``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.utils.translation import gettext as _
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from insight.classifier import Document, TextClassifier

FOLDS = 5


class EvaluationError(ValueError):
    """A file that cannot be evaluated; the message is Chinese."""


@dataclass(frozen=True)
class Row:
    title: str
    body: str
    label: str


def read_rows(path: str | Path, *, label_column: str) -> list[Row]:
    """Rows of a labelled CSV (UTF-8, with or without BOM) with columns title, body, ``label_column``."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(_("文件不存在：%(p)s") % {"p": path})
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        missing = [c for c in ("title", "body", label_column) if c not in columns]
        if missing:
            raise EvaluationError(_("%(p)s 缺少列：%(c)s") % {"p": path.name, "c": "、".join(missing)})
        rows = [
            Row(
                title=(r["title"] or "").strip(),
                body=(r["body"] or "").strip(),
                label=(r[label_column] or "").strip(),
            )
            for r in reader
        ]
    rows = [r for r in rows if r.label and (r.title or r.body)]
    if not rows:
        raise EvaluationError(_("%(p)s 中没有带标签的文本。") % {"p": path.name})
    return rows


def baseline_pipeline() -> object:
    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2),
        LinearSVC(C=1),
    )


def baseline_text(row: Row) -> str:
    return row.title + "。" + row.body


@dataclass(frozen=True)
class EvaluationReport:
    mode: str  # "cv" or "holdout"
    labels: list[str]
    truth: list[str]
    predicted: list[str]
    baseline_predicted: list[str]

    @property
    def macro_f1(self) -> float:
        return float(
            f1_score(self.truth, self.predicted, labels=self.labels, average="macro", zero_division=0)
        )

    @property
    def accuracy(self) -> float:
        return float(accuracy_score(self.truth, self.predicted))

    @property
    def baseline_macro_f1(self) -> float:
        return float(
            f1_score(
                self.truth, self.baseline_predicted, labels=self.labels, average="macro", zero_division=0
            )
        )

    def per_class_table(self) -> str:
        return str(
            classification_report(self.truth, self.predicted, labels=self.labels, digits=3, zero_division=0)
        )

    def confusion_table(self) -> str:
        matrix = confusion_matrix(self.truth, self.predicted, labels=self.labels)
        width = max(6, *(len(str(v)) for v in matrix.ravel()))
        lines = [_("混淆矩阵（行：真实类别，列：预测类别）：")]
        lines += [f"  [{i}] {label}" for i, label in enumerate(self.labels)]
        lines.append(" " * 6 + "".join(f"{f'[{i}]':>{width}}" for i in range(len(self.labels))))
        for i, row in enumerate(matrix):
            lines.append(f"{f'[{i}]':>6}" + "".join(f"{v:>{width}}" for v in row))
        return "\n".join(lines)

    def final_line(self) -> str:
        return (
            f"macro_f1={self.macro_f1:.3f} accuracy={self.accuracy:.3f} "
            f"baseline_macro_f1={self.baseline_macro_f1:.3f}"
        )


def _fit_predict(train: Sequence[Row], test: Sequence[Row]) -> tuple[list[str], list[str]]:
    model = TextClassifier().fit([Document(r.title, r.body) for r in train], [r.label for r in train])
    ours = model.predict_labels([Document(r.title, r.body) for r in test])
    baseline = baseline_pipeline()
    baseline.fit([baseline_text(r) for r in train], [r.label for r in train])  # type: ignore[attr-defined]
    theirs = [str(v) for v in baseline.predict([baseline_text(r) for r in test])]  # type: ignore[attr-defined]
    return ours, theirs


def evaluate(train_rows: Sequence[Row], test_rows: Sequence[Row] | None = None) -> EvaluationReport:
    if test_rows is not None:
        ours, theirs = _fit_predict(train_rows, test_rows)
        truth = [r.label for r in test_rows]
        labels = sorted({*truth, *(r.label for r in train_rows)})
        return EvaluationReport("holdout", labels, truth, ours, theirs)
    y = np.asarray([r.label for r in train_rows])
    _labels, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        raise EvaluationError(_("交叉验证至少需要两个类别。"))
    if counts.min() < FOLDS:
        raise EvaluationError(_("交叉验证要求每个类别至少有%(n)d条样本。") % {"n": FOLDS})
    ours_all = np.empty(len(y), dtype=object)
    theirs_all = np.empty(len(y), dtype=object)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    for train_idx, test_idx in folds.split(np.zeros(len(y)), y):
        ours, theirs = _fit_predict([train_rows[i] for i in train_idx], [train_rows[i] for i in test_idx])
        ours_all[test_idx] = ours
        theirs_all[test_idx] = theirs
    return EvaluationReport(
        "cv",
        sorted(set(y.tolist())),
        y.tolist(),
        [str(v) for v in ours_all],
        [str(v) for v in theirs_all],
    )
