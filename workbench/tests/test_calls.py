"""The hotline agent's console: the call page, registering, attaching a repeat call to an open
order, answering from the knowledge base, and the pickers behind it."""

from __future__ import annotations

import pytest
from django.test import Client

from catalog.services import knowledge_create
from intake import services as intake_services
from orders import services
from orders.choices import Channel, EventType, OrderKind, OrderStatus
from orders.models import Order
from orders.tests.factories import make_order, person
from orgs.addresses import address_create
from orgs.choices import Role
from orgs.tests.factories import UserFactory
from workbench.tests.conftest import jpeg, upload

pytestmark = pytest.mark.django_db

CALLER = "13800138000"


@pytest.fixture
def call(cast, now):
    account = UserFactory.create(username="pbx")
    security = UserFactory.create(username="sec", admin_role="security", is_staff=True)
    system = intake_services.telephony_system_create(
        actor=security, name="12345", user=account, unit=cast.tree.city, now=now
    )
    found, _created = intake_services.call_record(
        system=system, call_id="C-0001", caller_number=CALLER, agent_code="agent", now=now
    )
    return found


@pytest.fixture
def address(cast):
    return address_create(actor=None, text="东华路1号院3号楼", grid=cast.tree.grid)


def register(client, url, **fields):
    body = {"kind": OrderKind.COMPLAINT, "urgency": "normal", "submit": "1", **fields}
    return client.post(url, body)


# --- the page -------------------------------------------------------------------------------------


def test_the_call_page_shows_the_masked_caller_and_their_history(call, cast, now, signed_in, street_item):
    earlier = make_order(
        actor=cast.agent, now=now, grid=cast.tree.grid, item=street_item, requester_phone=CALLER
    )
    html = signed_in(cast.agent).get(f"/calls/{call.pk}").content.decode()
    assert "138****8000" in html and CALLER not in html
    assert earlier.number in html  # the caller's earlier order
    assert 'name="phone"' not in html  # the number comes from the call, never from the page


def test_the_call_page_is_the_calls_agents_and_the_hotlines_only(call, cast, signed_in):
    assert Client().get(f"/calls/{call.pk}").status_code == 302
    assert signed_in(cast.outsider).get(f"/calls/{call.pk}").status_code == 404
    assert signed_in(cast.city_dispatcher).get(f"/calls/{call.pk}").status_code == 200  # the hotline's


def test_intakes_url_name_opens_this_console(call):
    from django.urls import reverse

    assert reverse("intake:call_page", kwargs={"pk": call.pk}) == f"/calls/{call.pk}"


def test_a_manual_call_needs_the_right_to_register(cast, signed_in):
    assert signed_in(cast.agent).get("/calls/new/").status_code == 200
    assert signed_in(cast.callback_agent).get("/calls/new/").status_code == 403


# --- registering ----------------------------------------------------------------------------------


def test_registering_from_the_call_submits_with_the_callers_number(
    call, cast, signed_in, street_item, address
):
    client = signed_in(cast.agent)
    response = register(
        client,
        f"/calls/{call.pk}/register/",
        title="路灯不亮",
        content="3号楼前路灯不亮",
        item=street_item.pk,
        address_text=address.text,
        urgency="urgent",
        client_request_id="rq-1",
    )
    assert response.status_code == 302 and response["Location"] == f"/calls/{call.pk}"
    order = Order.objects.get()
    assert order.status == OrderStatus.AWAITING_DISPATCH
    assert order.requester_phone == CALLER and order.call_id == call.call_id
    assert (
        order.grid_id == cast.tree.grid.pk and order.item_id == street_item.pk and order.urgency == "urgent"
    )
    assert order.channel == Channel.HOTLINE
    # the same form sent twice (a double click) files one order
    register(
        client,
        f"/calls/{call.pk}/register/",
        title="路灯不亮",
        content="3号楼前路灯不亮",
        client_request_id="rq-1",
    )
    assert Order.objects.count() == 1


def test_only_registering_keeps_the_order_registered(call, cast, signed_in):
    register(signed_in(cast.agent), f"/calls/{call.pk}/register/", title="咨询", content="内容", submit="0")
    assert Order.objects.get().status == OrderStatus.REGISTERED


def test_a_registration_missing_its_title_keeps_everything_typed(call, cast, signed_in, street_item, address):
    response = register(
        signed_in(cast.agent),
        f"/calls/{call.pk}/register/",
        title="",
        content="晚上很黑，老人走路不安全",
        requester_name="李女士",
        item=street_item.pk,
        address_text=address.text,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_title_error"' in html and "请填写诉求标题。" in html
    assert "晚上很黑，老人走路不安全" in html and 'value="李女士"' in html
    assert f'value="{street_item.pk}" checked' in html  # the chosen item stays chosen
    assert "东华一网格" in html  # and the address's grid is shown again
    assert Order.objects.count() == 0


def test_a_refused_photo_refuses_the_registration_and_says_why_beside_the_field(call, cast, signed_in):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = signed_in(cast.agent).post(
        f"/calls/{call.pk}/register/",
        {
            "kind": "complaint",
            "urgency": "normal",
            "title": "t",
            "content": "c",
            "attachments": [upload(jpeg()), upload(svg, "x.svg")],
        },
    )
    assert response.status_code == 422
    assert 'id="id_attachments_error"' in response.content.decode()
    assert Order.objects.count() == 0


def test_photos_are_attached_to_the_registered_order(call, cast, signed_in):
    signed_in(cast.agent).post(
        f"/calls/{call.pk}/register/",
        {
            "kind": "complaint",
            "urgency": "normal",
            "title": "t",
            "content": "c",
            "attachments": [upload(jpeg())],
        },
    )
    assert Order.objects.get().attachments.count() == 1


def test_a_manual_call_takes_the_typed_number(cast, signed_in):
    response = register(
        signed_in(cast.agent), "/calls/new/register/", phone="139 0000 1111", title="t", content="c"
    )
    assert response.status_code == 302
    assert Order.objects.get().requester_phone == "13900001111"


# --- a repeat call ------------------------------------------------------------------------------------


def _open_report(cast, now, item):
    return make_order(
        actor=None,
        now=now,
        channel=Channel.MOBILE,
        grid=cast.tree.grid,
        item=item,
        title="路灯不亮",
        content="东华路路灯不亮",
        requester_phone="13700000000",
    )


def test_a_repeat_call_waits_for_the_dispatcher_when_the_agent_may_not_merge(
    call, cast, now, signed_in, street_item
):
    parent = _open_report(cast, now, street_item)
    response = signed_in(cast.agent).post(
        f"/calls/{call.pk}/attach/{parent.pk}/", {"kind": "complaint", "urgency": "normal"}
    )
    assert response.status_code == 302
    child = Order.objects.get(call_id=call.call_id)
    assert child.status == OrderStatus.AWAITING_DISPATCH and child.parent_id is None
    assert (child.item_id, child.grid_id, child.requester_phone) == (
        street_item.pk,
        cast.tree.grid.pk,
        CALLER,
    )
    assert "重复来电" in child.title
    # the dispatcher finds the open order as the first duplicate candidate
    html = signed_in(cast.city_dispatcher).get(f"/orders/{child.pk}/").content.decode()
    assert f'id="act-merge-{parent.pk}"' in html


def test_a_repeat_call_is_merged_at_once_when_the_agent_may_merge(call, cast, now, signed_in, street_item):
    lead_agent = person("lead_agent", cast.tree.city, Role.AGENT)
    from orgs.services import membership_grant

    membership_grant(actor=None, user=lead_agent, unit=cast.tree.city, role=Role.DISPATCHER)
    parent = _open_report(cast, now, street_item)
    signed_in(lead_agent).post(
        f"/calls/{call.pk}/attach/{parent.pk}/", {"kind": "complaint", "urgency": "normal"}
    )
    child = Order.objects.get(call_id=call.call_id)
    assert child.status == OrderStatus.MERGED and child.parent_id == parent.pk
    assert parent.events.filter(type=EventType.CHILD_MERGED).count() == 1


def test_a_closed_order_takes_no_repeat_call(call, cast, now, signed_in, street_item):
    parent = _open_report(cast, now, street_item)
    services.order_withdraw(order=parent, actor=cast.city_dispatcher, now=now, reason="误报")
    response = signed_in(cast.agent).post(
        f"/calls/{call.pk}/attach/{parent.pk}/", {"kind": "complaint", "urgency": "normal"}
    )
    assert response.status_code == 422
    assert "不能再关联重复来电" in response.content.decode()
    assert Order.objects.filter(call_id=call.call_id).count() == 0


def test_a_repeat_call_cannot_name_an_order_out_of_scope(call, cast, now, signed_in, street_item):
    hidden = make_order(actor=cast.outsider, now=now, grid=cast.tree.other_grid, item=street_item)
    agent = person("district_agent", cast.tree.district, Role.AGENT)
    response = signed_in(agent).post(
        f"/calls/{call.pk}/attach/{hidden.pk}/", {"kind": "complaint", "urgency": "normal"}
    )
    assert response.status_code == 404


# --- the knowledge base ----------------------------------------------------------------------------------


def test_a_consultation_is_answered_and_closed_from_the_knowledge_base(call, cast, signed_in):
    answer = knowledge_create(
        actor=None, question="居住证怎么办理？", answer="到社区服务站申请。", keywords="居住证"
    )
    client = signed_in(cast.agent)
    results = client.get(f"/calls/{call.pk}/knowledge/", {"kb_query": "居住证"}).content.decode()
    assert "居住证怎么办理？" in results and f"/calls/{call.pk}/answer/{answer.pk}/" in results
    client.post(f"/calls/{call.pk}/answer/{answer.pk}/", {"kind": "complaint", "urgency": "normal"})
    order = Order.objects.get()
    assert order.kind == OrderKind.CONSULTATION and order.status == OrderStatus.CLOSED
    assert order.public_reply == "到社区服务站申请。" and order.requester_phone == CALLER


# --- the pickers ---------------------------------------------------------------------------------------


def test_items_are_found_by_chinese_and_by_pinyin_initials(cast, signed_in, street_item):
    client = signed_in(cast.agent)
    for query in ("路灯", "ld", "ludeng"):
        html = client.get("/workbench/items/", {"item_query": query}).content.decode()
        assert f'value="{street_item.pk}"' in html, query
    nothing = client.get("/workbench/items/", {"item_query": "zzzz"}).content.decode()
    assert "没有找到匹配的事项" in nothing


def test_addresses_are_suggested_and_stay_out_of_urls(cast, signed_in, address):
    client = signed_in(cast.agent)
    assert client.get("/workbench/addresses/", {"address_text": "东华路"}).status_code == 405
    html = client.post("/workbench/addresses/", {"address_text": "东华路1号院3#楼"}).content.decode()
    assert f'value="{address.text}"' in html and "东华一网格" in html
    assert (
        signed_in(cast.callback_agent).post("/workbench/addresses/", {"address_text": "东华路"}).status_code
        == 403
    )


def test_the_context_shows_the_grid_and_similar_open_orders(call, cast, now, signed_in, street_item, address):
    parent = _open_report(cast, now, street_item)
    html = (
        signed_in(cast.agent)
        .post(f"/calls/{call.pk}/context/", {"item": street_item.pk, "address_text": address.text})
        .content.decode()
    )
    assert 'id="grid-info"' in html and 'hx-swap-oob="true"' in html and "东华一网格" in html
    assert parent.number in html and f"/calls/{call.pk}/attach/{parent.pk}/" in html


def test_a_manual_calls_history_is_looked_up_by_post(cast, now, signed_in, street_item):
    earlier = make_order(
        actor=cast.agent, now=now, grid=cast.tree.grid, item=street_item, requester_phone=CALLER
    )
    client = signed_in(cast.agent)
    html = client.post("/workbench/history/", {"phone": CALLER}).content.decode()
    assert earlier.number in html and CALLER not in html
    assert client.get("/workbench/history/").status_code == 405
