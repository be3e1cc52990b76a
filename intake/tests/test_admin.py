"""The credential admin: only the security administrator, every change through the audited
services, a new Open311 key shown once on the answering page and stored only as a hash."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from core.models import AuditEvent
from core.models.user import AdminRole
from core.tests.identity_helpers import login_verified
from intake.models import Open311Client, TelephonySystem
from orgs.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def security_client(cast):
    admin = UserFactory.create(username="secadmin", admin_role=AdminRole.SECURITY, is_staff=True)
    client = Client()
    login_verified(client, admin)
    return client


def test_issuing_a_key_shows_it_once_and_stores_its_hash(security_client, cast):
    response = security_client.post(
        "/admin/intake/open311client/add/",
        {"name": "市民 App", "contact": "王工", "dispatch_unit": cast.tree.district.pk},
    )
    assert response.status_code == 200
    found = re.search(r"<code>(o311_[^<]+)</code>", response.content.decode())
    assert found is not None
    raw = found.group(1)
    client = Open311Client.objects.get(name="市民 App")
    assert raw not in client.key_hash and client.dispatch_unit == cast.tree.district
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(event_type="intake.open311_client.create").count() == 1
    listing = security_client.get("/admin/intake/open311client/").content.decode()
    assert raw not in listing


def test_revoking_keys_is_an_audited_admin_action(security_client, cast):
    security_client.post("/admin/intake/open311client/add/", {"name": "旧 App"})
    client = Open311Client.objects.get(name="旧 App")
    security_client.post(
        "/admin/intake/open311client/", {"action": "revoke_keys", "_selected_action": [client.pk]}
    )
    client.refresh_from_db()
    assert client.revoked_at is not None
    assert AuditEvent.objects.filter(event_type="intake.open311_client.revoke").count() == 1


def test_registering_a_telephony_system_goes_through_the_service(security_client, cast):
    account = UserFactory.create(username="pbx")
    response = security_client.post(
        "/admin/intake/telephonysystem/add/",
        {"name": "呼叫中心", "user": account.pk, "unit": cast.tree.city.pk, "is_active": "on"},
    )
    assert response.status_code == 302
    assert TelephonySystem.objects.get(name="呼叫中心").user == account
    assert AuditEvent.objects.filter(event_type="intake.telephony_system.create").count() == 1


def test_other_administrators_cannot_reach_the_credentials(cast):
    system_admin = UserFactory.create(username="sysadmin", admin_role=AdminRole.SYSTEM, is_staff=True)
    client = Client()
    login_verified(client, system_admin)
    assert client.get("/admin/intake/open311client/").status_code == 403
    assert client.post("/admin/intake/open311client/add/", {"name": "x"}).status_code == 403
    assert not Open311Client.objects.exists()
