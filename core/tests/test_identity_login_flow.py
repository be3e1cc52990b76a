"""The login flow: password → TOTP (verify or enrol) → forced password change → home (AUTH-1, 4, 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.identity import bootstrap_admin
from core.models import AuditEvent, UserSession
from core.tests.identity_helpers import GOOD_PASSWORD, login_verified, make_user, totp_device, totp_token

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 11, 1, 0, tzinfo=UTC)
LOGIN = "/login/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def post_login(client, username, password=GOOD_PASSWORD, next_url=""):
    return client.post(LOGIN, {"username": username, "password": password, "next": next_url})


def test_login_page_is_chinese_with_csrf_and_no_inline_script(client):
    response = client.get(LOGIN)
    body = response.content.decode()
    assert response.status_code == 200
    assert "登录名" in body and "csrfmiddlewaretoken" in body
    assert "<script" not in body


def test_anonymous_home_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("core:login"))


def test_login_issues_a_new_session_key(client):
    user = make_user()
    totp_device(user)
    client.get(LOGIN)
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32  # a planted (fixated) key
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = post_login(client, "alice")
    assert response.status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert Session.objects.filter(session_key=after).exists()
    assert UserSession.objects.get(session_key=after).user == user


def test_wrong_password_is_refused_and_audited_without_the_password(client):
    make_user()
    response = post_login(client, "alice", "Wrong-password-1")
    assert response.status_code == 200
    assert "登录名或密码不正确" in response.content.decode()
    row = AuditEvent.objects.get(event_type="auth.login_failed")
    assert row.actor_login == "alice" and row.outcome == "failure"
    assert "Wrong-password-1" not in str(row.extra) + str(row.before) + str(row.after)


def test_password_only_login_of_an_mfa_user_reaches_no_view(client):
    user = make_user(admin_role="system", is_staff=True)
    totp_device(user)
    response = post_login(client, "alice")
    assert response["Location"] == reverse("core:mfa_verify")
    for path in ("/", "/admin/", "/admin/core/user/", reverse("core:password_change")):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == reverse("core:mfa_verify"), path
    api = client.get("/api/v1/health")
    assert api.status_code == 401


@override_settings(PASSWORD_PROFILE="ASVS")
def test_under_asvs_ordinary_users_skip_mfa_but_admins_do_not(client):
    make_user("plain")
    assert post_login(client, "plain")["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post(reverse("core:logout"))
    admin = make_user("boss", admin_role="audit", is_staff=True)
    totp_device(admin)
    assert post_login(client, "boss")["Location"] == reverse("core:mfa_verify")


def test_totp_verify_lets_the_user_in_and_a_reused_token_is_rejected(client, frozen):
    user = make_user()
    device = totp_device(user)
    post_login(client, "alice", next_url="/?x=1")
    token = totp_token(device)
    response = client.post(reverse("core:mfa_verify"), {"token": token})
    assert response.status_code == 302 and response["Location"] == "/?x=1"
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(event_type="mfa.verify", outcome="success").count() == 1

    # Second login within the same 30 s step: the same token must not work again.
    client.post(reverse("core:logout"))
    post_login(client, "alice")
    response = client.post(reverse("core:mfa_verify"), {"token": token})
    assert response.status_code == 200
    assert "验证码不正确或已使用" in response.content.decode()
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(event_type="mfa.verify", outcome="failure").count() == 1


def test_wrong_tokens_are_throttled(client):
    user = make_user()
    device = totp_device(user)
    post_login(client, "alice")
    wrong = f"{(int(totp_token(device)) + 1) % 1000000:06d}"
    client.post(reverse("core:mfa_verify"), {"token": wrong})
    response = client.post(reverse("core:mfa_verify"), {"token": totp_token(device)})
    assert "尝试次数过多" in response.content.decode()
    assert client.get("/").status_code == 302


def test_first_login_enrols_totp_with_an_inline_svg_qr_code(client, frozen):
    make_user()
    response = post_login(client, "alice")
    assert response["Location"] == reverse("core:mfa_verify")
    response = client.get(reverse("core:mfa_verify"))
    assert response["Location"] == reverse("core:mfa_enroll")
    page = client.get(reverse("core:mfa_enroll")).content.decode()
    assert "<svg" in page and "<script" not in page and "<img" not in page
    device = TOTPDevice.objects.get(user__username="alice")
    assert not device.confirmed
    bad = client.post(
        reverse("core:mfa_enroll"), {"token": "000000" if totp_token(device) != "000000" else "111111"}
    )
    assert bad.status_code == 200
    frozen.shift(timedelta(seconds=5))  # past django-otp's throttle delay after one failure
    response = client.post(reverse("core:mfa_enroll"), {"token": totp_token(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200
    assert list(AuditEvent.objects.filter(event_type="mfa.enroll").values_list("outcome", flat=True)) == [
        "failure",
        "success",
    ]


def test_enrolment_is_closed_to_a_user_who_already_has_a_device(client):
    user = make_user()
    totp_device(user)
    post_login(client, "alice")
    assert client.get(reverse("core:mfa_enroll"))["Location"] == reverse("core:mfa_verify")


def test_bootstrap_admin_first_login_forces_a_password_change(client):
    user, password = bootstrap_admin(username="sysadmin", role="system", now=NOW)
    assert password is not None
    device = totp_device(user)
    post_login(client, "sysadmin", password)
    response = client.post(reverse("core:mfa_verify"), {"token": totp_token(device)})
    assert response["Location"] == reverse("core:password_change")
    assert client.get("/admin/")["Location"] == reverse("core:password_change")
    response = client.post(
        reverse("core:password_change"),
        {"old_password": password, "new_password1": "Nn7#newSecret!", "new_password2": "Nn7#newSecret!"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password
    # Still logged in and verified after the change (the session was re-bound, not lost).
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(event_type="user.password_change").count() == 1


def test_a_weak_new_password_is_refused_with_a_chinese_message(client):
    user = make_user(must_change_password=True)
    login_verified(client, user)
    response = client.post(
        reverse("core:password_change"),
        {"old_password": GOOD_PASSWORD, "new_password1": "short", "new_password2": "short"},
    )
    assert response.status_code == 200
    assert "密码至少需要 12 个字符" in response.content.decode()
    assert client.get("/")["Location"] == reverse("core:password_change")


@override_settings(PASSWORD_EXPIRY_DAYS=90)
def test_an_expired_password_forces_a_change(client, frozen):
    user = make_user()
    frozen.shift(timedelta(days=91))
    login_verified(client, user)
    assert client.get("/")["Location"] == reverse("core:password_change")


@override_settings(PASSWORD_EXPIRY_DAYS=90, PASSWORD_EXPIRY_WARNING_DAYS=14)
def test_login_warns_before_the_password_expires(client, frozen):
    user = make_user(must_change_password=False)
    device = totp_device(user)
    frozen.shift(timedelta(days=85))
    post_login(client, "alice")
    response = client.post(reverse("core:mfa_verify"), {"token": totp_token(device)}, follow=True)
    assert "密码将在 5 天内过期" in response.content.decode()


def test_logout_kills_the_session_server_side(client):
    user = make_user()
    login_verified(client, user)
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/").status_code == 200
    assert client.get(reverse("core:logout")).status_code == 405  # POST only (CSRF-protected)
    client.post(reverse("core:logout"))
    assert not Session.objects.filter(session_key=old_key).exists()
    assert not UserSession.objects.filter(session_key=old_key).exists()
    client.cookies[settings.SESSION_COOKIE_NAME] = old_key  # replay the old cookie
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(event_type="auth.logout").count() == 1


@override_settings(DEMO=True)
def test_demo_accounts_skip_mfa_and_forced_change_while_demo_is_on(client):
    make_user("demo_agent", is_demo=True, must_change_password=True)
    response = post_login(client, "demo_agent")
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


@override_settings(DEMO=False)
def test_demo_accounts_cannot_log_in_without_demo(client):
    make_user("demo_agent", is_demo=True)
    response = post_login(client, "demo_agent")
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_disabled_and_expired_accounts_cannot_log_in(client):
    make_user("gone", disabled_at=NOW, is_active=False)
    make_user("old", expires_at=NOW - timedelta(seconds=1))
    for name in ("gone", "old"):
        assert post_login(client, name).status_code == 200
        assert client.get("/").status_code == 302


def test_admin_login_goes_through_our_login_view(client):
    response = client.get("/admin/login/?next=/admin/core/user/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fadmin%2Fcore%2Fuser%2F"
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_open_redirect_in_next_is_ignored(client):
    user = make_user(admin_role="", must_change_password=False)
    device = totp_device(user)
    post_login(client, "alice", next_url="https://evil.example/")
    response = client.post(reverse("core:mfa_verify"), {"token": totp_token(device)})
    assert response["Location"] == "/"


def test_an_mfa_reset_never_bypasses_the_second_factor(client):
    secadmin = make_user("secadmin", admin_role="security", is_staff=True)
    user = make_user()
    login_verified(client, user)
    from core import identity

    identity.mfa_reset(actor=secadmin, user=user, now=NOW)
    assert client.get("/")["Location"].startswith("/login/")  # the session ended
    post_login(client, "alice")
    assert client.get("/")["Location"] == reverse("core:mfa_verify")
    assert client.get(reverse("core:mfa_verify"))["Location"] == reverse("core:mfa_enroll")
    assert AuditEvent.objects.filter(event_type="mfa.reset").count() == 1


def test_nobody_resets_their_own_second_factor():
    from django.core.exceptions import PermissionDenied

    from core import identity

    secadmin = make_user("secadmin", admin_role="security", is_staff=True)
    with pytest.raises(PermissionDenied):
        identity.mfa_reset(actor=secadmin, user=secadmin, now=NOW)
