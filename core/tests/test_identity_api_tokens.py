"""API bearer tokens die with revocation, disabling and an epoch change (AUTH-6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from core import identity
from core.api_auth import ApiTokenAuth, api_token_user
from core.models import ApiToken, AuditEvent
from core.tests.identity_helpers import GOOD_PASSWORD, make_user

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 11, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def alice():
    return make_user()


@pytest.fixture
def issued(alice):
    return identity.api_token_create(actor=alice, user=alice, name="脚本", now=NOW)


def call(raw):
    request = RequestFactory().get("/api/v1/x", HTTP_AUTHORIZATION=f"Bearer {raw}")
    return ApiTokenAuth()(request), request


def test_a_live_token_authenticates_its_user_and_records_use(alice, issued):
    token, raw = issued
    user, request = call(raw)
    assert user == alice and request.user == alice
    token.refresh_from_db()
    assert token.last_used_at == NOW


def test_only_the_hash_of_the_key_is_stored_or_audited(issued):
    token, raw = issued
    assert raw not in token.key_hash and raw.startswith("mh_")
    row = AuditEvent.objects.get(event_type="api_token.create")
    assert raw not in str(row.after) + str(row.extra)


def test_an_unknown_or_malformed_token_is_refused():
    assert call("mh_nope")[0] is None
    assert call("x" * 500)[0] is None


def test_a_revoked_token_is_refused(alice, issued):
    token, raw = issued
    identity.api_token_revoke(actor=alice, token=token, now=NOW)
    assert call(raw)[0] is None


def test_a_disabled_users_token_is_refused(alice, issued):
    _token, raw = issued
    sysadmin = make_user("sysadmin", admin_role="system", is_staff=True)
    identity.user_disable(actor=sysadmin, user=alice, now=NOW)
    assert call(raw)[0] is None


def test_a_password_change_kills_the_token(alice, issued):
    _token, raw = issued
    identity.password_change(
        actor=alice, user=alice, old_password=GOOD_PASSWORD, new_password="Nn7#newSecret!", now=NOW
    )
    assert call(raw)[0] is None


def test_killing_sessions_kills_tokens(alice, issued):
    _token, raw = issued
    secadmin = make_user("secadmin", admin_role="security", is_staff=True)
    identity.sessions_kill_user(actor=secadmin, user=alice, now=NOW)
    assert call(raw)[0] is None


def test_an_expired_account_token_is_refused(alice, issued, frozen):
    _token, raw = issued
    alice.expires_at = NOW + timedelta(days=1)
    alice.save()
    assert call(raw)[0] == alice
    frozen.shift(timedelta(days=2))
    assert api_token_user(raw, now=NOW + timedelta(days=2)) is None


def test_nobody_issues_tokens_for_someone_else_but_the_security_admin(alice):
    bob = make_user("bob")
    with pytest.raises(PermissionDenied):
        identity.api_token_create(actor=bob, user=alice, name="x", now=NOW)
    secadmin = make_user("secadmin", admin_role="security", is_staff=True)
    identity.api_token_create(actor=secadmin, user=alice, name="x", now=NOW)
    assert ApiToken.objects.filter(user=alice).count() == 1
