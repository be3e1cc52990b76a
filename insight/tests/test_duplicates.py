"""The duplicate matcher: the frozen hand-written evaluation set and its floors, gates, the index."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from insight.duplicates import (
    DuplicateIndex,
    MatcherConfig,
    Report,
    build_index,
    concepts,
    numbers,
    numbers_conflict,
    problem_text,
)

PAIRS = Path(__file__).resolve().parent.parent / "data" / "duplicate_pairs.csv"
# Frozen: the set was committed before the matcher was written; changing it changes this hash.
PAIRS_SHA256 = "eae7c61bdbf30fae6f297b17c128538bceda73b82fe19f0c603d464bbde47090"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GRIDS = {"same": 1, "neighbour": 2, "far": 9}


def _rows():
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _pair(row):
    a = Report(
        id=f"{row['pair_id']}a",
        text=row["text_a"],
        at=T0,
        grid_id=1,
        neighbour_grid_ids=frozenset({2}),
        item_id=row["item_a"] or None,
    )
    b = Report(
        id=f"{row['pair_id']}b",
        text=row["text_b"],
        at=T0 + timedelta(hours=float(row["hours_apart"])),
        grid_id=GRIDS[row["place"]],
        neighbour_grid_ids=frozenset({1}) if row["place"] == "neighbour" else frozenset(),
        item_id=row["item_b"] or None,
    )
    return a, b


def test_the_evaluation_set_is_frozen():
    assert hashlib.sha256(PAIRS.read_bytes()).hexdigest() == PAIRS_SHA256


def test_the_evaluation_set_has_at_least_200_labelled_pairs_of_every_kind():
    rows = _rows()
    assert len(rows) >= 200
    kinds = {(r["kind"], r["label"]) for r in rows}
    for kind in ("paraphrase", "typo", "coarser_address"):
        assert (kind, "1") in kinds
    assert ("different_problem", "0") in kinds
    hard = [r for r in rows if r["kind"] == "different_problem"]
    assert all(r["item_a"] == r["item_b"] and r["place"] != "far" for r in hard)
    assert {r["label"] for r in rows} == {"0", "1"}


def test_precision_is_at_least_0_9_at_recall_at_least_0_8_with_the_default_threshold():
    rows = _rows()
    index = build_index([report for row in rows for report in _pair(row)])
    config = index.config
    tp = fp = fn = 0
    for row in rows:
        match = index.score_pair(*_pair(row))
        said = match is not None and match.is_duplicate(config)
        truth = row["label"] == "1"
        tp += said and truth
        fp += said and not truth
        fn += truth and not said
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    assert recall >= 0.8, (precision, recall)
    assert precision >= 0.9, (precision, recall)


def _report(i, text, *, grid=1, hours=0.0, item="X", neighbours=frozenset()):
    return Report(
        id=i,
        text=text,
        at=T0 + timedelta(hours=hours),
        grid_id=grid,
        neighbour_grid_ids=frozenset(neighbours),
        item_id=item,
    )


def test_reports_in_grids_that_are_not_neighbours_are_never_paired():
    index = build_index([])
    a = _report(1, "建设路路灯坏了晚上很黑", grid=1, neighbours={2})
    b = _report(2, "建设路路灯坏了晚上很黑", grid=5)
    assert index.score_pair(a, b) is None
    assert index.score_pair(a, _report(3, "建设路路灯坏了晚上很黑", grid=2)) is not None


def test_reports_further_apart_than_the_window_are_never_paired():
    index = build_index([], MatcherConfig(window_hours=48))
    a = _report(1, "东门垃圾站的垃圾没人清运")
    assert index.score_pair(a, _report(2, "东门垃圾站的垃圾没人清运", hours=47)) is not None
    assert index.score_pair(a, _report(3, "东门垃圾站的垃圾没人清运", hours=49)) is None


def test_a_building_or_unit_number_that_differs_lowers_the_score():
    a, b, c = "5号楼2单元电梯困人", "五号楼二单元电梯困人", "5号楼1单元电梯困人"
    assert not numbers_conflict(numbers(a), numbers(b))
    assert numbers_conflict(numbers(a), numbers(c))
    index = build_index([_report(i, t) for i, t in enumerate([a, b, c])])
    same = index.score_pair(_report(1, a), _report(2, b))
    other = index.score_pair(_report(1, a), _report(3, c))
    assert same is not None and other is not None
    assert other.conflict and not same.conflict
    assert other.score < same.score


def test_the_address_is_cut_out_and_synonyms_meet_in_one_concept():
    assert problem_text("东风小区5号楼2单元电梯困人") == "电梯困人"
    assert problem_text("和平街12号楼前面的路灯不亮") == "前面的路灯不亮"
    assert concepts("楼下KTV半夜唱歌") & concepts("噪音太大睡不着") == {"noise"}


def test_a_grid_unknown_report_needs_more_text_similarity():
    config = MatcherConfig()
    index = build_index([], config)
    a = Report(id=1, text="幸福路垃圾站垃圾满了没人清运，很臭", at=T0, grid_id=None)
    match = index.score_pair(a, _report(2, "幸福路垃圾站垃圾满了没人清运，很臭"))
    assert match is not None
    assert match.place == "unknown"
    assert match.is_duplicate(config)
    weak = index.score_pair(a, _report(3, "垃圾站附近有人乱停车"))
    assert weak is not None and not weak.is_duplicate(config)


def _open_reports():
    texts = [
        (1, "幸福路88号院东门垃圾站的垃圾三天没人拉走，味道很大", 1, "g"),
        (2, "和平街12号楼前面的路灯晚上不亮", 1, "l"),
        (3, "光明里3号楼楼下KTV唱到凌晨，吵得睡不着", 2, "n"),
        (4, "幸福路88号院垃圾桶盖子坏了合不上", 1, "g"),
        (5, "幸福路88号院东门垃圾站的垃圾三天没人拉走，味道很大", 7, "g"),  # far away
        (6, "长安大道公交站前路面塌了个坑", 3, "p"),
    ]
    return [_report(i, t, grid=g, item=item, hours=-i) for i, t, g, item in texts]


def test_the_index_finds_the_duplicate_nearby_and_not_the_far_one():
    index = build_index(_open_reports())
    query = _report(
        99, "幸福路88号院门口垃圾站好几天没清运，臭得很", grid=2, neighbours={1, 3}, item="g", hours=2
    )
    found = index.candidates(query)
    assert [c.report.id for c in found] == [1]
    assert found[0].match.place == "neighbour"
    assert found[0].match.score >= index.config.threshold


def test_the_index_agrees_with_the_brute_force_scan():
    index = build_index(_open_reports())
    queries = [
        _report(90, "幸福路88号院东门垃圾站垃圾没人拉走", grid=1, neighbours={2}, item="g"),
        _report(91, "光明里三号楼楼下卡拉OK太吵", grid=2, neighbours={1}, item="n"),
        _report(92, "和平街路灯不亮", grid=1, item="l"),
        _report(93, "一件不相干的事情", grid=4, item="z"),
    ]
    for query in queries:
        fast = [(c.report.id, c.match) for c in index.candidates(query)]
        slow = [(c.report.id, c.match) for c in index.brute_force_candidates(query)]
        assert fast == slow
    assert index.candidates(queries[1])  # the KTV report is found through the noise concept


def test_a_removed_report_is_no_longer_found_and_cannot_be_removed_twice():
    index = build_index(_open_reports())
    query = _report(98, "幸福路88号院东门垃圾站的垃圾三天没人拉走", grid=1, item="g")
    assert 1 in [c.report.id for c in index.candidates(query)]
    assert index.remove(1) is True
    assert index.remove(1) is False
    assert index.remove(12345) is False
    assert 1 not in [c.report.id for c in index.candidates(query)]
    assert len(index) == 5


def test_adding_the_same_report_twice_keeps_one_copy():
    index = DuplicateIndex()
    report = _report(1, "路灯不亮")
    index.add(report)
    index.add(report)
    assert len(index) == 1


def test_a_report_is_not_its_own_duplicate():
    reports = _open_reports()
    index = build_index(reports)
    assert all(c.report.id != 1 for c in index.candidates(reports[0]))


@pytest.mark.parametrize("text", ["", "，。！"])
def test_empty_text_finds_nothing(text):
    index = build_index(_open_reports())
    assert index.candidates(_report(50, text, grid=1, item="g")) == []
