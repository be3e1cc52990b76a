"""Every staff action of the services is an endpoint: its happy path, and its refusals — 403 for
someone who sees the order but may not act, 404 out of scope, 409 in a wrong state or with a
stale version, 422 with Chinese messages for invalid input."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from orders.choices import Action, OrderStatus
from orders.models import Order, OrderEvent
from orders.selectors import orders_visible_to
from orders.states import TRANSITIONS
from orders.tests.actions import SPECS, ready
from orders.tests.api.calls import SUFFIX, http_call
from orders.tests.factories import PATH, walk_to

pytestmark = pytest.mark.django_db

ACTIONS = sorted(TRANSITIONS, key=str)
LATER = dt.timedelta(hours=20)  # after every step ``ready`` takes


def test_every_action_of_the_table_has_an_endpoint():
    assert set(SUFFIX) == set(TRANSITIONS)


@pytest.mark.parametrize("action", ACTIONS, ids=str)
def test_happy_path(action, api, cast, now):
    order, kwargs = ready(action, cast, now)
    before = OrderEvent.objects.filter(order=order).count()
    path, body = http_call(action, order.pk, kwargs)
    with time_machine.travel(now + LATER, tick=False):
        response = api(SPECS[action].actor(cast)).post(path, body)
    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    payload = response.json()
    if action == Action.REVEAL_PHONE:
        assert payload == {"field": "phone", "value": "13800138000"}
    else:
        assert payload["order"]["status"] == order.status
        assert payload["order"]["version"] == order.version
        assert payload["event"]["seq"] == order.last_seq
    assert OrderEvent.objects.filter(order=order).count() == before + 1


@pytest.mark.parametrize("action", ACTIONS, ids=str)
def test_someone_close_but_not_entitled_is_refused(action, api, cast, now):
    order, kwargs = ready(action, cast, now)
    near_miss = SPECS[action].near_miss
    assert near_miss is not None
    near = near_miss(cast)
    version = order.version
    path, body = http_call(action, order.pk, kwargs)
    with time_machine.travel(now + LATER, tick=False):
        response = api(near).post(path, body)
    sees = orders_visible_to(near).filter(pk=order.pk).exists()
    assert response.status_code == (403 if sees else 404), response.json()
    if sees:
        assert response.json()["code"] == "permission_denied"
        assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["detail"])
    order.refresh_from_db()
    assert order.version == version


@pytest.mark.parametrize("action", ACTIONS, ids=str)
def test_out_of_scope_is_404_and_changes_nothing(action, api, cast, now):
    order, kwargs = ready(action, cast, now)
    version = order.version
    path, body = http_call(action, order.pk, kwargs)
    response = api(cast.outsider).post(path, body)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    order.refresh_from_db()
    assert order.version == version


def _wrong_state_case(action, cast, now):
    """An order in a state the action does not start from, visible to the action's actor."""
    actor = SPECS[action].actor(cast)
    sources = TRANSITIONS[action][0]
    for state in PATH:
        if state in sources:
            continue
        order, kwargs = ready(action, cast, now, state=state)
        if orders_visible_to(actor).filter(pk=order.pk).exists():
            return order, kwargs, actor
    return None


# The decisions on a request need the request, which only exists in the source state.
REQUEST_ACTIONS = {
    Action.EXTENSION_APPROVE,
    Action.EXTENSION_REFUSE,
    Action.SUSPEND_APPROVE,
    Action.SUSPEND_REFUSE,
}


@pytest.mark.parametrize("action", [a for a in ACTIONS if a not in REQUEST_ACTIONS], ids=str)
def test_wrong_state_is_409_with_a_chinese_message(action, api, cast, now):
    case = _wrong_state_case(action, cast, now)
    assert case is not None, f"no visible wrong state for {action}"
    order, kwargs, actor = case
    version = order.version
    path, body = http_call(action, order.pk, kwargs)
    with time_machine.travel(now + LATER, tick=False):
        response = api(actor).post(path, body)
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "transition_not_allowed"
    assert "不能" in response.json()["detail"]
    order.refresh_from_db()
    assert order.version == version


def test_deciding_a_request_twice_is_409(api, cast, now):
    order, kwargs = ready(Action.EXTENSION_APPROVE, cast, now)
    path, body = http_call(Action.EXTENSION_APPROVE, order.pk, kwargs)
    dispatcher = api(cast.city_dispatcher)
    with time_machine.travel(now + LATER, tick=False):
        assert dispatcher.post(path, body).status_code == 200
        again = dispatcher.post(path, body)
    assert again.status_code in (409, 422)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in again.json()["detail"])


def test_a_request_of_another_order_is_404(api, cast, now):
    order, kwargs = ready(Action.EXTENSION_APPROVE, cast, now)
    other, _ = ready(Action.EXTENSION_APPROVE, cast, now)
    path, body = http_call(Action.EXTENSION_APPROVE, other.pk, kwargs)
    with time_machine.travel(now + LATER, tick=False):
        response = api(cast.city_dispatcher).post(path, body)
    assert response.status_code == 404


def test_a_stale_version_is_409_and_changes_nothing(api, cast, order, now):
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    order.refresh_from_db()
    handler = api(cast.district_handler)
    stale = handler.post(f"/api/v1/orders/{order.pk}/accept", {"version": order.version - 1})
    assert stale.status_code == 409
    assert stale.json() == {"detail": "工单已被他人处理，请刷新后重试。", "code": "stale_transition"}
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING_ACCEPTANCE
    fresh = handler.post(f"/api/v1/orders/{order.pk}/accept", {"version": order.version})
    assert fresh.status_code == 200 and fresh.json()["order"]["status"] == "in_progress"


def test_a_missing_reason_is_a_chinese_422(api, cast, order, now):
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    handler = api(cast.district_handler)
    missing = handler.post(f"/api/v1/orders/{order.pk}/return", {})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["msg"] == "此项为必填项。"
    blank = handler.post(f"/api/v1/orders/{order.pk}/return", {"reason": "   "})
    assert blank.status_code == 422
    assert blank.json()["code"] == "invalid_input" and "理由" in blank.json()["detail"]


def test_invalid_json_is_a_chinese_422(api, cast, order):
    response = api(cast.agent).client.post(
        f"/api/v1/orders/{order.pk}/submit", "{not json", content_type="application/json"
    )
    assert response.status_code == 422
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["detail"])


def test_an_unknown_unit_is_a_chinese_422(api, cast, order, now):
    walk_to(order, OrderStatus.AWAITING_DISPATCH, cast, now)
    response = api(cast.city_dispatcher).post(f"/api/v1/orders/{order.pk}/dispatch", {"lead_unit_id": 987654})
    assert response.status_code == 422
    assert response.json()["detail"] == "单位不存在或已停用。"


def test_a_reply_may_carry_the_orders_own_attachments_only(api, cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    response = api(cast.district_handler).post(
        f"/api/v1/orders/{order.pk}/reply",
        {"outcome": "resolved", "explanation": "已处理", "attachment_ids": [424242]},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "附件不属于该工单。"
