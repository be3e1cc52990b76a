"""Session policy (AUTH-4, AUTH-6): idle and absolute limits, epochs, killing sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.test import Client, override_settings

from core import identity
from core.models import AuditEvent, User, UserSession
from core.tests.identity_helpers import GOOD_PASSWORD, login_verified, make_user

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 11, 1, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def alice(frozen):
    return make_user()


def test_a_request_after_the_idle_window_is_sent_to_login(client, frozen, alice):
    login_verified(client, alice)
    frozen.shift(timedelta(minutes=29))
    assert client.get("/").status_code == 200
    frozen.shift(timedelta(minutes=29))  # active 29 min ago: still fine
    assert client.get("/").status_code == 200
    frozen.shift(timedelta(minutes=30, seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/").status_code == 302  # the session is gone, not just refused once
    row = AuditEvent.objects.filter(event_type="auth.logout").latest("seq")
    assert row.extra == {"reason": "idle_timeout"}


def test_background_requests_do_not_extend_the_idle_clock(client, frozen, alice):
    login_verified(client, alice)
    for _ in range(3):
        frozen.shift(timedelta(minutes=10))
        assert client.get("/", HTTP_X_MINHU_BACKGROUND="1").status_code == 200
    frozen.shift(timedelta(minutes=1))
    assert client.get("/", HTTP_X_MINHU_BACKGROUND="1").status_code == 302


@override_settings(SESSION_IDLE_EXEMPT="core.tests.test_session_policy.exempt_alice")
def test_the_idle_exemption_hook_keeps_named_users_but_not_past_the_absolute_limit(client, frozen, alice):
    login_verified(client, alice)
    frozen.shift(timedelta(hours=2))
    assert client.get("/").status_code == 200
    frozen.shift(timedelta(hours=10, seconds=1))
    assert client.get("/").status_code == 302


def exempt_alice(user):
    return user.username == "alice"


def test_the_absolute_lifetime_ends_even_an_active_session(client, frozen, alice):
    login_verified(client, alice)
    for _ in range(12 * 4 - 1):
        frozen.shift(timedelta(minutes=15))
        assert client.get("/").status_code == 200
    frozen.shift(timedelta(minutes=15, seconds=1))
    response = client.get("/")
    assert response.status_code == 302
    assert AuditEvent.objects.filter(event_type="auth.logout").latest("seq").extra == {
        "reason": "absolute_timeout"
    }


def test_an_epoch_mismatch_logs_the_session_out(client, alice):
    login_verified(client, alice)
    User.objects.filter(pk=alice.pk).update(session_epoch=alice.session_epoch + 7)
    assert client.get("/").status_code == 302


def test_disabling_an_account_rejects_its_open_session(client, frozen, alice):
    sysadmin = make_user("sysadmin", admin_role="system", is_staff=True)
    login_verified(client, alice)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/").status_code == 200
    identity.user_disable(actor=sysadmin, user=alice, now=NOW)
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/").status_code == 302
    alice.refresh_from_db()
    assert alice.session_epoch == 1 and not alice.is_active


def test_a_password_change_ends_the_other_sessions_but_keeps_this_one(frozen, alice):
    phone, laptop = Client(), Client()
    login_verified(phone, alice)
    login_verified(laptop, alice)
    response = laptop.post(
        "/password/change/",
        {"old_password": GOOD_PASSWORD, "new_password1": "Nn7#newSecret!", "new_password2": "Nn7#newSecret!"},
    )
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    assert UserSession.objects.filter(user=alice).count() == 1


def test_the_security_admin_kills_one_users_sessions(frozen, alice):
    secadmin = make_user("secadmin", admin_role="security", is_staff=True)
    bob = make_user("bob")
    a, b = Client(), Client()
    login_verified(a, alice)
    login_verified(b, bob)
    assert identity.sessions_kill_user(actor=secadmin, user=alice, now=NOW) == 1
    assert a.get("/").status_code == 302
    assert b.get("/").status_code == 200
    assert AuditEvent.objects.filter(event_type="session.kill_user").count() == 1


def test_kill_all_sessions_keeps_only_the_actors_own(frozen, alice):
    secadmin = make_user("secadmin", admin_role="security", is_staff=True)
    bob = make_user("bob")
    a, b, admin_client = Client(), Client(), Client()
    login_verified(a, alice)
    login_verified(b, bob)
    login_verified(admin_client, secadmin)
    keep = admin_client.cookies[settings.SESSION_COOKIE_NAME].value
    ended = identity.sessions_kill_all(actor=secadmin, now=NOW, keep_session_key=keep)
    assert ended == 2
    assert a.get("/").status_code == 302 and b.get("/").status_code == 302
    assert admin_client.get("/").status_code == 200
    assert AuditEvent.objects.filter(event_type="session.kill_all").count() == 1


def test_ordinary_users_cannot_kill_sessions(frozen, alice):
    bob = make_user("bob")
    with pytest.raises(PermissionDenied):
        identity.sessions_kill_user(actor=bob, user=alice, now=NOW)
    with pytest.raises(PermissionDenied):
        identity.sessions_kill_all(actor=bob, now=NOW)
