"""The duplicate matcher's similarity in a real browser: the agent picks the item and the address
first (same-grid, same-item orders are listed without a score), then describes the problem — the
panel refreshes and shows ``相似度 N%``; the dispatcher's merge offer names the order and its score."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import Order
from orders.tests.factories import make_order

pytestmark = [pytest.mark.once]

SCORE = re.compile(r"相似度 \d{2,3}%")


def test_the_agent_and_the_dispatcher_see_how_similar_a_duplicate_is(live_server, city, desk, cast, shots):
    url = live_server.url
    now = timezone.now()
    earlier = make_order(
        actor=cast.agent,
        now=now,
        grid=city.tree.grid,
        item=city.item,
        title="路灯晚上不亮",
        content="东华路1号院门口的路灯坏了一个星期，晚上一片漆黑，老人走路害怕",
        submit=True,
    )

    agent = desk(city.agent)
    agent.goto(url + f"/calls/{city.call.pk}")
    agent.locator("#id_item_query").fill("ld")
    agent.locator("#item-results").get_by_text("路灯不亮").click()
    agent.locator("#id_address_text").fill(city.address.text)
    row = agent.locator("#call-context .wb-orderlist__item", has_text=earlier.number)
    expect(row).to_contain_text("同网格同事项")  # nothing typed yet: nothing to compare
    agent.locator("#id_title").fill("路灯不亮")
    agent.locator("#id_content").fill("东华路1号院门口路灯坏了，晚上很黑，已经好几天了")
    agent.locator("#id_content").dispatch_event("change")
    expect(row).to_contain_text(SCORE)
    shots.take(agent, "wb-agent-call-similarity")
    agent.get_by_role("button", name="登记并提交派单").click()
    agent.wait_for_load_state()
    duplicate = Order.objects.get(call_id=city.call.call_id)

    dispatcher = desk(city.dispatcher)
    dispatcher.goto(url + f"/orders/{duplicate.pk}/")
    offer = dispatcher.locator(f"#act-merge-{earlier.pk}")
    expect(offer.locator("summary")).to_contain_text(earlier.number)
    expect(offer.locator("summary")).to_contain_text(SCORE)
    offer.locator("summary").click()
    expect(offer.locator(".wb-quote")).to_contain_text(SCORE)
    shots.take(dispatcher, "wb-order-merge-similarity")
