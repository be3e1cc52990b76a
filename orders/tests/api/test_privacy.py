"""Personal data over the API (SECURITY.md AC-1, AC-2, PI-2): the raw phone and ID numbers appear
in no response of any order endpoint — lists, details, timelines, every action, whoever calls —
except the audited reveal. Confidential orders show handlers no requester at all."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from core.models import AuditEvent
from orders.choices import OrderStatus
from orders.models import PhoneReveal
from orders.states import TRANSITIONS
from orders.tests import actions
from orders.tests.actions import SPECS, ready
from orders.tests.api.calls import http_call
from orders.tests.factories import make_order, walk_to

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
ID_NUMBER = "11010119900307803X"
SECRETS = (PHONE, "138-0013-8000", ID_NUMBER, "张三丰")
PERSONAL = {
    "requester_name": "张三丰",
    "requester_phone": PHONE,
    "requester_id_number": ID_NUMBER,
    "content": f"工地夜间施工扰民，请回电138-0013-8000，身份证{ID_NUMBER}。",
}
LATER = dt.timedelta(hours=20)


def assert_clean(response):
    text = response.content.decode()
    for secret in SECRETS:
        assert secret not in text, f"{secret} leaked in {response.request['PATH_INFO']}"


@pytest.fixture
def personal(monkeypatch):
    """Every order the action specs make carries the personal data above."""

    def make(**kwargs):
        return make_order(**{**kwargs, **PERSONAL})

    monkeypatch.setattr(actions, "make_order", make)


def reads(api_client, order_id):
    return [
        api_client.get("/api/v1/orders"),
        api_client.get(f"/api/v1/orders/{order_id}"),
        api_client.get(f"/api/v1/orders/{order_id}/timeline"),
        api_client.get(f"/api/v1/orders/{order_id}/duplicates"),
    ]


@pytest.mark.parametrize("action", sorted(TRANSITIONS, key=str), ids=str)
def test_no_endpoint_shows_a_handler_the_raw_number_but_the_reveal(action, personal, api, cast, now):
    order, kwargs = ready(action, cast, now)
    path, body = http_call(action, order.pk, kwargs)
    handler = api(cast.district_handler)
    for response in reads(handler, order.pk):
        assert_clean(response)
    with time_machine.travel(now + LATER, tick=False):
        response = handler.post(path, body)
        entitled = api(SPECS[action].actor(cast)).post(path, body) if response.status_code != 200 else None
    for answer in (response, entitled):
        if answer is None:
            continue
        if path.endswith("/reveal") and answer.status_code == 200:
            assert answer.json()["value"] == PHONE
            continue
        assert_clean(answer)
    for response in reads(handler, order.pk):
        assert_clean(response)


def test_the_reveal_is_the_one_door_and_it_is_audited(personal, api, cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, **PERSONAL)
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    handler = api(cast.district_handler)
    detail = handler.get(f"/api/v1/orders/{order.pk}").json()
    assert detail["requester"] == {
        "name": "张**",
        "phone": "138****8000",
        "id_number": "110101********803X",
        "has_phone": True,
    }
    assert detail["can_reveal"] is True
    assert "138****8000" in detail["content"] and "110101********803X" in detail["content"]
    response = handler.post(f"/api/v1/orders/{order.pk}/reveal", {"reason": "需电话核实地址"})
    assert response.json() == {"field": "phone", "value": PHONE}
    assert PhoneReveal.objects.filter(order=order, actor=cast.district_handler).count() == 1
    audit = AuditEvent.objects.get(event_type="orders.phone_reveal", object_id=str(order.pk))
    assert audit.actor == cast.district_handler and PHONE not in str(audit.extra)
    timeline = handler.get(f"/api/v1/orders/{order.pk}/timeline").json()
    assert timeline[-1]["type"] == "reveal_phone" and timeline[-1]["reason"] == "需电话核实地址"


def test_a_handler_who_does_not_hold_the_order_cannot_reveal(personal, api, cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, **PERSONAL)
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    response = api(cast.city_dispatcher).post(f"/api/v1/orders/{order.pk}/reveal", {"reason": "想看看"})
    assert response.status_code == 403
    assert_clean(response)
    assert not PhoneReveal.objects.filter(order=order).exists()


def test_a_confidential_order_shows_handlers_no_requester_and_only_the_hotline_reveals(api, cast, now):
    order = make_order(
        actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, confidential=True, **PERSONAL
    )
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    handler = api(cast.district_handler)
    detail = handler.get(f"/api/v1/orders/{order.pk}")
    assert detail.json()["requester"] is None and detail.json()["can_reveal"] is False
    assert_clean(detail)
    refused = handler.post(f"/api/v1/orders/{order.pk}/reveal", {"reason": "联系群众"})
    assert refused.status_code == 403 and refused.json()["detail"] == "保密件只能由热线查看号码。"
    hotline = api(cast.agent)
    assert hotline.get(f"/api/v1/orders/{order.pk}").json()["requester"]["phone"] == "138****8000"
    revealed = hotline.post(f"/api/v1/orders/{order.pk}/reveal", {"reason": "保密件回电"})
    assert revealed.status_code == 200 and revealed.json()["value"] == PHONE


def test_reveals_are_rate_limited(personal, api, cast, now, settings):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, **PERSONAL)
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    handler = api(cast.district_handler)
    codes = [
        handler.post(f"/api/v1/orders/{order.pk}/reveal", {"reason": f"第{i}次"}).status_code
        for i in range(25)
    ]
    assert codes[0] == 200 and codes[-1] == 429
    limited = handler.post(f"/api/v1/orders/{order.pk}/reveal", {"reason": "再看"})
    assert limited.json()["code"] == "rate_limited" and "频繁" in limited.json()["detail"]
