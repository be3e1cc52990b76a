"""Insight's matcher behind ``orders.selectors.order_duplicate_candidates``: same or neighbouring
grid (the grids of one community), a time window, similar text, a score per candidate. Orders are
built through ``orders/tests/factories.py``."""

from __future__ import annotations

import datetime as dt

import pytest

from insight.matching import neighbour_grid_ids, order_duplicate_matcher
from orders import services
from orders.models import Order
from orders.selectors import order_duplicate_candidates, order_duplicate_candidates_scored
from orders.tests.factories import make_order
from orgs.choices import UnitKind
from orgs.services import unit_create

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
NOISE = ("工地夜间施工噪音大", "幸福路88号旁边的工地每天晚上十一点以后还在打桩，吵得睡不着觉")
NOISE_PARAPHRASE = ("晚上工地太吵", "幸福路那个工地半夜还在施工打桩，噪声很大，没法休息")
NOISE_TYPO = ("工地夜间施工噪因大", "幸福路88号旁边工地每天晚上十一点后还在打桩，吵的睡不着")
SEWER = ("下水道堵了", "幸福路88号门口的下水道堵塞，污水漫到路面上")


@pytest.fixture
def grids(loop):
    tree = loop.tree
    sibling = unit_create(
        actor=None, code="T1112", name="东华二网格", kind=UnitKind.GRID, parent=tree.community
    )
    return tree.grid, sibling, tree.other_grid


def _order(loop, grid, text, at, **extra):
    title, content = text
    return make_order(actor=loop.agent, now=at, grid=grid, title=title, content=content, **extra)


def test_neighbours_are_the_other_grids_of_the_community(loop, grids):
    grid, sibling, far = grids
    assert neighbour_grid_ids(grid.pk) == frozenset({sibling.pk})
    assert neighbour_grid_ids(far.pk) == frozenset()
    assert neighbour_grid_ids(None) == frozenset()


def test_a_paraphrase_in_the_same_grid_and_a_typo_next_door_are_found_with_scores(loop, grids):
    grid, sibling, _far = grids
    t = loop.now
    paraphrase = _order(loop, grid, NOISE_PARAPHRASE, t - 3 * HOUR)
    typo = _order(loop, sibling, NOISE_TYPO, t - 2 * HOUR)
    new = _order(loop, grid, NOISE, t)
    ranked = order_duplicate_matcher(new)
    assert [o for o, _ in ranked] == [typo, paraphrase]  # the typo is closer in words
    scores = [float(s or 0) for _, s in ranked]
    assert None not in [s for _, s in ranked]
    assert all(0.52 <= s <= 1.0 for s in scores) and scores == sorted(scores, reverse=True)


def test_a_different_problem_at_the_same_address_and_item_is_not_a_duplicate(loop, grids):
    grid, _sibling, _far = grids
    item = loop.items["noise"]
    _order(loop, grid, SEWER, loop.now - HOUR, item=item)
    new = _order(loop, grid, NOISE, loop.now, item=item)
    assert order_duplicate_matcher(new) == []


def test_another_community_and_an_old_report_are_outside_the_gates(loop, grids):
    grid, _sibling, far = grids
    _order(loop, far, NOISE, loop.now - HOUR)
    old = _order(loop, grid, NOISE, loop.now - dt.timedelta(days=40))
    new = _order(loop, grid, NOISE, loop.now)
    assert order_duplicate_matcher(new) == []
    assert [o for o, _ in order_duplicate_matcher(new, days=45)] == [old]


def test_closed_merged_and_withdrawn_orders_are_not_candidates(loop, grids):
    grid, _sibling, _far = grids
    gone = _order(loop, grid, NOISE, loop.now - HOUR)
    services.order_withdraw(order=gone, actor=loop.agent, now=loop.now, reason="群众撤回")
    new = _order(loop, grid, NOISE, loop.now)
    assert order_duplicate_matcher(new) == []


def test_an_unplaced_report_is_matched_through_its_item_and_a_higher_bar(loop, grids):
    grid, _sibling, _far = grids
    item = loop.items["noise"]
    same = _order(loop, grid, NOISE, loop.now - HOUR, item=item)
    _order(loop, grid, NOISE_PARAPHRASE, loop.now - HOUR, item=item)
    new = _order(loop, None, NOISE, loop.now, item=item)
    ranked = order_duplicate_matcher(new)
    assert [o for o, _ in ranked] == [same]  # the paraphrase does not reach the unplaced bar
    assert float(ranked[0][1] or 0) >= 0.7
    assert order_duplicate_matcher(_order(loop, None, NOISE, loop.now)) == []  # no grid, no item


def test_orders_selector_serves_insights_matcher_with_scores(loop, grids):
    grid, _sibling, _far = grids
    earlier = _order(loop, grid, NOISE_PARAPHRASE, loop.now - HOUR)
    _order(loop, grid, SEWER, loop.now - HOUR)
    new = _order(loop, grid, NOISE, loop.now)
    scored = order_duplicate_candidates_scored(new)
    assert [o for o, _ in scored] == [earlier]
    assert isinstance(scored[0][1], float)
    assert order_duplicate_candidates(new) == [earlier]


def test_an_unsaved_probe_stands_for_the_report_being_taken(loop, grids):
    grid, _sibling, _far = grids
    earlier = _order(loop, grid, NOISE, loop.now - HOUR)
    probe = Order(grid=grid, item=None, created_at=loop.now, title=NOISE_TYPO[0], content=NOISE_TYPO[1])
    assert order_duplicate_candidates(probe) == [earlier]


def test_a_repeat_call_citing_an_open_orders_number_matches_it_first(loop, grids):
    grid, _sibling, _far = grids
    parent = _order(loop, grid, NOISE, loop.now - HOUR)
    _order(loop, grid, NOISE_PARAPHRASE, loop.now - HOUR)
    repeat = _order(loop, grid, ("重复来电", f"群众再次来电反映工单 {parent.number} 所述问题。"), loop.now)
    ranked = order_duplicate_matcher(repeat)
    assert ranked[0] == (parent, 1.0)


def test_a_report_without_text_lists_same_item_same_grid_orders_without_a_score(loop, grids):
    grid, sibling, _far = grids
    item = loop.items["noise"]
    older = _order(loop, grid, NOISE, loop.now - 2 * HOUR, item=item)
    newer = _order(loop, grid, SEWER, loop.now - HOUR, item=item)
    _order(loop, sibling, NOISE, loop.now - HOUR, item=item)  # next door: not without text
    _order(loop, grid, NOISE, loop.now - HOUR, item=loop.items["lights"])
    probe = Order(grid=grid, item=item, created_at=loop.now, title="", content="")
    assert order_duplicate_matcher(probe) == [(newer, None), (older, None)]
