"""Every workbench with work on it, at 1280 px and 360 px (``var/screenshots/wb-*``), under the
enforced Content-Security-Policy; plus what a person meets when something is wrong: a handler
opening an order outside their scope gets the Chinese 403 page, and a registration missing its
title comes back with the error beside the field and everything typed still there."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import Order
from workbench.tests.browser.conftest import settled
from workbench.tests.scenarios import fill_desks

pytestmark = [pytest.mark.once]


def test_every_workbench_at_both_widths(live_server, city, cast, desk, shots, console):
    url = live_server.url
    orders = fill_desks(cast, city.item, now=timezone.now())

    dispatcher = desk(city.dispatcher)
    for tab in ("dispatch", "returns", "review", "requests"):
        dispatcher.goto(url + f"/dispatch/?tab={tab}")
        expect(dispatcher.locator(".wb-tab.is-active")).to_be_visible()
        shots.take(dispatcher, f"wb-dispatch-{tab}")
    dispatcher.goto(url + f"/orders/{orders['return'][0].pk}/")
    expect(dispatcher.locator("#act-return_ruling")).to_contain_text("该路段路灯属市政管理")
    settled(shots, dispatcher, "wb-order-return-ruling")
    dispatcher.goto(url + f"/orders/{orders['extension'][0].pk}/")
    expect(dispatcher.locator("[id^='act-decide_extension-']")).to_contain_text("需等待路灯配件到货")
    settled(shots, dispatcher, "wb-order-extension-decision")
    dispatcher.goto(url + "/orders/")
    shots.take(dispatcher, "wb-order-list")
    dispatcher.goto(url + "/dispatch/")
    dispatcher.get_by_label("紧急程度").select_option(label="紧急")
    expect(dispatcher.locator("table.wb-queue tbody tr")).to_have_count(1)  # htmx swapped the list

    street = desk(city.street)
    for tab in ("pending", "working", "review", "replied"):
        street.goto(url + f"/inbox/?tab={tab}")
        shots.take(street, f"wb-inbox-{tab}")
    street.goto(url + f"/orders/{orders['pending'][0].pk}/")
    settled(shots, street, "wb-order-to-accept")
    street.goto(url + "/notifications/")
    expect(street.locator(".wb-note.is-unread").first).to_be_visible()
    shots.take(street, "wb-notifications")
    unread_before = street.locator(".wb-note.is-unread").count()
    street.locator(".wb-note.is-unread .wb-note__button").first.click()
    street.wait_for_load_state()
    assert "/orders/" in street.url
    street.goto(url + "/notifications/")
    assert street.locator(".wb-note.is-unread").count() == unread_before - 1

    callback = desk(city.callback)
    callback.goto(url + "/callbacks/")
    shots.take(callback, "wb-callback-queue")
    callback.goto(url + f"/orders/{orders['callback'][0].pk}/")
    settled(shots, callback, "wb-order-callback")

    supervisor = desk(city.supervisor)
    supervisor.goto(url + "/supervision/")
    expect(supervisor.locator(".wb-total--red").first).to_be_visible()
    shots.take(supervisor, "wb-supervision")
    late = orders["late"][0]
    row = supervisor.locator(".wb-unit__row", has_text=late.number)
    row.locator("summary").click()
    row.get_by_role("button", name="发送催办").click()
    supervisor.wait_for_load_state()
    assert f"已催办工单 {late.number}" in supervisor.locator("#messages").inner_text()
    supervisor.goto(url + f"/orders/{late.pk}/")
    settled(shots, supervisor, "wb-order-supervise")

    agent = desk(city.agent)
    agent.goto(url + "/")
    shots.take(agent, "wb-home-agent")

    assert console.csp_violations() == []
    assert console.page_errors == []


def test_an_order_outside_ones_scope_is_a_chinese_403(live_server, city, cast, desk, shots):
    order = fill_desks(cast, city.item, now=timezone.now())["pending"][0]
    outsider = desk(city.outsider)
    response = outsider.goto(live_server.url + f"/orders/{order.pk}/")
    assert response is not None and response.status == 403
    expect(outsider.get_by_role("heading", name="无权访问此页面")).to_be_visible()
    assert order.number not in outsider.content() and order.title not in outsider.content()
    shots.take(outsider, "wb-403-order")
    missing = outsider.goto(live_server.url + "/orders/999999/")
    assert missing is not None and missing.status == 404


def test_a_refused_registration_keeps_what_was_typed(live_server, city, desk, shots, console):
    agent = desk(city.agent)
    agent.goto(live_server.url + f"/calls/{city.call.pk}")
    agent.get_by_label("诉求人", exact=True).fill("李女士")
    agent.locator("#id_content").fill("小区南门路灯坏了三天，晚上很黑。")
    agent.locator("#id_item_query").fill("路灯")
    agent.locator("#item-results").get_by_text("路灯不亮").click()
    agent.locator("#id_address_text").fill(city.address.text)
    expect(agent.locator("#grid-info")).to_contain_text("东华一网格")
    agent.get_by_label("紧急").check()
    agent.get_by_role("button", name="登记并提交派单").click()
    agent.wait_for_load_state()
    title = agent.locator(".field", has=agent.locator("#id_title"))
    expect(title.locator(".field__error")).to_have_text("请填写诉求标题。")
    assert agent.locator("#id_content").input_value() == "小区南门路灯坏了三天，晚上很黑。"
    assert agent.get_by_label("诉求人", exact=True).input_value() == "李女士"
    assert agent.locator("#id_address_text").input_value() == city.address.text
    expect(agent.locator("#item-results .wb-pick:has(input:checked)")).to_contain_text("路灯不亮")
    assert agent.get_by_label("紧急").is_checked()
    shots.take(agent, "wb-agent-call-error")
    assert Order.objects.count() == 0  # nothing was registered
    agent.locator("#id_title").fill("小区南门路灯不亮")
    agent.get_by_role("button", name="登记并提交派单").click()
    agent.wait_for_load_state()
    assert "并提交派单" in agent.locator("#messages").inner_text()
    order = Order.objects.get()
    assert order.title == "小区南门路灯不亮" and order.requester_phone == "13900001111"
    assert order.grid_id == city.tree.grid.pk and order.urgency == "urgent"
    assert console.csp_violations() == []


def test_a_tap_on_the_map_places_the_report(live_server, city, browser, console, shots):
    from web.tests.browser.conftest import MOBILE

    ctx = browser.new_context(viewport=MOBILE, locale="zh-CN", timezone_id="Asia/Shanghai")
    ctx.on("page", console.attach)
    page = ctx.new_page()
    try:
        page.goto(live_server.url + "/report/")
        page.wait_for_selector("#report-map[data-ready='1']")
        page.locator("#report-map").scroll_into_view_if_needed()
        district = page.locator("#report-map path.leaflet-interactive").first
        box = district.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        expect(page.locator("#located")).to_contain_text("东华一网格")
        assert page.locator("#id_coord_system").input_value() == "wgs84"  # plain background
        page.get_by_label("问题描述").fill("")
        page.get_by_role("button", name="提交", exact=True).click()
        page.wait_for_load_state()
        expect(
            page.locator(".field", has=page.locator("#id_content")).locator(".field__error")
        ).to_contain_text("请填写问题描述")
        assert page.locator("#id_lon").input_value() != ""  # the point survived the refusal
        settled(shots, page, "wb-resident-report-error")
        assert console.csp_violations() == []
    finally:
        ctx.close()
