"""Duplicate reports of one problem: a pair score and an index over the open reports.

Independent of the orders models: callers pass plain ``Report`` values (an id, the text, the
grid and its neighbouring grids, the time, the catalog item), so ``orders`` can wrap its orders
and the benchmark its synthetic ones alike.

How a pair is judged
--------------------
1. **Place** (a gate): the two reports lie in the same grid or in neighbouring grids. When
   either has no grid (an address nobody could place), place does not exclude the pair but the
   text must carry it (``unplaced_threshold`` is higher).
2. **Time** (a gate): at most ``window_hours`` apart (default 14 days).
3. **Text.** Both texts are normalised like addresses (``orgs.addresses.normalize_address``:
   NFKC, punctuation and spaces removed, Chinese numerals before 号/栋/单元… become digits), then
   the address spans (``幸福路88号院``, ``东风小区5号楼2单元``) are cut out: where the problem is
   has been judged by the grid, so the text compares *what* is wrong. The rest becomes single
   characters plus *concept tokens* from ``CONCEPTS``, a small lexicon of how residents name the
   same problem in different words (噪音 / 吵 / KTV / 喇叭 → noise); character unigrams absorb
   typos. Similarity is the cosine of their TF-IDF vectors, with document frequencies counted over
   the reports the index holds.
4. **Conflicting numbers.** When both reports name a building, unit, floor or house number of
   the same kind and share none (``5号楼2单元`` against ``5号楼1单元``), they are two places in the
   same grid: the score is multiplied by ``conflict_factor``.
5. **Item.** Different items (both known) are allowed — agents code the same problem differently;
   ``same_item_bonus`` (0 by default) can favour the same item.

``text = (cosine + concept_weight × concept_overlap) / (1 + concept_weight)`` where
``concept_overlap`` is the share of the terser report's concepts the other one names too;
``score = text × (conflict_factor if numbers conflict) + same_item_bonus × same_item``, capped at 1;
a pair is a likely duplicate at ``score ≥ threshold`` (``unplaced_threshold`` without a grid).
The defaults are checked against the hand-written set ``insight/data/duplicate_pairs.csv``
(precision ≥ 0.9 at recall ≥ 0.8, in the tests; measured 0.928 / 0.806 at 0.52). The concept
lexicon and the weights were settled while looking at that set's misses, so its figures are a
development score, not an independent one.

The index
---------
``DuplicateIndex`` keeps every open report's token counts (hashed features, a CSR block plus a
small append buffer), the document frequencies, and an inverted map grid → report rows. A lookup
takes the rows of the report's grid and its neighbours, keeps those inside the time window,
scores them in one sparse product, applies the gates and returns the best ``limit``. Reports
without a grid are found through their item (same item, inside the window).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from orgs.addresses import normalize_address

N_FEATURES = 1 << 20
BUFFER_ROWS = 2_048

# How residents name the same problem in different words. Each concept adds one token; a text
# that says 喇叭 and one that says 噪音 then share "noise". General complaint vocabulary of
# hotline work, not a list of any particular reports.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "noise": (
        "吵",
        "噪音",
        "噪声",
        "喧哗",
        "喇叭",
        "音箱",
        "音响",
        "唱歌",
        "KTV",
        "卡拉OK",
        "轰鸣",
        "叮叮当当",
        "敲敲打打",
        "睡不着",
        "扰民",
    ),
    "smell": ("臭", "异味", "气味", "味道", "熏", "难闻"),
    "broken": (
        "坏",
        "损坏",
        "故障",
        "失灵",
        "不亮",
        "不工作",
        "停用",
        "停运",
        "破损",
        "断了",
        "不能用",
        "用不了",
        "没反应",
    ),
    "missing": ("丢", "没了", "缺失", "不见了", "被偷", "丢失"),
    "blocked": ("堵", "占用", "占道", "占满", "停满", "乱停", "乱放", "挡住", "过不去", "走不了", "走不出"),
    "garbage": ("垃圾", "废物", "杂物", "塑料袋", "泡沫"),
    "dirty": ("脏", "没打扫", "不打扫", "卫生差", "卫生很差"),
    "uncollected": ("没人拉", "没拉走", "没清", "没人清", "不清运", "没有清运", "无人清运", "没人管"),
    "flood": ("积水", "淹", "内涝", "水很深"),
    "leak": ("漏水", "渗水", "滴水"),
    "gas": ("煤气", "燃气", "天然气", "漏气", "泄漏"),
    "trapped": ("困人", "困住", "被困", "关在里面", "出不来"),
    "cold": ("不热", "很冷", "温度低", "冻", "十几度", "温度才", "温度只有"),
    "unpaid": ("拖欠", "欠薪", "欠了", "不发工资", "工资不发"),
    "insurance": ("社保", "社会保险", "五险", "缴社保", "交社保"),
    "refund": ("退费", "退钱", "退款", "退不了", "余额", "跑路", "关门了"),
    "charge": ("收费", "乱收费", "涨价", "多收", "交齐", "强制收费"),
    "danger": ("危险", "隐患", "不安全", "摔", "砸", "出事"),
    "smoke": ("烟", "焚烧", "烧秸秆", "烧东西"),
    "dust": ("尘", "扬尘", "掉土", "撒土", "遗撒", "灰大"),
    "waiting": ("不来", "不准时", "间隔", "等车", "等了", "迟到"),
    "illegal_building": ("违建", "私搭", "乱建", "加盖", "搭建", "盖了"),
    "construction": ("施工", "打桩", "工地"),
    "renovation": ("装修", "电钻", "砸墙", "钻孔"),
    "pit": ("坑", "塌陷", "塌了", "坑洼"),
    "tree": ("树", "倒伏", "枯枝"),
    "pests": ("老鼠", "鼠患", "蟑螂", "蚊子"),
    "charging": ("充电", "飞线", "拉电线", "私拉电线"),
    "pending": ("没消息", "没进展", "没有结果", "没回音", "没有动静", "很久没", "一直没有"),
    "illness": ("拉肚子", "腹泻", "肚子疼", "食物中毒", "吃坏"),
    "hawkers": ("摆摊", "摊贩", "小贩", "早市", "摊子"),
    "parking": ("停车", "乱停车", "停满车", "私家车"),
    "darkness": ("黑", "漆黑", "看不见"),
    "registration": ("挂号", "挂不上", "专家号", "号贩子"),
    "drinking": ("喝酒", "醉酒", "闹事"),
    "rental": ("群租", "隔断", "出租"),
    "vaccine": ("疫苗", "接种"),
    "subsidy": ("低保", "最低生活保障", "救助"),
    "elevator_install": ("加装电梯", "装电梯"),
    "heating": ("暖气", "供暖"),
    "water_pollution": ("排污", "污水", "黑水", "黑臭", "排口"),
}
_CONCEPT_RE = re.compile(
    "|".join(sorted({re.escape(w.upper()) for ws in CONCEPTS.values() for w in ws}, key=len, reverse=True))
)
_CONCEPT_OF = {w.upper(): name for name, ws in CONCEPTS.items() for w in ws}

_CJK = "\u4e00-\u9fff"
_PLACE_SUFFIX = (
    "路|街|大道|大街|小区|家园|花园|胡同|里|村|社区|广场|公园|河|桥|站|公司|学校|小学|中学|医院|市场|院"
)
# An address span: an optional name (up to 6 characters) ending in a place word, then numbers
# with their 号/楼/单元 words; or a bare number with such a word.
_ADDRESS_RE = re.compile(
    rf"(?:[{_CJK}A-Z]{{1,6}}?(?:{_PLACE_SUFFIX}))?(?:\d+(?:号院|号楼|号|栋|幢|座|单元|楼|层|室|路|口)|[A-Z]口)+"
)
_NUMBERED_RE = re.compile(r"(\d+)(号院|号楼|号|栋|幢|座|单元|层|楼|室)")
_NUMBER_KIND = {
    "号院": "house",
    "号": "house",
    "号楼": "building",
    "栋": "building",
    "幢": "building",
    "座": "building",
    "单元": "unit",
    "层": "floor",
    "楼": "floor",
    "室": "room",
}


@dataclass(frozen=True)
class Report:
    """One open report as the matcher sees it."""

    id: int | str
    text: str
    at: datetime
    grid_id: int | None = None
    neighbour_grid_ids: frozenset[int] = frozenset()
    item_id: int | str | None = None


@dataclass(frozen=True)
class MatcherConfig:
    window_hours: float = 14 * 24
    threshold: float = 0.52
    unplaced_threshold: float = 0.7
    concept_weight: float = 0.4
    conflict_factor: float = 0.5
    same_item_bonus: float = 0.0


@dataclass(frozen=True)
class MatchScore:
    score: float
    text: float
    place: str  # "same", "neighbour" or "unknown"
    hours_apart: float
    same_item: bool | None
    conflict: bool

    def is_duplicate(self, config: MatcherConfig) -> bool:
        needed = config.unplaced_threshold if self.place == "unknown" else config.threshold
        return self.score >= needed


@dataclass(frozen=True)
class Candidate:
    report: Report
    match: MatchScore


def normalise(text: str) -> str:
    return normalize_address(text or "")


def _strip_places(normalised: str) -> str:
    return _ADDRESS_RE.sub("", normalised)


def problem_text(text: str) -> str:
    """The normalised text with its address spans cut out."""
    return _strip_places(normalise(text))


def _tokens_of_normalised(normalised: str) -> list[str]:
    stripped = _strip_places(normalised)
    out = [ch for ch in stripped if not ch.isdigit()]
    out += [f"<{_CONCEPT_OF[m.group(0)]}>" for m in _CONCEPT_RE.finditer(stripped)]
    return out


def tokens(text: str) -> list[str]:
    """Single characters of the problem text plus a token per concept it mentions."""
    return _tokens_of_normalised(normalise(text))


def _concepts_of_normalised(normalised: str) -> frozenset[str]:
    return frozenset(_CONCEPT_OF[m.group(0)] for m in _CONCEPT_RE.finditer(_strip_places(normalised)))


def concepts(text: str) -> frozenset[str]:
    """The ``CONCEPTS`` a text mentions (outside its address spans)."""
    return _concepts_of_normalised(normalise(text))


def concept_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared concepts over those of the text that names fewer (a terse report is not punished)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _numbers_of_normalised(normalised: str) -> dict[str, frozenset[int]]:
    found: dict[str, set[int]] = defaultdict(set)
    for number, word in _NUMBERED_RE.findall(normalised):
        found[_NUMBER_KIND[word]].add(int(number))
    return {kind: frozenset(v) for kind, v in found.items()}


def numbers(text: str) -> dict[str, frozenset[int]]:
    """Numbered place words by kind: ``5号楼2单元`` → {building: {5}, unit: {2}}."""
    return _numbers_of_normalised(normalise(text))


def numbers_conflict(a: dict[str, frozenset[int]], b: dict[str, frozenset[int]]) -> bool:
    return any(kind in b and not (values & b[kind]) for kind, values in a.items())


def place_relation(a: Report, b: Report) -> str | None:
    """ "same", "neighbour", "unknown" (a grid is missing) or None (apart: not a candidate)."""
    if a.grid_id is None or b.grid_id is None:
        return "unknown"
    if a.grid_id == b.grid_id:
        return "same"
    if b.grid_id in a.neighbour_grid_ids or a.grid_id in b.neighbour_grid_ids:
        return "neighbour"
    return None


def _vectorizer() -> HashingVectorizer:
    return HashingVectorizer(
        analyzer=_tokens_of_normalised,
        n_features=N_FEATURES,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )


def _combine(
    cosine: float,
    *,
    overlap: float,
    place: str,
    hours: float,
    a: Report,
    b: Report,
    conflict: bool,
    config: MatcherConfig,
) -> MatchScore:
    text = (cosine + config.concept_weight * overlap) / (1.0 + config.concept_weight)
    same_item = None if a.item_id is None or b.item_id is None else a.item_id == b.item_id
    score = text * (config.conflict_factor if conflict else 1.0) + (
        config.same_item_bonus if same_item else 0.0
    )
    return MatchScore(
        score=round(min(1.0, score), 4),
        text=round(text, 4),
        place=place,
        hours_apart=round(hours, 2),
        same_item=same_item,
        conflict=conflict,
    )


@dataclass
class DuplicateIndex:
    """The open reports, searchable by place, time and text (see the module docstring)."""

    config: MatcherConfig = field(default_factory=MatcherConfig)
    _vec: HashingVectorizer = field(default_factory=_vectorizer, repr=False)
    _matrix: sp.csr_matrix = field(default_factory=lambda: sp.csr_matrix((0, N_FEATURES), dtype=np.float32))
    _buffer: list[sp.csr_matrix] = field(default_factory=list, repr=False)
    _reports: list[Report] = field(default_factory=list, repr=False)
    _alive: list[bool] = field(default_factory=list, repr=False)
    _row_of: dict[int | str, int] = field(default_factory=dict, repr=False)
    _times: list[float] = field(default_factory=list, repr=False)
    _numbers: list[dict[str, frozenset[int]]] = field(default_factory=list, repr=False)
    _concepts: list[frozenset[str]] = field(default_factory=list, repr=False)
    _by_grid: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list), repr=False)
    _by_item: dict[int | str, list[int]] = field(default_factory=lambda: defaultdict(list), repr=False)
    _df: np.ndarray = field(default_factory=lambda: np.zeros(N_FEATURES, dtype=np.int32), repr=False)
    _n_alive: int = 0
    _version: int = 0
    _idf: np.ndarray | None = field(default=None, repr=False)
    _idf_version: int = -1
    _scratch: np.ndarray | None = field(default=None, repr=False)

    # --- building ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n_alive

    def add_many(self, reports: Iterable[Report]) -> None:
        batch = [r for r in reports if r.id not in self._row_of]
        if not batch:
            return
        normalised = [normalise(r.text) for r in batch]
        counts = sp.csr_matrix(self._vec.transform(normalised), dtype=np.float32)
        counts.sum_duplicates()
        np.add.at(self._df, counts.indices, 1)
        start = len(self._reports)
        for offset, report in enumerate(batch):
            row = start + offset
            self._reports.append(report)
            self._alive.append(True)
            self._row_of[report.id] = row
            self._times.append(report.at.timestamp())
            self._numbers.append(_numbers_of_normalised(normalised[offset]))
            self._concepts.append(_concepts_of_normalised(normalised[offset]))
            if report.grid_id is not None:
                self._by_grid[report.grid_id].append(row)
            if report.item_id is not None:
                self._by_item[report.item_id].append(row)
        self._n_alive += len(batch)
        self._version += 1
        self._buffer.append(counts)
        if sum(b.shape[0] for b in self._buffer) >= BUFFER_ROWS or len(self._buffer) > 64:
            self._flush()

    def add(self, report: Report) -> None:
        self.add_many([report])

    def remove(self, report_id: int | str) -> bool:
        """Forget a report (closed, merged, withdrawn); False when it was not held."""
        row = self._row_of.pop(report_id, None)
        if row is None or not self._alive[row]:
            return False
        self._alive[row] = False
        self._n_alive -= 1
        self._version += 1
        vector = self._row(row)
        np.subtract.at(self._df, vector.indices, 1)
        return True

    def _flush(self) -> None:
        if self._buffer:
            self._matrix = sp.vstack([self._matrix, *self._buffer], format="csr")
            self._buffer = []

    def _row(self, row: int) -> sp.csr_matrix:
        self._flush()
        return self._matrix[row]

    # --- scoring -------------------------------------------------------------------------------

    def _weights(self) -> np.ndarray:
        """IDF per hashed feature, recomputed only after the held reports changed."""
        if self._idf is None or self._idf_version != self._version:
            n = max(self._n_alive, 1)
            self._idf = np.log((1.0 + n) / (1.0 + np.maximum(self._df, 0))).astype(np.float32) + 1.0
            self._idf_version = self._version
        return self._idf

    def _tfidf(self, counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
        """Sublinear tf × idf, rows L2-normalised (done on the arrays: no sparse products)."""
        out = counts.copy().astype(np.float32)
        out.data = (1.0 + np.log(out.data)) * idf[out.indices]
        for i in range(out.shape[0]):
            start, end = out.indptr[i], out.indptr[i + 1]
            norm = float(np.sqrt(np.dot(out.data[start:end], out.data[start:end])))
            if norm > 0:
                out.data[start:end] /= norm
        return out

    def _cosines(self, query_counts: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        """TF-IDF cosine of one query against stored rows, touching only their non-zeros."""
        idf = self._weights()
        query = self._tfidf(query_counts, idf)
        matrix = self._matrix
        starts = matrix.indptr[rows].astype(np.int64)
        lengths = matrix.indptr[rows + 1].astype(np.int64) - starts
        total = int(lengths.sum())
        cosines: np.ndarray = np.zeros(len(rows), dtype=np.float64)
        if total == 0 or len(query.indices) == 0:
            return cosines
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        positions = np.repeat(starts - offsets, lengths) + np.arange(total)
        indices = matrix.indices[positions]
        weighted = (1.0 + np.log(matrix.data[positions])) * idf[indices]
        if self._scratch is None:
            self._scratch = np.zeros(N_FEATURES, dtype=np.float32)
        scratch = self._scratch
        scratch[query.indices] = query.data
        try:
            products = weighted * scratch[indices]
        finally:
            scratch[query.indices] = 0.0
        nonempty = lengths > 0
        dots = np.add.reduceat(products, offsets[nonempty])
        norms = np.sqrt(np.add.reduceat(weighted * weighted, offsets[nonempty]))
        norms[norms == 0] = 1.0
        cosines[nonempty] = dots / norms
        return cosines

    def text_similarity(self, a: str, b: str) -> float:
        counts = sp.csr_matrix(self._vec.transform([normalise(a), normalise(b)]), dtype=np.float32)
        vectors = self._tfidf(counts, self._weights())
        return float(vectors[0].multiply(vectors[1]).sum())

    def score_pair(self, a: Report, b: Report) -> MatchScore | None:
        """The pair's score, or None when place or time rule it out."""
        place = place_relation(a, b)
        hours = abs((a.at - b.at).total_seconds()) / 3600.0
        if place is None or hours > self.config.window_hours:
            return None
        cosine = self.text_similarity(a.text, b.text)
        overlap = concept_overlap(concepts(a.text), concepts(b.text))
        conflict = numbers_conflict(numbers(a.text), numbers(b.text))
        return _combine(
            cosine, overlap=overlap, place=place, hours=hours, a=a, b=b, conflict=conflict, config=self.config
        )

    def _candidate_rows(self, report: Report) -> np.ndarray:
        if report.grid_id is not None:
            rows: list[int] = []
            for grid in (report.grid_id, *report.neighbour_grid_ids):
                rows.extend(self._by_grid.get(grid, ()))
        elif report.item_id is not None:
            rows = list(self._by_item.get(report.item_id, ()))
        else:
            rows = []
        if not rows:
            return np.zeros(0, dtype=np.int64)
        at = report.at.timestamp()
        window = self.config.window_hours * 3600.0
        kept = {r for r in rows if self._alive[r] and abs(self._times[r] - at) <= window}
        return np.asarray(sorted(kept), dtype=np.int64)

    def candidates(self, report: Report, *, limit: int = 10, all_scores: bool = False) -> list[Candidate]:
        """Likely duplicates of ``report`` among the open reports, best first.

        ``all_scores`` returns every report that passed the place and time gates, scored, even
        below the threshold (for inspection)."""
        return self._score_rows(report, self._candidate_rows(report), limit=limit, all_scores=all_scores)

    def _score_rows(
        self, report: Report, rows: np.ndarray, *, limit: int, all_scores: bool
    ) -> list[Candidate]:
        rows = rows[[self._reports[r].id != report.id for r in rows]] if len(rows) else rows
        if len(rows) == 0:
            return []
        self._flush()
        normalised = normalise(report.text)
        texts = self._cosines(sp.csr_matrix(self._vec.transform([normalised]), dtype=np.float32), rows)
        query_numbers = _numbers_of_normalised(normalised)
        query_concepts = _concepts_of_normalised(normalised)
        config = self.config
        # A conflict only lowers a score and the place only gates it, so the best a row can reach
        # is known before they are looked at; rows that cannot pass are skipped unless asked for.
        needed = min(config.threshold, config.unplaced_threshold)
        w = config.concept_weight
        out: list[Candidate] = []
        at = report.at.timestamp()
        for row, cosine in zip(rows.tolist(), texts.tolist(), strict=True):
            other = self._reports[row]
            overlap = concept_overlap(query_concepts, self._concepts[row])
            if not all_scores and (cosine + w * overlap) / (1.0 + w) + config.same_item_bonus < needed:
                continue
            place = place_relation(report, other)
            hours = abs(at - self._times[row]) / 3600.0
            if place is None or hours > config.window_hours:
                continue
            match = _combine(
                cosine,
                overlap=overlap,
                place=place,
                hours=hours,
                a=report,
                b=other,
                conflict=numbers_conflict(query_numbers, self._numbers[row]),
                config=config,
            )
            if all_scores or match.is_duplicate(config):
                out.append(Candidate(report=other, match=match))
        out.sort(key=lambda c: (-c.match.score, c.match.hours_apart))
        return out[:limit]

    def brute_force_candidates(self, report: Report, *, limit: int = 10) -> list[Candidate]:
        """The baseline: the same scoring over every open report, with no place or time index."""
        rows = np.flatnonzero(np.asarray(self._alive, dtype=bool))
        return self._score_rows(report, rows, limit=limit, all_scores=False)


def build_index(reports: Iterable[Report], config: MatcherConfig | None = None) -> DuplicateIndex:
    index = DuplicateIndex(config=config or MatcherConfig())
    index.add_many(reports)
    return index


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def best_threshold(
    scores: Sequence[float], labels: Sequence[int], *, min_recall: float
) -> tuple[float, float, float]:
    """(threshold, precision, recall) with the highest precision among thresholds reaching ``min_recall``."""
    best = (math.inf, 0.0, 0.0)
    positives = sum(labels)
    for t in sorted(set(scores)):
        chosen = [lab for s, lab in zip(scores, labels, strict=True) if s >= t]
        tp = sum(chosen)
        recall = tp / positives if positives else 0.0
        precision = tp / len(chosen) if chosen else 0.0
        if recall >= min_recall and precision > best[1]:
            best = (t, precision, recall)
    return best
