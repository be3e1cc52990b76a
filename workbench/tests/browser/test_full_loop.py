"""The whole loop in a real browser, one person at a time, through the pages only:

a resident reports from a phone with a photo and the phone's location → a repeat call about the
same problem is attached to that order from the agent's call page → the dispatcher merges the
duplicate and dispatches by the responsibility list → the street accepts and delegates to the
community → the community reveals the number, records the contact and replies with a photo →
the street approves and answers up → the dispatcher approves → the callback agent records a
satisfied resident → the order is closed with its complete timeline, and the resident follows
and rates it. Every page is screenshot at 1280 px and 360 px.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from orders.choices import EventType, OrderStatus
from orders.models import Order
from workbench.tests.browser.conftest import CALLER, RESIDENT_PHONE, settled

pytestmark = [pytest.mark.once]


def photo_bytes(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(out, format="JPEG")
    return out.getvalue()


def flash(page):
    return page.locator("#messages").inner_text()


def test_the_whole_loop_through_the_pages(live_server, city, desk, resident_page, shots, console):
    url = live_server.url

    # 1 a resident reports from a phone: photo, location, description, category ----------------
    page = resident_page
    page.goto(url + "/report/")
    page.wait_for_selector("#report-map[data-ready='1']")
    settled(shots, page, "wb-resident-report")
    page.set_input_files(
        "#id_photos",
        files=[{"name": "lamp.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes((30, 30, 30))}],
    )
    page.get_by_label("问题描述").fill("东华路1号院门口路灯不亮已经一周，晚上很黑。")
    page.get_by_role("button", name="使用我的位置").click()
    expect(page.locator("#located")).to_contain_text("东华一网格")
    page.get_by_label("问题类别").select_option(label="路灯不亮")
    page.get_by_label("手机号").fill(RESIDENT_PHONE)
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_selector("[data-order-number]")
    number = page.locator("[data-order-number]").inner_text().strip()
    assert re.fullmatch(r"\d{14}", number)
    shots.take(page, "wb-resident-done")
    reported = Order.objects.get(number=number)
    assert reported.status == OrderStatus.AWAITING_DISPATCH
    assert reported.grid_id == city.tree.grid.pk  # the browser's WGS-84 point found its grid
    assert reported.attachments.count() == 1

    # 2 the same problem by phone: the agent's call page attaches the call to that order ------------
    agent = desk(city.agent)
    agent.goto(url + f"/calls/{city.call.pk}")
    assert "139****1111" in agent.locator(".page-lead").inner_text()
    assert CALLER not in agent.content()
    agent.locator("#id_item_query").fill("ld")
    agent.locator("#item-results").get_by_text("路灯不亮").click()
    agent.locator("#id_address_text").fill(city.address.text)
    expect(agent.locator("#grid-info")).to_contain_text("东华一网格")
    similar = agent.locator("#call-context .wb-orderlist__item", has_text=number)
    similar.wait_for()
    shots.take(agent, "wb-agent-call")
    similar.get_by_role("button", name="关联为重复来电").click()
    agent.wait_for_load_state()
    assert "待派单员确认合并" in flash(agent)
    duplicate = Order.objects.get(call_id=city.call.call_id)
    assert duplicate.item_id == city.item.pk and duplicate.grid_id == city.tree.grid.pk
    shots.take(agent, "wb-agent-call-attached")
    agent.goto(url + "/calls/new/")
    agent.get_by_label("来电号码").fill(CALLER)
    agent.get_by_label("来电号码").dispatch_event("change")
    agent.locator("#history .wb-orderlist__item", has_text=duplicate.number).wait_for()
    agent.locator("#id_kb_query").fill("居住证")
    agent.locator("#knowledge-results .wb-kb").first.wait_for()
    shots.take(agent, "wb-agent-new-call")

    # 3 the dispatcher merges the duplicate and dispatches by the responsibility list --------------
    dispatcher = desk(city.dispatcher)
    dispatcher.goto(url + "/dispatch/")
    rows = dispatcher.locator("table.wb-queue tbody tr")
    assert rows.count() == 2
    assert "东华街道" in dispatcher.locator("table.wb-queue").inner_text()  # the suggested lead
    shots.take(dispatcher, "wb-dispatch-queue")
    dispatcher.goto(url + f"/orders/{duplicate.pk}/")
    merge = dispatcher.locator(f"#act-merge-{reported.pk}")
    merge.locator("summary").click()
    merge.get_by_role("button", name="作为重复件合并到此工单").click()
    dispatcher.wait_for_load_state()
    assert f"已合并到工单 {number}" in flash(dispatcher)
    dispatcher.goto(url + f"/orders/{reported.pk}/")
    dispatch = dispatcher.locator("#act-dispatch")
    assert dispatch.locator("input[name='dispatch-lead_unit']:checked").count() == 1
    settled(shots, dispatcher, "wb-order-dispatch")
    dispatch.get_by_role("button", name="派单", exact=True).click()
    dispatcher.wait_for_load_state()
    assert "已派单给东华街道" in flash(dispatcher)

    # 4 the street accepts and delegates to the community -----------------------------------------
    street = desk(city.street)
    street.goto(url + "/inbox/")
    shots.take(street, "wb-inbox")
    street.locator("tr", has_text=number).get_by_role("button", name="签收").click()
    street.wait_for_load_state()
    assert f"已签收工单 {number}" in flash(street)
    street.goto(url + f"/orders/{reported.pk}/")
    delegate = street.locator("#act-delegate-" + str(_assignment(reported, city.tree.street)))
    delegate.locator("summary").click()
    delegate.get_by_label("下派给").select_option(label="东华社区")
    delegate.get_by_label("下派意见").fill("请社区核实路灯位置并联系物业维修")
    delegate.get_by_role("button", name="下派").click()
    street.wait_for_load_state()
    assert "已下派给东华社区" in flash(street)

    # 5 the community accepts, calls the resident (reveal, audited) and replies with a photo -------
    community = desk(city.community)
    community.goto(url + "/inbox/")
    community.locator("tr", has_text=number).get_by_role("button", name="签收").click()
    community.wait_for_load_state()
    community.goto(url + f"/orders/{reported.pk}/")
    reveal = community.locator("#act-reveal")
    reveal.locator("summary").click()
    reveal.get_by_label("查看理由").fill("电话联系群众确认路灯位置")
    reveal.get_by_role("button", name="查看号码").click()
    community.wait_for_load_state()
    assert RESIDENT_PHONE in community.locator(".wb-reveal").inner_text()
    settled(shots, community, "wb-order-reveal")
    contact = community.locator("[id^='act-contact-']")
    contact.locator("summary").click()
    contact.get_by_label("联系情况").fill("已电话联系，群众确认是3号楼前两盏路灯")
    contact.get_by_role("button", name="登记联系群众").click()
    community.wait_for_load_state()
    assert "已登记联系群众" in flash(community)
    reply = community.locator("[id^='act-reply-']")
    reply.get_by_label("已解决").check()
    reply.get_by_label("办理情况").fill("已联系物业更换两盏路灯灯泡，现已恢复照明。")
    reply.locator("input[type=file]").set_input_files(
        files=[{"name": "fixed.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes((250, 220, 90))}]
    )
    settled(shots, community, "wb-order-reply")
    reply.get_by_role("button", name="答复").click()
    community.wait_for_load_state()
    assert "已反馈，等待上级单位审核" in flash(community)

    # 6 the street approves the community's reply and answers up --------------------------------
    street.goto(url + "/inbox/?tab=review")
    shots.take(street, "wb-inbox-review")
    street.locator("tr", has_text=number).get_by_role("link", name="审核").click()
    street.wait_for_load_state()
    review = street.locator("[id^='act-review-']")
    review.get_by_role("button", name="提交审核意见").click()
    street.wait_for_load_state()
    assert "审核通过" in flash(street)
    answer = street.locator("[id^='act-reply-']")
    assert "更换两盏路灯" in answer.get_by_label("办理情况").input_value()  # prefilled from below
    answer.get_by_role("button", name="答复").click()
    street.wait_for_load_state()
    assert "等待派单员审核" in flash(street)

    # 7 the dispatcher approves the answer ------------------------------------------------------------
    dispatcher.goto(url + "/dispatch/?tab=review")
    dispatcher.locator("tr", has_text=number).get_by_role("link", name="审核答复").click()
    dispatcher.wait_for_load_state()
    dispatcher.locator("[id^='act-review-']").get_by_role("button", name="提交审核意见").click()
    dispatcher.wait_for_load_state()
    assert "工单转入回访" in flash(dispatcher)

    # 8 the callback agent records a satisfied resident ---------------------------------------------
    callback = desk(city.callback)
    callback.goto(url + "/callbacks/")
    shots.take(callback, "wb-callbacks")
    row = callback.locator(f"tr:has(td.wb-cell-order a:text-is('{number}'))")
    row.get_by_role("link", name="回访").click()
    callback.wait_for_load_state()
    form = callback.locator("#act-callback")
    form.get_by_label("问题是否解决").select_option(label="是")
    form.get_by_label("满意", exact=True).check()
    form.get_by_label("回访记录").fill("群众表示路灯已亮，满意。")
    form.get_by_role("button", name="保存回访结果").click()
    callback.wait_for_load_state()
    assert "回访完成，工单已办结" in flash(callback)
    # the caller of the merged duplicate is called back too
    callback.goto(url + "/callbacks/")
    callback.locator(f"tr:has(td.wb-cell-order a:text-is('{duplicate.number}'))").get_by_role(
        "link", name="回访"
    ).click()
    callback.wait_for_load_state()
    merged = callback.locator("#act-callback_merged")
    merged.get_by_label("基本满意").check()
    merged.get_by_role("button", name="保存回访结果").click()
    callback.wait_for_load_state()
    assert "合并件回访已记录" in flash(callback)

    # 9 closed, with the complete timeline ------------------------------------------------------------
    callback.goto(url + f"/orders/{reported.pk}/")
    assert "办结" in callback.locator(".wb-order-head__meta").inner_text()
    timeline = callback.locator(".wb-timeline").inner_text()
    for label in (
        "登记",
        "上传附件",
        "并入重复件",
        "派单",
        "签收",
        "下派",
        "查看号码",
        "联系群众",
        "办理反馈",
        "审核通过",
        "回访",
    ):
        assert label in timeline, label
    settled(shots, callback, "wb-order-closed")
    reported.refresh_from_db()
    assert reported.status == OrderStatus.CLOSED
    types = list(reported.events.values_list("type", flat=True))
    for expected in (
        EventType.CREATED,
        EventType.ATTACHMENT_ADDED,
        EventType.CHILD_MERGED,
        EventType.DISPATCHED,
        EventType.ACCEPTED,
        EventType.DELEGATED,
        EventType.PHONE_REVEALED,
        EventType.CONTACT_RECORDED,
        EventType.REPLIED,
        EventType.REVIEW_APPROVED,
        EventType.CALLBACK,
    ):
        assert expected in types, expected

    # 10 the resident follows the order and rates it --------------------------------------------------
    page.goto(url + "/follow/")
    page.get_by_label("工单号").fill(number)
    page.get_by_label("手机号后四位").fill(RESIDENT_PHONE[-4:])
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state()
    assert "已办结" in page.locator(".wb-follow__title").inner_text()
    assert "恢复照明" in page.locator(".wb-content--reply").inner_text()
    shots.take(page, "wb-resident-follow")
    page.get_by_label("满意", exact=True).check()
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_load_state()
    assert "感谢您的评价" in page.content()

    assert console.csp_violations() == []
    assert console.page_errors == []


def _assignment(order, unit):
    from orders.models import Assignment

    return (
        Assignment.objects.filter(order=order, unit=unit).order_by("-pk").values_list("pk", flat=True).first()
    )
