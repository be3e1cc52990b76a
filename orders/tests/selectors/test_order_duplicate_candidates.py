"""``order_duplicate_candidates``: the simple query when no matcher is registered, and a
registered matcher's ranked, scored answer when one is (insight registers one at start-up)."""

from __future__ import annotations

import pytest

from orders.selectors import (
    order_duplicate_candidates,
    order_duplicate_candidates_scored,
    register_duplicate_matcher,
)
from orders.tests.factories import HOUR, make_item, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_matcher():
    previous = register_duplicate_matcher(None)
    yield
    register_duplicate_matcher(previous)


def test_without_a_matcher_the_simple_query_finds_same_item_same_grid_recent_open_orders(
    cast, now, no_matcher
):
    grid = cast.tree.grid
    first = make_order(actor=cast.agent, now=now, grid=grid, item=cast.item)
    second = make_order(actor=cast.agent, now=now + HOUR, grid=grid, item=cast.item, title="另一件事")
    other_item = make_order(actor=cast.agent, now=now, grid=grid, item=make_item(name="路灯不亮"))
    other_grid = make_order(actor=cast.agent, now=now, grid=cast.tree.other_grid, item=cast.item)
    too_old = make_order(actor=cast.agent, now=now - 40 * 24 * HOUR, grid=grid, item=cast.item)
    probe = make_order(actor=cast.agent, now=now + 2 * HOUR, grid=grid, item=cast.item)

    assert order_duplicate_candidates(probe) == [second, first]
    assert order_duplicate_candidates_scored(probe) == [(second, None), (first, None)]
    assert order_duplicate_candidates(probe, limit=1) == [second]
    found = set(order_duplicate_candidates(probe, days=50))
    assert too_old in found and other_item not in found and other_grid not in found


def test_without_a_grid_or_item_the_simple_query_finds_nothing(cast, now, no_matcher):
    make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    probe = make_order(actor=cast.agent, now=now, grid=None, item=cast.item)
    assert order_duplicate_candidates(probe) == []


def test_a_registered_matcher_answers_with_its_ranking_and_scores(cast, now, no_matcher):
    a = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    b = make_order(actor=cast.agent, now=now, grid=cast.tree.other_grid, item=None)
    calls = []

    def matcher(order, *, days, limit):
        calls.append((order.pk, days, limit))
        return [(b, 0.9), (a, 0.6)]

    register_duplicate_matcher(matcher)
    assert order_duplicate_candidates_scored(a, days=7, limit=5) == [(b, 0.9), (a, 0.6)]
    assert order_duplicate_candidates(a, limit=1) == [b]
    assert calls == [(a.pk, 7, 5), (a.pk, 30, 1)]
    assert register_duplicate_matcher(None) is matcher
