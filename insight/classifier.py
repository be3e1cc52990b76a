"""The text classifier that serves orders: free text (title + body) → label, confidence, top 3.

Labels are plain strings: the insight services train one model per target, with catalog item
codes or unit codes as labels (``insight.services``). This module knows nothing of the database;
``evaluate_classifier`` and the benchmark use it exactly as the services do.

The pipeline (measured in ``insight/README.md``)
-----------------------------------------------
1. **Text.** NFKC (full-width → half-width), digit runs removed (house, phone and case numbers
   name no problem), whitespace collapsed.
2. **Features.** Character 1–3-gram TF-IDF (sublinear tf) over ``title + "。" + body``, plus a
   separate character 1–2-gram TF-IDF over the title alone, weighted ``title_weight`` (0.5): a
   resident's title names the problem, the body tells the story. Character n-grams need no
   segmenter and tolerate typos. ``min_df`` is 2 once there are ``MIN_DF_FROM`` documents and 1
   before (a cold-start set has one document per item, whose words must survive).
3. **Learner.** One-vs-rest linear SVMs (``LinearSVC``, C=1, balanced class weights). With more
   labels than ``shortlist`` (the catalog has 235 items) training every label against every
   document is quadratic work, so a shortlist stage keeps it linear: pruned class centroids
   (cosine) pick the ``shortlist`` likeliest labels of a document, and each label's SVM is trained
   on its own documents against the documents that shortlisted it (its confusable neighbours).
   Prediction scores only the shortlisted labels. With few labels (the 7 first-level categories
   of the evaluation set) every SVM sees every document, i.e. plain one-vs-rest.
4. **Confidence.** ``softmax(temperature × scores)`` over the scored labels. The temperature is
   fitted (minimum log-loss on a grid) on a stratified hold-out of the training data scored by a
   model trained on the rest (capped at ``CALIBRATION_TRAIN_CAP`` / ``CALIBRATION_HOLDOUT_CAP``
   documents); too little data keeps ``DEFAULT_TEMPERATURE``. The hold-out's accuracy and
   macro-F1 are kept in ``holdout_metrics``. Calibration never changes which label wins.

Nothing is tuned on the data a model is evaluated on: the hyperparameters above are fixed, and
the only fitted quantity besides the weights (the temperature) comes from the training data.
"""

from __future__ import annotations

import io
import math
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

FORMAT_VERSION = 1
MIN_DF_FROM = 500
DEFAULT_TEMPERATURE = 3.0
TEMPERATURE_GRID = tuple(float(t) for t in np.geomspace(0.25, 64.0, 49))
CALIBRATION_MIN_DOCS = 30
CALIBRATION_TRAIN_CAP = 20_000
CALIBRATION_HOLDOUT_CAP = 5_000
CENTROID_TERMS = 3_000
TOP_K = 3
CHUNK = 4_096
LOG_P_FLOOR = math.log(1e-6)  # a true label outside the shortlist costs this, not infinity

_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """NFKC, digit runs dropped, whitespace collapsed (step 1 of the module docstring)."""
    s = unicodedata.normalize("NFKC", text or "")
    s = _DIGITS.sub(" ", s)
    return _SPACE.sub(" ", s).strip()


@dataclass(frozen=True)
class Document:
    """What a resident wrote: a title (may be empty) and a body."""

    title: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.title}。{self.body}"


@dataclass(frozen=True)
class Example:
    """A training pair: what was written and the label it was finally handled under."""

    document: Document
    label: str


@dataclass(frozen=True)
class Alternative:
    label: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    """The best label, its confidence (0–1) and the top ``TOP_K`` labels (best first, incl. it)."""

    label: str
    confidence: float
    alternatives: tuple[Alternative, ...]


@dataclass
class _Core:
    """The learned part: label order, weights, biases, shortlist centroids.

    Matrices are stored transposed (features × labels, CSR) so that a document row times them is
    a plain sparse product with no conversion at prediction time.
    """

    labels: np.ndarray
    weights: sp.csr_matrix
    bias: np.ndarray
    centroids: sp.csr_matrix | None  # L2-normalised label centroids; None = score every label

    def __post_init__(self) -> None:
        self.weights = sp.csr_matrix(self.weights.T)
        if self.centroids is not None:
            self.centroids = sp.csr_matrix(self.centroids.T)


@dataclass
class TextClassifier:
    """Fit on (document, label) pairs; predict a label with confidence and alternatives."""

    c: float = 1.0
    title_weight: float = 0.5
    shortlist: int = 12
    max_features: int = 1 << 17
    title_max_features: int = 1 << 15
    random_state: int = 0
    calibrate: bool = True
    # learned state
    temperature: float = DEFAULT_TEMPERATURE
    holdout_metrics: dict[str, Any] = field(default_factory=dict)
    train_seconds: float = 0.0
    n_documents: int = 0
    _body_vec: TfidfVectorizer | None = field(default=None, repr=False)
    _title_vec: TfidfVectorizer | None = field(default=None, repr=False)
    _core: _Core | None = field(default=None, repr=False)

    # --- training ------------------------------------------------------------------------------

    def fit(self, documents: Sequence[Document], labels: Sequence[str]) -> TextClassifier:
        if len(documents) != len(labels):
            raise ValueError("documents and labels differ in length")
        if not documents:
            raise ValueError("nothing to train on")
        started = time.perf_counter()
        y = np.asarray([str(label) for label in labels])
        texts = [clean_text(d.text) for d in documents]
        titles = [clean_text(d.title) for d in documents]
        min_df = 2 if len(documents) >= MIN_DF_FROM else 1
        self._body_vec = TfidfVectorizer(
            analyzer="char",
            ngram_range=(1, 3),
            sublinear_tf=True,
            min_df=min_df,
            max_features=self.max_features,
            dtype=np.float32,
        )
        self._title_vec = TfidfVectorizer(
            analyzer="char",
            ngram_range=(1, 2),
            sublinear_tf=True,
            min_df=min_df,
            max_features=self.title_max_features,
            dtype=np.float32,
        )
        body = self._body_vec.fit_transform(texts)
        if any(titles):
            title = self._title_vec.fit_transform(titles)
        else:  # no titles at all: an empty title block keeps the shapes right
            self._title_vec.fit(["。"])
            title = self._title_vec.transform(titles)
        x = sp.hstack([body, title * self.title_weight], format="csr", dtype=np.float32)
        self.temperature, self.holdout_metrics = DEFAULT_TEMPERATURE, {}
        if self.calibrate:
            self._calibrate(x, y)
        self._core = self._fit_core(x, y)
        self.n_documents = len(documents)
        self.train_seconds = time.perf_counter() - started
        return self

    def _fit_core(self, x: sp.csr_matrix, y: np.ndarray) -> _Core:
        labels, codes = np.unique(y, return_inverse=True)
        n_labels, n_features = len(labels), x.shape[1]
        if n_labels == 1:
            return _Core(
                labels=labels,
                weights=sp.csr_matrix((1, n_features), dtype=np.float32),
                bias=np.zeros(1, dtype=np.float32),
                centroids=None,
            )
        if n_labels <= self.shortlist:
            svc = LinearSVC(C=self.c, class_weight="balanced", random_state=self.random_state)
            svc.fit(x, codes)
            coef = svc.coef_ if n_labels > 2 else np.vstack([-svc.coef_[0], svc.coef_[0]])
            bias = svc.intercept_ if n_labels > 2 else np.array([-svc.intercept_[0], svc.intercept_[0]])
            return _Core(
                labels=labels,
                weights=sp.csr_matrix(coef.astype(np.float32)),
                bias=np.asarray(bias, dtype=np.float32),
                centroids=None,
            )
        centroids = _centroids(x, codes, n_labels)
        centroids_t = sp.csr_matrix(centroids.T)
        shortlists = np.vstack(  # documents × shortlist label codes, in chunks to bound memory
            [_top_k(x[i : i + CHUNK] @ centroids_t, self.shortlist) for i in range(0, x.shape[0], CHUNK)]
        )
        # For each label: its own documents plus the documents that shortlisted it.
        member_rows = np.repeat(np.arange(x.shape[0]), self.shortlist)
        member_labels = shortlists.ravel()
        order = np.argsort(member_labels, kind="stable")
        member_rows, member_labels = member_rows[order], member_labels[order]
        bounds = np.searchsorted(member_labels, np.arange(n_labels + 1))
        rows_out: list[np.ndarray] = []
        cols_out: list[np.ndarray] = []
        vals_out: list[np.ndarray] = []
        bias = np.zeros(n_labels, dtype=np.float32)
        for k in range(n_labels):
            rows = np.union1d(member_rows[bounds[k] : bounds[k + 1]], np.flatnonzero(codes == k))
            target = (codes[rows] == k).astype(np.int8)
            if target.all():  # nothing confusable: any document scores high
                bias[k] = 1.0
                continue
            svc = LinearSVC(C=self.c, class_weight="balanced", random_state=self.random_state)
            sub = x[rows]
            svc.fit(sub, target)
            used = np.unique(sub.indices)  # weights off the subset's features are exactly 0
            w = svc.coef_[0][used]
            rows_out.append(np.full(len(used), k, dtype=np.int32))
            cols_out.append(used.astype(np.int32))
            vals_out.append(w.astype(np.float32))
            bias[k] = float(svc.intercept_[0])
        weights = sp.csr_matrix(
            (
                np.concatenate(vals_out) if vals_out else np.zeros(0, np.float32),
                (
                    np.concatenate(rows_out) if rows_out else np.zeros(0, np.int32),
                    np.concatenate(cols_out) if cols_out else np.zeros(0, np.int32),
                ),
            ),
            shape=(n_labels, n_features),
            dtype=np.float32,
        )
        weights.eliminate_zeros()
        return _Core(labels=labels, weights=weights, bias=bias, centroids=centroids)

    def _calibrate(self, x: sp.csr_matrix, y: np.ndarray) -> None:
        """Fit the temperature on a hold-out scored by a model trained on the rest."""
        labels, counts = np.unique(y, return_counts=True)
        if len(labels) < 2 or len(y) < CALIBRATION_MIN_DOCS:
            return
        # Labels seen once stay in training; the rest are split by label.
        single = np.isin(y, labels[counts < 2])
        pool = np.flatnonzero(~single)
        if len(np.unique(y[pool])) < 2:
            return
        holdout_size = min(CALIBRATION_HOLDOUT_CAP, max(len(np.unique(y[pool])), len(pool) // 5))
        try:
            train_idx, hold_idx = train_test_split(
                pool, test_size=holdout_size, stratify=y[pool], random_state=self.random_state
            )
        except ValueError:  # too few documents per label to stratify
            train_idx, hold_idx = train_test_split(
                pool, test_size=holdout_size, random_state=self.random_state
            )
        train_idx = np.concatenate([train_idx, np.flatnonzero(single)])
        if len(train_idx) > CALIBRATION_TRAIN_CAP:
            rng = np.random.default_rng(self.random_state)
            train_idx = rng.choice(train_idx, CALIBRATION_TRAIN_CAP, replace=False)
        core = self._fit_core(x[train_idx], y[train_idx])
        known = np.isin(y[hold_idx], core.labels)
        hold_idx = hold_idx[known]
        if len(hold_idx) == 0 or len(core.labels) < 2:
            return
        scores = _scores(core, x[hold_idx], self.shortlist)
        truth = np.searchsorted(core.labels, y[hold_idx])
        best_t, best_loss = DEFAULT_TEMPERATURE, math.inf
        for t in TEMPERATURE_GRID:
            log_p = _log_softmax(scores * t)[np.arange(len(truth)), truth]
            loss = float(-np.maximum(log_p, LOG_P_FLOOR).mean())
            if loss < best_loss:
                best_t, best_loss = t, loss
        predicted = core.labels[np.argmax(scores, axis=1)]
        self.temperature = best_t
        self.holdout_metrics = {
            "documents": len(hold_idx),
            "accuracy": round(float((predicted == y[hold_idx]).mean()), 4),
            "macro_f1": round(float(f1_score(y[hold_idx], predicted, average="macro")), 4),
            "log_loss": round(best_loss, 4),
            "temperature": round(best_t, 4),
        }

    def fit_examples(self, examples: Sequence[Example]) -> TextClassifier:
        return self.fit([e.document for e in examples], [e.label for e in examples])

    # --- prediction ----------------------------------------------------------------------------

    @property
    def labels(self) -> list[str]:
        return [] if self._core is None else [str(v) for v in self._core.labels]

    def _features(self, documents: Sequence[Document]) -> sp.csr_matrix:
        if self._body_vec is None or self._title_vec is None:
            raise RuntimeError("the classifier is not trained")
        body = self._body_vec.transform([clean_text(d.text) for d in documents])
        title = self._title_vec.transform([clean_text(d.title) for d in documents])
        return sp.hstack([body, title * self.title_weight], format="csr", dtype=np.float32)

    def decision_scores(self, documents: Sequence[Document]) -> np.ndarray:
        """Scores per document and label (labels order); -inf where a label was not shortlisted."""
        if self._core is None:
            raise RuntimeError("the classifier is not trained")
        return _scores(self._core, self._features(documents), self.shortlist)

    def predict_labels(self, documents: Sequence[Document]) -> list[str]:
        if self._core is None:
            raise RuntimeError("the classifier is not trained")
        scores = self.decision_scores(documents)
        return [str(v) for v in self._core.labels[np.argmax(scores, axis=1)]]

    def predict_many(self, documents: Sequence[Document], *, top_k: int = TOP_K) -> list[Prediction]:
        if self._core is None:
            raise RuntimeError("the classifier is not trained")
        return [self._prediction(row, top_k) for row in self.decision_scores(documents)]

    def _prediction(self, scores: np.ndarray, top_k: int) -> Prediction:
        assert self._core is not None
        row = np.exp(_log_softmax(scores[None, :] * self.temperature))[0]
        best = np.argsort(-row, kind="stable")[:top_k]
        alternatives = tuple(
            Alternative(label=str(self._core.labels[i]), confidence=round(float(row[i]), 4))
            for i in best
            if row[i] > 0 or i == best[0]
        )
        return Prediction(
            label=alternatives[0].label, confidence=alternatives[0].confidence, alternatives=alternatives
        )

    def predict(self, document: Document, *, top_k: int = TOP_K) -> Prediction:
        """One document on the synchronous path: the same numbers as ``predict_many``, computed
        on the document's non-zero features only (no sparse-matrix machinery per call)."""
        if self._core is None:
            raise RuntimeError("the classifier is not trained")
        return self._prediction(self._single_scores(document), top_k)

    def _fast_parts(self) -> list[tuple[Any, dict[str, int], np.ndarray, int, float, bool]]:
        """(analyzer, vocabulary, idf, column offset, weight, is_title) per feature block, cached."""
        parts = self.__dict__.get("_fast")
        if parts is None:
            if self._body_vec is None or self._title_vec is None:
                raise RuntimeError("the classifier is not trained")
            body, title = self._body_vec, self._title_vec
            parts = [
                (body.build_analyzer(), body.vocabulary_, body.idf_, 0, 1.0, False),
                (
                    title.build_analyzer(),
                    title.vocabulary_,
                    title.idf_,
                    len(body.vocabulary_),
                    self.title_weight,
                    True,
                ),
            ]
            self.__dict__["_fast"] = parts
        return parts

    def _single_scores(self, document: Document) -> np.ndarray:
        assert self._core is not None
        indices: list[np.ndarray] = []
        values: list[np.ndarray] = []
        texts = (clean_text(document.text), clean_text(document.title))
        for analyzer, vocabulary, idf, offset, weight, is_title in self._fast_parts():
            counts: dict[int, int] = {}
            for gram in analyzer(texts[1] if is_title else texts[0]):
                j = vocabulary.get(gram)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            val = (1.0 + np.log(tf)) * idf[idx]
            val *= weight / float(np.sqrt(np.dot(val, val)))
            indices.append(idx + offset)
            values.append(val)
        n_labels = len(self._core.labels)
        if not indices:
            idx, val = np.zeros(0, dtype=np.int64), np.zeros(0)
        else:
            idx, val = np.concatenate(indices), np.concatenate(values)
        raw: np.ndarray = _row_product(self._core.weights, idx, val, n_labels) + self._core.bias
        if self._core.centroids is None:
            return raw
        similarity = _row_product(self._core.centroids, idx, val, n_labels)
        k = min(self.shortlist, n_labels)
        allowed = np.argpartition(-similarity, k - 1)[:k]
        scores = np.full(n_labels, -np.inf)
        scores[allowed] = raw[allowed]
        return scores

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_fast", None)  # analyzers are rebuilt on first use
        return state

    # --- persistence ---------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump({"format": FORMAT_VERSION, "model": self}, buffer, compress=3)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TextClassifier:
        """Load a model written by ``to_bytes``. Only ever load bytes this project wrote itself
        (insight.services checks their sha256 against the stored row before calling this)."""
        try:
            payload = joblib.load(io.BytesIO(data))
        except Exception as exc:  # joblib raises many kinds on foreign bytes
            raise ValueError("not a Minhu classifier") from exc
        if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
            raise ValueError("not a Minhu classifier of this format")
        model = payload["model"]
        if not isinstance(model, cls):
            raise ValueError("not a Minhu classifier")
        return model


def _centroids(x: sp.csr_matrix, codes: np.ndarray, n_labels: int) -> sp.csr_matrix:
    """Per-label mean of the documents, pruned to its ``CENTROID_TERMS`` heaviest features."""
    member = sp.csr_matrix(
        (np.ones(len(codes), dtype=np.float32), (codes, np.arange(len(codes)))),
        shape=(n_labels, x.shape[0]),
    )
    sums = (member @ x).tocsr()
    rows, cols, vals = [], [], []
    for k in range(n_labels):
        start, end = sums.indptr[k], sums.indptr[k + 1]
        data, idx = sums.data[start:end], sums.indices[start:end]
        if len(data) > CENTROID_TERMS:
            keep = np.argpartition(-data, CENTROID_TERMS)[:CENTROID_TERMS]
            data, idx = data[keep], idx[keep]
        rows.append(np.full(len(idx), k, dtype=np.int32))
        cols.append(idx)
        vals.append(data)
    centroids = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_labels, x.shape[1]),
        dtype=np.float32,
    )
    return normalize(centroids)


def _top_k(similarity: Any, k: int) -> np.ndarray:
    dense = similarity.toarray() if sp.issparse(similarity) else np.asarray(similarity)
    k = min(k, dense.shape[1])
    part = np.argpartition(-dense, k - 1, axis=1)[:, :k]
    return part.astype(np.int32)


def _scores(core: _Core, x: sp.csr_matrix, shortlist: int) -> np.ndarray:
    raw: np.ndarray = np.asarray((x @ core.weights).toarray(), dtype=np.float64) + core.bias
    if core.centroids is None:
        return raw
    allowed = _top_k(x @ core.centroids, shortlist)
    scores: np.ndarray = np.full_like(raw, -np.inf)
    rows = np.arange(raw.shape[0])[:, None]
    scores[rows, allowed] = raw[rows, allowed]
    return scores


def _row_product(matrix_t: sp.csr_matrix, idx: np.ndarray, val: np.ndarray, n_labels: int) -> np.ndarray:
    """One sparse row (``idx``, ``val``) times a features × labels CSR matrix, as a dense vector."""
    if len(idx) == 0:
        return np.zeros(n_labels)
    starts = matrix_t.indptr[idx].astype(np.int64)
    lengths = matrix_t.indptr[idx + 1].astype(np.int64) - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(n_labels)
    offsets = np.cumsum(lengths) - lengths
    positions = np.repeat(starts - offsets, lengths) + np.arange(total)
    weights = matrix_t.data[positions].astype(np.float64) * np.repeat(val, lengths)
    product: np.ndarray = np.bincount(matrix_t.indices[positions], weights=weights, minlength=n_labels)
    return product


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    top = np.max(scores, axis=1, keepdims=True)
    shifted = scores - top
    with np.errstate(invalid="ignore"):
        out = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return np.where(np.isfinite(scores), out, -np.inf)
