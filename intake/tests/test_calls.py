"""The call-centre hook: the telephony system posts a call, the agent's screen opens the call
page, an order registered from the call keeps its id and the caller's number never travels."""

from __future__ import annotations

import pytest
from django.test import Client

from core import identity
from core.models import AuditEvent
from core.models.user import AdminRole
from core.tests.identity_helpers import login_verified
from intake import services
from intake.models import Call
from orders.models import Order
from orgs.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CALLER = "13800138000"


@pytest.fixture
def security_admin():
    return UserFactory.create(username="secadmin", admin_role=AdminRole.SECURITY, is_staff=True)


@pytest.fixture
def telephony(cast, now, security_admin):
    account = UserFactory.create(username="pbx")
    system = services.telephony_system_create(
        actor=security_admin, name="12345 呼叫中心", user=account, unit=cast.tree.city, now=now
    )
    _token, raw = identity.api_token_create(actor=account, user=account, name="pbx", now=now)
    return system, Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post_call(client, **overrides):
    body = {"call_id": "C-0001", "caller_number": CALLER, "agent": "agent", "recording_ref": "rec/0001.wav"}
    return client.post("/api/v1/calls", {**body, **overrides}, content_type="application/json")


def test_a_call_is_recorded_and_answered_with_the_call_page(telephony, cast):
    _system, pbx = telephony
    response = post_call(pbx)
    assert response.status_code == 201, response.json()
    body = response.json()
    call = Call.objects.get(pk=body["id"])
    assert body["call_page_path"] == f"/calls/{call.pk}"
    assert body["call_page_url"] == f"http://testserver/calls/{call.pk}"
    assert CALLER not in body["call_page_url"] and CALLER not in response.content.decode()
    assert call.agent == cast.agent and call.caller_phone == CALLER and call.recording_ref == "rec/0001.wav"


def test_the_callers_number_is_encrypted_at_rest(telephony):
    from django.db import connection

    post_call(telephony[1])
    with connection.cursor() as cursor:
        cursor.execute("SELECT caller_phone FROM intake_call")
        (raw,) = cursor.fetchone()
    assert CALLER not in raw


def test_posting_the_same_call_again_is_idempotent(telephony):
    _system, pbx = telephony
    first = post_call(pbx)
    again = post_call(pbx)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and Call.objects.count() == 1


def test_only_a_telephony_systems_token_may_post_calls(api, cast, telephony):
    staff = api(cast.agent)
    response = staff.client.post(
        "/api/v1/calls", {"call_id": "x", "agent": "agent"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert post_call(Client()).status_code == 401


def test_a_deactivated_system_can_no_longer_post(telephony, security_admin, now):
    system, pbx = telephony
    services.telephony_system_set_active(actor=security_admin, system=system, active=False, now=now)
    assert post_call(pbx).status_code == 401


def test_an_unknown_agent_is_a_chinese_422(telephony, cast):
    response = post_call(telephony[1], agent="outsider")
    assert response.status_code == 422
    assert response.json()["detail"] == "话务员「outsider」不存在或不属于本热线。"
    missing = post_call(telephony[1], call_id="")
    assert missing.status_code == 422 and missing.json()["errors"][0]["msg"] == "长度不能少于1个字符。"


def test_the_agent_reads_the_call_with_the_number_masked(api, telephony, cast):
    call_id = post_call(telephony[1]).json()["id"]
    response = api(cast.agent).get(f"/api/v1/calls/{call_id}")
    assert response.status_code == 200
    assert response.json()["caller"] == "138****8000" and CALLER not in response.content.decode()
    assert api(cast.outsider).get(f"/api/v1/calls/{call_id}").status_code == 404


def test_an_order_registered_from_the_call_keeps_its_id_and_the_callers_number(api, telephony, cast):
    call_id = post_call(telephony[1]).json()["id"]
    body = {"kind": "complaint", "title": "噪音", "content": "夜间施工", "grid_id": cast.tree.grid.pk}
    response = api(cast.agent).post(f"/api/v1/calls/{call_id}/orders", body)
    assert response.status_code == 201, response.json()
    assert response.json()["call_id"] == "C-0001"
    assert response.json()["requester"]["phone"] == "138****8000"
    order = Order.objects.get(pk=response.json()["id"])
    assert order.requester_phone == CALLER and order.channel == "hotline" and order.call_id == "C-0001"
    detail = api(cast.agent).get(f"/api/v1/calls/{call_id}").json()
    assert [o["id"] for o in detail["orders"]] == [order.pk]


def test_the_callers_history_is_on_the_call(api, telephony, cast, now):
    from orders.tests.factories import make_order

    earlier = make_order(actor=cast.agent, now=now, requester_phone="+86 138-0013-8000")
    call_id = post_call(telephony[1]).json()["id"]
    history = api(cast.agent).get(f"/api/v1/calls/{call_id}").json()["history"]
    assert [o["id"] for o in history] == [earlier.pk]


def test_someone_else_cannot_register_from_the_call(api, telephony, cast):
    call_id = post_call(telephony[1]).json()["id"]
    body = {"kind": "complaint", "title": "噪音", "content": "夜间施工"}
    assert api(cast.outsider).post(f"/api/v1/calls/{call_id}/orders", body).status_code == 404


def test_the_call_page_is_scoped_and_keeps_the_number_masked(telephony, cast):
    call_id = post_call(telephony[1]).json()["id"]
    anonymous = Client().get(f"/calls/{call_id}")
    assert anonymous.status_code == 302
    agent = Client()
    login_verified(agent, cast.agent)
    page = agent.get(f"/calls/{call_id}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "138****8000" in text and CALLER not in text and "no-store" in page["Cache-Control"]
    outsider = Client()
    login_verified(outsider, cast.outsider)
    assert outsider.get(f"/calls/{call_id}").status_code == 404


def test_registering_a_telephony_system_is_the_security_admins_and_audited(cast, now, security_admin):
    from django.core.exceptions import PermissionDenied

    account = UserFactory.create(username="pbx2")
    with pytest.raises(PermissionDenied):
        services.telephony_system_create(
            actor=cast.agent, name="x", user=account, unit=cast.tree.city, now=now
        )
    services.telephony_system_create(
        actor=security_admin, name="备用", user=account, unit=cast.tree.city, now=now
    )
    assert AuditEvent.objects.filter(event_type="intake.telephony_system.create").count() == 1
