"""Reads: the list (filters, cursor pagination, stable order), detail, timeline, duplicates — all
within ``orders_visible_to``; out of scope is 404, never 403."""

from __future__ import annotations

import datetime as dt

import pytest

from orders.choices import Channel, OrderStatus, Urgency
from orders.tests.factories import make_item, make_order, walk_to

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)


def ids(response):
    return [row["id"] for row in response.json()["items"]]


def test_the_list_needs_a_token_and_says_so_in_chinese(client, cast):
    response = client.get("/api/v1/orders")
    assert response.status_code == 401
    assert response.json() == {"detail": "未认证：请提供有效的 API 令牌。", "code": "unauthenticated"}


def test_a_revoked_token_is_refused(api, cast, now):
    from core import identity
    from core.models import ApiToken

    user_api = api(cast.agent)
    assert user_api.get("/api/v1/orders").status_code == 200
    identity.api_token_revoke(actor=cast.agent, token=ApiToken.objects.get(user=cast.agent), now=now)
    assert user_api.get("/api/v1/orders").status_code == 401


def test_the_list_holds_only_what_the_caller_may_see(api, cast, now):
    mine = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(mine, OrderStatus.IN_PROGRESS, cast, now)
    elsewhere = make_order(actor=cast.agent, now=now, grid=cast.tree.other_grid, item=cast.item)
    assert ids(api(cast.district_handler).get("/api/v1/orders")) == [mine.pk]
    assert ids(api(cast.outsider).get("/api/v1/orders")) == []
    assert set(ids(api(cast.agent).get("/api/v1/orders"))) == {mine.pk, elsewhere.pk}


def test_pages_follow_created_at_then_id_and_never_repeat_or_skip(api, cast, now):
    created = [make_order(actor=cast.agent, now=now + (i // 2) * MINUTE) for i in range(7)]  # ties in pairs
    expected = [o.pk for o in sorted(created, key=lambda o: (o.created_at, o.pk), reverse=True)]
    agent = api(cast.agent)
    seen, cursor = [], None
    for _ in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = agent.get("/api/v1/orders", **params).json()
        seen += [row["id"] for row in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


def test_a_cursor_stays_valid_when_newer_orders_arrive(api, cast, now):
    for i in range(3):
        make_order(actor=cast.agent, now=now + i * MINUTE)
    agent = api(cast.agent)
    first = agent.get("/api/v1/orders", limit=2).json()
    make_order(actor=cast.agent, now=now + 10 * MINUTE)
    rest = agent.get("/api/v1/orders", limit=2, cursor=first["next_cursor"]).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert rest["items"][0]["id"] not in [row["id"] for row in first["items"]]


def test_a_forged_cursor_is_a_chinese_422(api, cast):
    response = api(cast.agent).get("/api/v1/orders", cursor="not-a-cursor")
    assert response.status_code == 422
    assert response.json()["detail"] == "分页游标无效。"


def test_filters_by_state_urgency_channel_and_item(api, cast, now):
    other_item = make_item(name="占道经营")
    a = make_order(actor=cast.agent, now=now, item=cast.item, urgency=Urgency.URGENT)
    b = make_order(actor=cast.agent, now=now, item=other_item, channel=Channel.WEB)  # self-service: submitted
    agent = api(cast.agent)
    assert ids(agent.get("/api/v1/orders", status="awaiting_dispatch")) == [b.pk]
    assert set(ids(agent.get("/api/v1/orders?status=registered&status=awaiting_dispatch"))) == {a.pk, b.pk}
    assert ids(agent.get("/api/v1/orders", urgency="urgent")) == [a.pk]
    assert ids(agent.get("/api/v1/orders", channel="web")) == [b.pk]
    assert ids(agent.get("/api/v1/orders", item=other_item.pk)) == [b.pk]


def test_filters_by_unit_subtree_and_location_subtree(api, cast, now):
    east = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(east, OrderStatus.AWAITING_ACCEPTANCE, cast, now)  # dispatched to 东城区
    west = make_order(actor=cast.agent, now=now, grid=cast.tree.other_grid, item=cast.item)
    agent = api(cast.city_dispatcher)
    assert ids(agent.get("/api/v1/orders", unit=cast.tree.district.pk)) == [east.pk]
    assert ids(agent.get("/api/v1/orders", unit=cast.tree.other_district.pk)) == []
    assert ids(agent.get("/api/v1/orders", location=cast.tree.street.pk)) == [east.pk]
    assert ids(agent.get("/api/v1/orders", location=cast.tree.other_district.pk)) == [west.pk]


def test_filters_by_deadline_window_and_created_range(api, cast, now):
    early = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(early, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    late = make_order(actor=cast.agent, now=now + dt.timedelta(days=1), grid=cast.tree.grid, item=cast.item)
    early.refresh_from_db()
    agent = api(cast.city_dispatcher)
    due = early.due_at
    assert due is not None
    window = {"due_after": (due - MINUTE).isoformat(), "due_before": (due + MINUTE).isoformat()}
    assert ids(agent.get("/api/v1/orders", **window)) == [early.pk]
    later = {"created_from": (now + dt.timedelta(hours=12)).isoformat()}
    assert ids(agent.get("/api/v1/orders", **later)) == [late.pk]
    earlier = {"created_to": (now + dt.timedelta(hours=12)).isoformat()}
    assert ids(agent.get("/api/v1/orders", **earlier)) == [early.pk]


def test_a_bad_filter_value_is_a_chinese_422(api, cast):
    response = api(cast.agent).get("/api/v1/orders", status="nonsense", limit=0)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    messages = {tuple(e["loc"][-2:]): e["msg"] for e in body["errors"]}
    assert messages[("query", "limit")] == "不能小于1。"
    assert messages[("status", 0)].startswith("取值无效，可选：registered、awaiting_dispatch、")


def test_detail_in_scope_and_404_out_of_scope(api, cast, order):
    response = api(cast.agent).get(f"/api/v1/orders/{order.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == order.number and body["status"] == "registered"
    outsider = api(cast.outsider).get(f"/api/v1/orders/{order.pk}")
    assert outsider.status_code == 404
    assert outsider.json() == {"detail": "未找到，或不在您的权限范围内。", "code": "not_found"}
    assert api(cast.agent).get("/api/v1/orders/999999").status_code == 404


def test_timeline_lists_every_event_in_order(api, cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    events = api(cast.district_handler).get(f"/api/v1/orders/{order.pk}/timeline").json()
    assert [e["type"] for e in events] == ["create", "submit", "dispatch", "accept"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert events[-1]["actor_unit"]["name"] == "东城区" and events[-1]["type_label"] == "签收"
    assert api(cast.outsider).get(f"/api/v1/orders/{order.pk}/timeline").status_code == 404


def test_duplicates_are_limited_to_the_callers_scope(api, cast, now):
    first = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    second = make_order(actor=cast.agent, now=now + MINUTE, grid=cast.tree.grid, item=cast.item)
    rows = api(cast.agent).get(f"/api/v1/orders/{first.pk}/duplicates").json()
    assert [r["id"] for r in rows] == [second.pk]
    assert api(cast.outsider).get(f"/api/v1/orders/{first.pk}/duplicates").status_code == 404
