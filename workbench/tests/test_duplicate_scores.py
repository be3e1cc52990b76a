"""The duplicate matcher's similarity on the pages: the agent's call console lists similar open
orders with ``相似度 N%``, and the dispatcher's merge offers on the order page say which order and
how similar it is. Without a matcher (the simple rule) the pages say ``同网格同事项`` instead."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from orders.choices import OrderStatus
from orders.selectors import order_duplicate_candidates_scored, register_duplicate_matcher
from orders.tests.factories import make_order, walk_to
from orgs.addresses import address_create
from workbench.selectors import SimilarOrder, scored_duplicates

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
NOISE = ("工地夜间施工噪音大", "幸福路88号旁边的工地每天晚上十一点以后还在打桩，吵得睡不着觉")
NOISE_PARAPHRASE = ("晚上工地太吵", "幸福路那个工地半夜还在施工打桩，噪声很大，没法休息")
SEWER = ("下水道堵了", "幸福路88号门口的下水道堵塞，污水漫到路面上")
SCORE = re.compile(r"相似度 (\d+)%")


def _order(cast, now, text, item, **extra):
    title, content = text
    return make_order(
        actor=cast.agent, now=now, grid=cast.tree.grid, item=item, title=title, content=content, **extra
    )


@pytest.fixture
def without_matcher():
    previous = register_duplicate_matcher(None)
    yield
    register_duplicate_matcher(previous)


def test_a_score_is_a_whole_percentage_and_none_stays_none(cast, now, street_item):
    order = _order(cast, now, NOISE, street_item)
    assert SimilarOrder(order, 0.866).percent == 87
    assert SimilarOrder(order, 1.0).percent == 100
    assert SimilarOrder(order, None).percent is None


# --- the agent's call console ------------------------------------------------------------------------


def test_the_call_console_shows_each_similar_orders_score(cast, now, signed_in, street_item):
    address = address_create(actor=None, text="幸福路88号", grid=cast.tree.grid)
    paraphrase = _order(cast, now - 2 * HOUR, NOISE_PARAPHRASE, street_item)
    sewer = _order(cast, now - HOUR, SEWER, street_item)  # same grid and item, another problem
    html = (
        signed_in(cast.agent)
        .post(
            "/calls/new/context/",
            {
                "item": street_item.pk,
                "address_text": address.text,
                "title": NOISE[0],
                "content": NOISE[1],
            },
        )
        .content.decode()
    )
    assert paraphrase.number in html and sewer.number not in html
    shown = [int(p) for p in SCORE.findall(html)]
    assert len(shown) == 1 and 52 <= shown[0] <= 100  # at or above the matcher's threshold
    assert "同网格同事项" not in html


def test_the_call_console_without_a_matcher_lists_the_simple_rule_without_a_score(
    cast, now, signed_in, street_item, without_matcher
):
    address = address_create(actor=None, text="幸福路88号", grid=cast.tree.grid)
    sewer = _order(cast, now - HOUR, SEWER, street_item)
    html = (
        signed_in(cast.agent)
        .post(
            "/calls/new/context/",
            {"item": street_item.pk, "address_text": address.text, "title": NOISE[0], "content": NOISE[1]},
        )
        .content.decode()
    )
    assert sewer.number in html  # same grid, same item: the simple rule knows no better
    assert "同网格同事项" in html and not SCORE.search(html)


# --- the dispatcher's merge offers on the order page ------------------------------------------------


def test_the_order_page_offers_merging_into_a_likely_duplicate_with_its_score(
    cast, now, signed_in, street_item
):
    parent = _order(cast, now - 3 * HOUR, NOISE_PARAPHRASE, street_item, submit=True)
    _order(cast, now - 2 * HOUR, SEWER, street_item, submit=True)
    order = _order(cast, now, NOISE, street_item, submit=True)
    assert order.status == OrderStatus.AWAITING_DISPATCH
    [(found, score)] = order_duplicate_candidates_scored(order)
    assert found == parent and score is not None
    percent = round(score * 100)

    html = signed_in(cast.city_dispatcher).get(f"/orders/{order.pk}/").content.decode()
    assert f'id="act-merge-{parent.pk}"' in html
    # the offer's summary names the order and the score; its body repeats the score as a badge
    assert f"合并到主件（{parent.number} · 相似度 {percent}%）" in html
    assert SCORE.findall(html).count(str(percent)) == 2
    assert "act-merge-" in html and html.count('id="act-merge-') == 1  # the sewer report is not offered


def test_the_merge_offer_without_a_matcher_names_the_order_without_a_score(
    cast, now, signed_in, street_item, without_matcher
):
    parent = _order(cast, now - 3 * HOUR, SEWER, street_item, submit=True)
    order = _order(cast, now, NOISE, street_item, submit=True)
    html = signed_in(cast.city_dispatcher).get(f"/orders/{order.pk}/").content.decode()
    assert f"合并到主件（{parent.number}）" in html
    assert "同网格同事项" in html and not SCORE.search(html)


def test_scored_duplicates_keep_to_the_persons_scope(cast, now, street_item):
    # The street handler holds the new report; the similar one still waits at the city's desk,
    # outside the handler's scope. The city dispatcher sees both.
    hidden = _order(cast, now - 3 * HOUR, NOISE_PARAPHRASE, street_item, submit=True)
    order = _order(cast, now, NOISE, street_item)
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    assert scored_duplicates(cast.street_handler, order) == []
    [seen] = scored_duplicates(cast.city_dispatcher, order)
    assert seen.order == hidden and seen.percent is not None and seen.percent >= 52
