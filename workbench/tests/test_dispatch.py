"""The dispatcher's desk: the queue with its filters and suggested units, batch dispatch, and the
dispatcher's actions on the order page (dispatch with assists, merge, returns, extensions,
suspensions, reviews)."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog.choices import HandlingLevel, LimitUnit
from catalog.selectors import resolve_lead_unit, rule_for
from catalog.services import rule_create
from orders import services
from orders.choices import AssignmentRole, OrderStatus, ReplyOutcome, RequestStatus, Urgency
from orders.models import Assignment, ExtensionRequest, Order, SuspensionRequest
from orders.tests.factories import make_item, make_order
from orgs.choices import UnitKind
from workbench import selectors
from workbench.tests.scenarios import fill_desks

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)


def submitted(cast, now, item, **extra):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=item, **extra)
    services.order_submit(order=order, actor=cast.agent, now=now)
    return order


# --- the queue ------------------------------------------------------------------------------------------


def test_the_queue_shows_orders_awaiting_dispatch_with_the_suggested_lead(cast, now, signed_in, street_item):
    orders = fill_desks(cast, street_item, now=now)
    html = signed_in(cast.city_dispatcher).get("/dispatch/").content.decode()
    for order in orders["dispatch"]:
        assert order.number in html
    assert orders["pending"][0].number not in html  # already dispatched
    assert "东华街道" in html  # the responsibility list's lead for the street item
    assert 'data-label="建议主办"' in html


def test_the_queue_filters_by_urgency_item_area_and_channel(cast, now, signed_in, street_item):
    other_item = make_item(name="占道经营")
    urgent = submitted(cast, now, street_item, urgency=Urgency.URGENT)
    normal = submitted(cast, now, other_item)
    elsewhere = make_order(actor=cast.agent, now=now, grid=cast.tree.other_grid, item=street_item)
    services.order_submit(order=elsewhere, actor=cast.agent, now=now)
    client = signed_in(cast.city_dispatcher)

    def numbers(**params):
        html = client.get("/dispatch/", params).content.decode()
        return {o.number for o in (urgent, normal, elsewhere) if o.number in html}

    assert numbers() == {urgent.number, normal.number, elsewhere.number}
    assert numbers(urgency="urgent") == {urgent.number}
    assert numbers(item=other_item.pk) == {normal.number}
    assert numbers(area=cast.tree.other_district.pk) == {elsewhere.number}
    assert numbers(channel="web") == set()


def test_htmx_gets_only_the_list(cast, now, signed_in, street_item):
    submitted(cast, now, street_item)
    response = signed_in(cast.city_dispatcher).get(
        "/dispatch/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-list"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="queue-list">') and "<html" not in html


def test_the_desk_is_for_dispatchers(cast, signed_in):
    assert signed_in(cast.street_handler).get("/dispatch/").status_code == 403
    assert signed_in(cast.street_handler).post("/dispatch/batch/", {}).status_code == 403


def test_suggested_leads_agree_with_the_responsibility_list(cast, now):
    """The batched lookup gives what ``rule_for`` + ``resolve_lead_unit`` give order by order:
    a named unit, a lead kind, an area rule nearer than the city-wide one, no rule at all."""
    tree = cast.tree
    by_kind = make_item(name="路灯", lead_kind=UnitKind.STREET)
    named = make_item(name="占道", lead_unit=tree.department)
    local = make_item(name="噪音", lead_kind=UnitKind.DISTRICT)
    rule_create(
        actor=None,
        item=local,
        area=tree.street,
        handling_level=HandlingLevel.COMMUNITY,
        lead_kind=UnitKind.COMMUNITY,
        limit_unit=LimitUnit.WORKING_DAYS,
        accept_within=1,
        contact_within=1,
        reply_within=3,
    )
    unruled = make_item(name="其他", with_rule=False)
    orders = [
        make_order(actor=cast.agent, now=now, grid=grid, item=item)
        for item in (by_kind, named, local, unruled)
        for grid in (tree.grid, tree.other_grid, None)
    ]
    orders.append(make_order(actor=cast.agent, now=now, grid=tree.grid, item=None))
    batched = selectors.suggested_leads(orders)
    for order in orders:
        rule = rule_for(order.item, order.grid) if order.item else None
        expected = resolve_lead_unit(rule, order.grid) if rule else None
        assert batched[order.pk] == expected, (order.item, order.grid)
    assert batched[orders[6].pk] == tree.community  # the street's own rule beats the city-wide one


# --- batch dispatch -----------------------------------------------------------------------------------


def test_batch_dispatch_sends_each_by_the_responsibility_list(cast, now, signed_in, street_item):
    a, b = submitted(cast, now, street_item), submitted(cast, now, street_item)
    response = signed_in(cast.city_dispatcher).post(
        "/dispatch/batch/", {"orders": [f"{a.pk}.{a.version}", f"{b.pk}.{b.version}"]}, follow=True
    )
    assert "已派出 2 件工单" in response.content.decode()
    for order in (a, b):
        order.refresh_from_db()
        assert order.status == OrderStatus.AWAITING_ACCEPTANCE and order.lead_unit_id == cast.tree.street.pk


def test_batch_dispatch_to_one_unit(cast, now, signed_in, street_item):
    a = submitted(cast, now, street_item)
    signed_in(cast.city_dispatcher).post(
        "/dispatch/batch/", {"orders": [f"{a.pk}.{a.version}"], "lead_unit": cast.tree.department.pk}
    )
    a.refresh_from_db()
    assert a.lead_unit_id == cast.tree.department.pk


def test_batch_dispatch_reports_each_refusal_and_goes_on(cast, now, signed_in, street_item):
    good = submitted(cast, now, street_item)
    no_rule = submitted(cast, now, make_item(name="无规则", with_rule=False))
    stale = submitted(cast, now, street_item)
    response = signed_in(cast.city_dispatcher).post(
        "/dispatch/batch/",
        {
            "orders": [
                f"{good.pk}.{good.version}",
                f"{no_rule.pk}.{no_rule.version}",
                f"{stale.pk}.{stale.version - 1}",
            ]
        },
        follow=True,
    )
    html = response.content.decode()
    assert "已派出 1 件工单" in html
    assert f"工单 {no_rule.number} 未派出：请选择主办单位" in html
    assert f"工单 {stale.number} 未派出：工单已被他人处理" in html
    assert Order.objects.get(pk=good.pk).status == OrderStatus.AWAITING_ACCEPTANCE
    assert Order.objects.get(pk=no_rule.pk).status == OrderStatus.AWAITING_DISPATCH


def test_batch_dispatch_with_nothing_ticked(cast, signed_in):
    response = signed_in(cast.city_dispatcher).post("/dispatch/batch/", {}, follow=True)
    assert "请先勾选要派单的工单" in response.content.decode()


# --- on the order page -------------------------------------------------------------------------------


def test_dispatch_with_a_chosen_lead_and_assists(cast, now, signed_in, street_item):
    order = submitted(cast, now, street_item)
    client = signed_in(cast.city_dispatcher)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="act-dispatch"' in page and "责任清单建议主办" in page
    response = client.post(
        f"/orders/{order.pk}/do/dispatch/",
        {
            "dispatch-version": order.version,
            "dispatch-lead_unit": cast.tree.district.pk,
            "dispatch-assist_units": [cast.tree.department.pk],
            "dispatch-note": "请区里牵头",
        },
    )
    assert response.status_code == 302
    roles = dict(Assignment.objects.filter(order=order).values_list("unit_id", "role"))
    assert roles == {
        cast.tree.district.pk: AssignmentRole.LEAD,
        cast.tree.department.pk: AssignmentRole.ASSIST,
    }


def test_the_unit_picker_searches_the_dispatch_level(cast, now, signed_in, street_item):
    order = submitted(cast, now, street_item)
    client = signed_in(cast.city_dispatcher)
    html = client.get(f"/orders/{order.pk}/units/", {"q": "东华", "field": "lead"}).content.decode()
    assert "东华街道" in html and 'name="dispatch-lead_unit"' in html
    kept = client.get(
        f"/orders/{order.pk}/units/",
        {"q": "城管", "field": "assist", "dispatch-assist_units": [cast.tree.street.pk]},
    ).content.decode()
    assert f'value="{cast.tree.street.pk}" checked' in kept and "市城管局" in kept
    assert signed_in(cast.street_handler).get(f"/orders/{order.pk}/units/", {"q": "东"}).status_code in (
        403,
        404,
    )


def test_a_refused_dispatch_comes_back_with_the_note_kept(cast, now, signed_in):
    order = submitted(cast, now, make_item(name="无规则", with_rule=False))
    response = signed_in(cast.city_dispatcher).post(
        f"/orders/{order.pk}/do/dispatch/", {"dispatch-version": order.version, "dispatch-note": "尽快处理"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "请选择主办单位" in html and "尽快处理" in html


def test_someone_faster_is_a_stale_message_not_a_crash(cast, now, signed_in, street_item):
    order = submitted(cast, now, street_item)
    seen = order.version - 1  # the page was loaded before the order was submitted
    response = signed_in(cast.city_dispatcher).post(
        f"/orders/{order.pk}/do/dispatch/", {"dispatch-version": seen, "dispatch-note": "x"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "工单已被他人处理，请刷新后重试。" in html
    order.refresh_from_db()
    assert f'name="dispatch-version" value="{order.version}"' in html  # sending again will go through


def test_merging_a_duplicate_from_its_page(cast, now, signed_in, street_item):
    parent = submitted(cast, now, street_item)
    child = submitted(cast, now + H, street_item)
    client = signed_in(cast.city_dispatcher)
    assert f'id="act-merge-{parent.pk}"' in client.get(f"/orders/{child.pk}/").content.decode()
    client.post(f"/orders/{child.pk}/do/merge/", {"merge-version": child.version, "merge-parent": parent.pk})
    child.refresh_from_db()
    assert child.status == OrderStatus.MERGED and child.parent_id == parent.pk


def test_a_return_is_upheld_or_rejected_with_a_reason(cast, now, signed_in, street_item):
    orders = fill_desks(cast, street_item, now=now)
    returned = orders["return"][0]
    client = signed_in(cast.city_dispatcher)
    page = client.get(f"/orders/{returned.pk}/").content.decode()
    assert "该路段路灯属市政管理" in page
    refused = client.post(
        f"/orders/{returned.pk}/do/return_ruling/",
        {
            "return_ruling-version": returned.version,
            "return_ruling-decision": "reject",
            "return_ruling-reason": "",
        },
    )
    assert refused.status_code == 422 and "请填写驳回理由。" in refused.content.decode()
    client.post(
        f"/orders/{returned.pk}/do/return_ruling/",
        {"return_ruling-version": returned.version, "return_ruling-decision": "uphold"},
    )
    returned.refresh_from_db()
    assert returned.status == OrderStatus.AWAITING_DISPATCH


def test_extension_and_suspension_requests_are_decided_on_the_order(cast, now, signed_in, street_item):
    orders = fill_desks(cast, street_item, now=now)
    working = orders["extension"][0]
    client = signed_in(cast.city_dispatcher)
    listed = client.get("/dispatch/?tab=requests").content.decode()
    assert working.number in listed and "延期" in listed
    request = ExtensionRequest.objects.get(order=working)
    client.post(
        f"/orders/{working.pk}/do/decide_extension/",
        {
            "decide_extension-version": working.version,
            "decide_extension-request": request.pk,
            "decide_extension-decision": "approve",
        },
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    working.refresh_from_db()
    pause = services.order_suspend_request(order=working, actor=cast.street_handler, now=now, reason="待审批")
    working.refresh_from_db()
    client.post(
        f"/orders/{working.pk}/do/decide_suspension/",
        {
            "decide_suspension-version": working.version,
            "decide_suspension-request": pause.pk,
            "decide_suspension-decision": "refuse",
            "decide_suspension-reason": "请先与群众沟通",
        },
    )
    assert SuspensionRequest.objects.get(pk=pause.pk).status == RequestStatus.REFUSED


def test_the_dispatcher_approves_the_leads_answer(cast, now, signed_in, street_item):
    answered = fill_desks(cast, street_item, now=now)["review"][0]
    client = signed_in(cast.city_dispatcher)
    listed = client.get("/dispatch/?tab=review").content.decode()
    assert answered.number in listed
    reply = answered.replies.get()
    client.post(
        f"/orders/{answered.pk}/do/review/",
        {"review-version": answered.version, "review-reply": reply.pk, "review-decision": "approve"},
    )
    answered.refresh_from_db()
    assert answered.status == OrderStatus.AWAITING_CALLBACK
    assert answered.public_reply == "已协调供电公司修复线路。"


def test_a_send_back_needs_a_reason(cast, now, signed_in, street_item):
    answered = fill_desks(cast, street_item, now=now)["review"][0]
    reply = answered.replies.get()
    response = signed_in(cast.city_dispatcher).post(
        f"/orders/{answered.pk}/do/review/",
        {"review-version": answered.version, "review-reply": reply.pk, "review-decision": "send_back"},
    )
    assert response.status_code == 422 and "请填写退回理由。" in response.content.decode()
    assert Order.objects.get(pk=answered.pk).status == OrderStatus.AWAITING_REVIEW


def test_an_action_not_offered_is_refused_without_a_change(cast, now, signed_in, street_item):
    order = submitted(cast, now, street_item)
    response = signed_in(cast.city_dispatcher).post(
        f"/orders/{order.pk}/do/accept/",
        {"accept-version": order.version, "accept-assignment": 1},
        follow=True,
    )
    assert "该操作当前不可用" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_DISPATCH
    assert signed_in(cast.city_dispatcher).post(f"/orders/{order.pk}/do/nonsense/", {}).status_code == 404


def test_reply_outcomes_are_all_offered(cast, now, signed_in, street_item):
    order = fill_desks(cast, street_item, now=now)["extension"][0]
    html = signed_in(cast.street_handler).get(f"/orders/{order.pk}/").content.decode()
    for outcome in ReplyOutcome:
        assert f'value="{outcome.value}"' in html
