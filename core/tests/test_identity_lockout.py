"""Lockout (AUTH-3): 5 failures lock the account for 15 minutes; every attempt is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.admin.sites import AdminSite
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from core import identity
from core.admin import LockoutAdmin, UserAdmin
from core.models import AuditEvent, User
from core.tests.identity_helpers import GOOD_PASSWORD, make_user

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 11, 1, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def attempt(client, password, username="alice", ip="10.0.0.5"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail_five(client, username="alice", ip="10.0.0.5"):
    for _ in range(5):
        assert attempt(client, "Wrong-password-1", username, ip).status_code in (200, 403)


def test_five_failures_lock_the_account_until_fifteen_minutes_pass(client, frozen):
    make_user()
    fail_five(client)
    locked = attempt(client, GOOD_PASSWORD)
    assert locked.status_code == 403
    assert "账号已被临时锁定" in locked.content.decode()
    frozen.shift(timedelta(minutes=15, seconds=1))
    assert attempt(client, GOOD_PASSWORD).status_code == 302


def test_an_attempt_during_the_lock_restarts_the_fifteen_minutes(client, frozen):
    # django-axes default (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT): hammering extends the lock.
    make_user()
    fail_five(client)
    frozen.shift(timedelta(minutes=14))
    assert attempt(client, GOOD_PASSWORD).status_code == 403
    frozen.shift(timedelta(minutes=2))
    assert attempt(client, GOOD_PASSWORD).status_code == 403
    frozen.shift(timedelta(minutes=15, seconds=1))
    assert attempt(client, GOOD_PASSWORD).status_code == 302


def test_the_lock_is_per_account_across_addresses(client, frozen):
    make_user()
    fail_five(client, ip="10.0.0.5")
    assert attempt(client, GOOD_PASSWORD, ip="10.9.9.9").status_code == 403


def test_the_lock_is_per_address_across_accounts(client, frozen):
    make_user("bob")
    for i in range(5):
        attempt(client, "Wrong-password-1", username=f"nobody{i}", ip="10.0.0.7")
    assert attempt(client, GOOD_PASSWORD, username="bob", ip="10.0.0.7").status_code == 403
    assert attempt(client, GOOD_PASSWORD, username="bob", ip="10.0.0.8").status_code == 302


def test_every_attempt_is_audited(client, frozen):
    make_user()
    fail_five(client)
    attempt(client, GOOD_PASSWORD)
    frozen.shift(timedelta(minutes=16))
    attempt(client, GOOD_PASSWORD)
    types = list(AuditEvent.objects.values_list("event_type", "outcome"))
    assert types.count(("auth.login_failed", "failure")) == 6
    assert ("auth.lockout", "failure") in types
    assert types[-1] == ("auth.login", "success")
    ips = set(AuditEvent.objects.values_list("source_ip", flat=True))
    assert ips == {"10.0.0.5"}
    assert not AuditEvent.objects.filter(extra__icontains="Wrong-password").exists()


@pytest.fixture
def secadmin():
    return make_user("secadmin", admin_role="security", is_staff=True)


def test_the_security_admin_sees_and_lifts_a_lock(client, frozen, secadmin):
    make_user()
    fail_five(client)
    request = RequestFactory().post("/admin/")
    request.user = secadmin
    model_admin = LockoutAdmin(AccessAttempt, AdminSite())
    assert model_admin.has_view_permission(request)
    assert model_admin.locked(AccessAttempt.objects.get(username="alice"))
    before = AuditEvent.objects.count()
    model_admin.delete_queryset(request, AccessAttempt.objects.filter(username="alice"))
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.latest("seq").event_type == "auth.unlock"
    assert attempt(client, GOOD_PASSWORD).status_code == 302


def test_unlock_through_the_user_admin_writes_one_audit_row(client, frozen, secadmin, rf):
    alice = make_user()
    fail_five(client)
    request = rf.post("/admin/core/user/")
    request.user = secadmin
    request.session = {}
    request._messages = _Messages()
    before = AuditEvent.objects.count()
    UserAdmin(User, AdminSite()).unlock_users(request, User.objects.filter(pk=alice.pk))
    assert AuditEvent.objects.count() == before + 1
    assert not AccessAttempt.objects.filter(username="alice").exists()


def test_only_the_security_admin_may_unlock(frozen):
    sysadmin = make_user("sysadmin", admin_role="system", is_staff=True)
    with pytest.raises(PermissionDenied):
        identity.lockout_unlock(actor=sysadmin, username="alice", now=NOW)
    assert not AuditEvent.objects.filter(event_type="auth.unlock").exists()


class _Messages:
    def __init__(self):
        self.items = []

    def add(self, level, message, extra_tags=""):
        self.items.append(message)


def test_behind_a_trusted_proxy_the_forwarded_address_is_locked(client, frozen, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    make_user("bob")
    for i in range(5):
        client.post(
            "/login/",
            {"username": f"nobody{i}", "password": "x"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    blocked = client.post(
        "/login/",
        {"username": "bob", "password": GOOD_PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert blocked.status_code == 403
    other = client.post(
        "/login/",
        {"username": "bob", "password": GOOD_PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.10",
    )
    assert other.status_code == 302
    assert AuditEvent.objects.filter(event_type="auth.lockout", source_ip="203.0.113.9").exists()
