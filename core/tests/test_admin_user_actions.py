"""The user admin: every action goes through a service and writes exactly one audit row."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import AuditEvent, User
from core.tests.identity_helpers import login_verified, make_user

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 11, 1, 0, tzinfo=UTC)
CHANGELIST = "/admin/core/user/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sysadmin_client():
    client = Client()
    login_verified(client, make_user("sysadmin", admin_role="system", is_staff=True))
    return client


@pytest.fixture
def secadmin_client():
    client = Client()
    login_verified(client, make_user("secadmin", admin_role="security", is_staff=True))
    return client


def run_action(client, action, *users):
    before = AuditEvent.objects.count()
    response = client.post(CHANGELIST, {"action": action, "_selected_action": [u.pk for u in users]})
    assert response.status_code == 302, response.content.decode()[:500]
    return AuditEvent.objects.count() - before


def test_disable_and_enable_write_one_audit_row_each(sysadmin_client):
    alice = make_user("alice")
    assert run_action(sysadmin_client, "disable_users", alice) == 1
    alice.refresh_from_db()
    assert alice.disabled_at == NOW and not alice.is_active
    assert AuditEvent.objects.latest("seq").event_type == "user.disable"
    assert run_action(sysadmin_client, "enable_users", alice) == 1
    alice.refresh_from_db()
    assert alice.is_active and alice.disabled_at is None and alice.enabled_at == NOW


def test_the_system_admin_cannot_disable_an_administrator(sysadmin_client):
    other = make_user("auditadmin", admin_role="audit", is_staff=True)
    assert run_action(sysadmin_client, "disable_users", other) == 0
    other.refresh_from_db()
    assert other.is_active


def test_kill_sessions_and_reset_mfa_write_one_row_each(secadmin_client):
    alice = make_user("alice")
    alice_client = Client()
    login_verified(alice_client, alice)
    assert run_action(secadmin_client, "kill_sessions", alice) == 1
    assert alice_client.get("/").status_code == 302
    assert run_action(secadmin_client, "reset_mfa", alice) == 1
    assert not TOTPDevice.objects.filter(user=alice).exists()


def test_reset_password_shows_a_one_time_password_and_audits_no_secret(sysadmin_client):
    alice = make_user("alice")
    before = AuditEvent.objects.count()
    response = sysadmin_client.post(
        CHANGELIST, {"action": "reset_password", "_selected_action": [alice.pk]}, follow=True
    )
    assert AuditEvent.objects.count() == before + 1
    page = response.content.decode()
    assert "临时密码" in page
    temporary = html.unescape(page.split("临时密码：")[1].split("（")[0])
    alice.refresh_from_db()
    assert alice.must_change_password and alice.check_password(temporary)
    row = AuditEvent.objects.latest("seq")
    assert row.event_type == "user.password_reset"
    assert temporary not in str([row.before, row.after, row.extra])


def test_adding_a_user_in_the_admin_goes_through_user_create(sysadmin_client):
    before = AuditEvent.objects.count()
    response = sysadmin_client.post(
        "/admin/core/user/add/",
        {
            "username": "newbie",
            "display_name": "新人",
            "email": "",
            "password1": "Kx9!mQ2#vL7pZr",
            "password2": "Kx9!mQ2#vL7pZr",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="newbie")
    assert user.must_change_password and user.check_password("Kx9!mQ2#vL7pZr")
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.latest("seq").event_type == "user.create"


def test_a_duplicate_login_id_is_refused(sysadmin_client):
    make_user("Alice")
    response = sysadmin_client.post(
        "/admin/core/user/add/",
        {"username": "alice", "password1": "Kx9!mQ2#vL7pZr", "password2": "Kx9!mQ2#vL7pZr"},
    )
    assert response.status_code == 200
    assert "已被使用" in response.content.decode()
    assert User.objects.filter(username__iexact="alice").count() == 1


def test_a_weak_initial_password_is_refused_in_the_form(sysadmin_client):
    response = sysadmin_client.post(
        "/admin/core/user/add/", {"username": "weak", "password1": "123", "password2": "123"}
    )
    assert response.status_code == 200
    assert "密码至少需要" in response.content.decode()
    assert not User.objects.filter(username="weak").exists()


def test_the_system_admin_edits_names_with_one_audit_row_but_not_roles(sysadmin_client):
    alice = make_user("alice")
    before = AuditEvent.objects.count()
    response = sysadmin_client.post(
        f"/admin/core/user/{alice.pk}/change/",
        {"display_name": "爱丽丝", "email": "a@example.cn", "admin_role": "security"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.display_name == "爱丽丝" and alice.admin_role == ""
    assert AuditEvent.objects.count() == before + 1


def test_the_security_admin_grants_roles_in_the_change_form_but_not_to_themself(secadmin_client):
    alice = make_user("alice")
    response = secadmin_client.post(f"/admin/core/user/{alice.pk}/change/", {"admin_role": "audit"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.admin_role == "audit" and alice.is_staff
    assert AuditEvent.objects.latest("seq").event_type == "user.admin_role_grant"
    me = User.objects.get(username="secadmin")
    secadmin_client.post(f"/admin/core/user/{me.pk}/change/", {"admin_role": "audit"})
    me.refresh_from_db()
    assert me.admin_role == "security"


def test_the_kill_all_page_is_for_the_security_admin_only(sysadmin_client, secadmin_client):
    assert sysadmin_client.get("/admin/core/user/kill-all-sessions/").status_code == 403
    assert secadmin_client.get("/admin/core/user/kill-all-sessions/").status_code == 200
    response = secadmin_client.post("/admin/core/user/kill-all-sessions/")
    assert response.status_code == 302
    assert sysadmin_client.get("/").status_code == 302  # the other admin's session ended
    assert secadmin_client.get("/admin/").status_code == 200  # the actor's own survived
