"""Staff registration through the API: masked echo, idempotency on the client request id, Chinese
validation errors."""

from __future__ import annotations

import pytest

from orders.models import Order

pytestmark = pytest.mark.django_db

BODY = {
    "channel": "hotline",
    "kind": "complaint",
    "title": "路灯不亮",
    "content": "东华路口路灯连续三晚不亮。",
    "requester_name": "李四",
    "requester_phone": "13912345678",
    "requester_id_number": "11010119900307803X",
    "address_text": "东华路12号",
}


def test_an_agent_registers_an_order_and_sees_only_masked_personal_data(api, cast):
    response = api(cast.agent).post(
        "/api/v1/orders", {**BODY, "grid_id": cast.tree.grid.pk, "item_id": cast.item.pk}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "registered" and body["grid"]["name"] == "东华一网格"
    assert body["requester"] == {
        "name": "李*",
        "phone": "139****5678",
        "id_number": "110101********803X",
        "has_phone": True,
    }
    assert "13912345678" not in response.content.decode()
    order = Order.objects.get(pk=body["id"])
    assert order.requester_phone == "13912345678" and order.created_by == cast.agent


def test_creation_is_idempotent_on_the_client_request_id(api, cast):
    agent = api(cast.agent)
    first = agent.post("/api/v1/orders", {**BODY, "client_request_id": "app-42"})
    again = agent.post("/api/v1/orders", {**BODY, "client_request_id": "app-42"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Order.objects.filter(client_request_id="app-42").count() == 1


def test_someone_elses_request_id_is_a_conflict_not_a_way_in(api, cast):
    api(cast.agent).post("/api/v1/orders", {**BODY, "client_request_id": "app-43"})
    response = api(cast.outsider).post("/api/v1/orders", {**BODY, "client_request_id": "app-43"})
    assert response.status_code == 409
    assert "BODY" not in response.json() and "id" not in response.json()


def test_a_bad_id_number_is_a_chinese_422(api, cast):
    response = api(cast.agent).post("/api/v1/orders", {**BODY, "requester_id_number": "110101199003078031"})
    assert response.status_code == 422
    assert response.json()["detail"] == "身份证号格式或校验位不正确。"


def test_missing_and_oversized_fields_are_chinese_422s(api, cast):
    response = api(cast.agent).post("/api/v1/orders", {"kind": "complaint", "title": "x" * 201})
    assert response.status_code == 422
    messages = {e["loc"][-1]: e["msg"] for e in response.json()["errors"]}
    assert messages["content"] == "此项为必填项。"
    assert messages["title"] == "长度不能超过200个字符。"


def test_a_point_declares_its_coordinate_system(api, cast):
    response = api(cast.agent).post(
        "/api/v1/orders", {**BODY, "lon": 116.40, "lat": 39.91, "coord_system": "gcj02"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["lon"] != 116.40 and abs(body["lon"] - 116.40) < 0.01  # converted to WGS-84
    bad = api(cast.agent).post("/api/v1/orders", {**BODY, "lon": 116.4, "lat": 39.9, "coord_system": "mars"})
    assert bad.status_code == 422


def test_someone_without_an_intake_role_cannot_register(api, cast, now):
    from orgs.tests.factories import UserFactory

    nobody = UserFactory.create(username="nobody")
    response = api(nobody).post("/api/v1/orders", BODY)
    assert response.status_code == 403
    assert response.json()["detail"] == "您没有登记工单的权限。"


# --- POST /api/v1/orders/batch -------------------------------------------------------------------


def test_a_batch_registers_every_order_and_answers_ids_and_numbers(api, cast):
    rows = [
        {**BODY, "grid_id": cast.tree.grid.pk, "item_id": cast.item.pk, "submit": True},
        {**BODY, "title": "井盖缺失", "client_request_id": "push-1"},
        {**BODY, "channel": "web", "requester_phone": ""},
    ]
    response = api(cast.agent).post("/api/v1/orders/batch", {"orders": rows})
    assert response.status_code == 201, response.json()
    answered = response.json()["orders"]
    assert [r["created"] for r in answered] == [True, True, True]
    orders = [Order.objects.get(pk=r["id"]) for r in answered]
    assert [o.number for o in orders] == [r["number"] for r in answered]
    assert orders[0].grid == cast.tree.grid and orders[0].item == cast.item
    assert orders[0].status == "awaiting_dispatch" and orders[1].status == "registered"
    assert orders[1].title == "井盖缺失" and orders[2].channel == "web"
    assert "13912345678" not in response.content.decode()
    again = api(cast.agent).post("/api/v1/orders/batch", {"orders": [rows[1]]})
    assert again.status_code == 201
    assert again.json()["orders"] == [{**answered[1], "created": False}]


def test_a_batch_with_bad_entries_writes_nothing_and_says_which(api, cast):
    rows = [BODY, {**BODY, "requester_id_number": "110101199003078031"}, {**BODY, "item_id": 987654}]
    response = api(cast.agent).post("/api/v1/orders/batch", {"orders": rows})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["loc"] for e in errors] == [["body", "orders", 2]]  # unknown item: refused before
    assert errors[0]["msg"] == "事项不存在。"
    rows[2] = BODY
    response = api(cast.agent).post("/api/v1/orders/batch", {"orders": rows})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["body", "orders", 1], "msg": "身份证号格式或校验位不正确。", "type": "invalid_input"}
    ]
    assert response.json()["detail"] == "第2条：身份证号格式或校验位不正确。"
    assert not Order.objects.exists()


def test_a_batch_is_validated_like_single_registrations(api, cast):
    agent = api(cast.agent)
    empty = agent.post("/api/v1/orders/batch", {"orders": []})
    too_many = agent.post("/api/v1/orders/batch", {"orders": [BODY] * 501})
    missing = agent.post("/api/v1/orders/batch", {"orders": [BODY, {"kind": "complaint"}]})
    assert (empty.status_code, too_many.status_code, missing.status_code) == (422, 422, 422)
    assert empty.json()["errors"][0]["msg"] == "至少1项。"
    assert too_many.json()["errors"][0]["msg"] == "最多500项。"
    assert ["body", "data", "orders", 1, "title"] in [e["loc"] for e in missing.json()["errors"]]
    assert not Order.objects.exists()


def test_a_batch_cannot_reuse_someone_elses_request_id(api, cast):
    api(cast.agent).post("/api/v1/orders", {**BODY, "client_request_id": "app-44"})
    response = api(cast.outsider).post(
        "/api/v1/orders/batch", {"orders": [BODY, {**BODY, "client_request_id": "app-44"}]}
    )
    assert response.status_code == 409
    assert Order.objects.count() == 1


def test_a_batch_needs_an_intake_role(api, cast):
    from orgs.tests.factories import UserFactory

    nobody = UserFactory.create(username="nobody")
    response = api(nobody).post("/api/v1/orders/batch", {"orders": [BODY]})
    assert response.status_code == 403
    assert not Order.objects.exists()
