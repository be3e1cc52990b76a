"""AC-4: accounts inactive for 90 days are disabled (service, command, Huey task)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from core import identity
from core.identity import accounts_disable_stale
from core.models import AuditEvent, User
from core.tasks import disable_stale_accounts_task
from core.tests.identity_helpers import GOOD_PASSWORD, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_an_account_without_login_for_90_days_is_disabled(frozen):
    never = make_user("never")  # joined T0, never logged in
    active = make_user("active", last_login=T0 + timedelta(days=60))
    frozen.shift(timedelta(days=89))
    assert accounts_disable_stale(now=T0 + timedelta(days=89)) == []
    frozen.shift(timedelta(days=1, seconds=1))
    now = T0 + timedelta(days=90, seconds=1)
    assert accounts_disable_stale(now=now) == ["never"]
    never.refresh_from_db()
    active.refresh_from_db()
    assert never.disabled_at == now and not never.is_active
    assert active.is_active
    row = AuditEvent.objects.get(event_type="user.disable")
    assert row.actor_login == "system" and row.extra["reason"] == "inactive"
    # Running twice changes nothing more.
    assert accounts_disable_stale(now=now) == []
    assert AuditEvent.objects.filter(event_type="user.disable").count() == 1


def test_a_stale_account_cannot_log_in_until_re_enabled(frozen):
    make_user("alice")
    frozen.shift(timedelta(days=91))
    now = T0 + timedelta(days=91)
    disable_stale_accounts_task.call_local()
    client = Client()
    response = client.post("/login/", {"username": "alice", "password": GOOD_PASSWORD})
    assert response.status_code == 200 and "已停用" in response.content.decode()
    sysadmin = make_user("sysadmin", admin_role="system", is_staff=True)
    identity.user_enable(actor=sysadmin, user=User.objects.get(username="alice"), now=now)
    # Re-enabling restarts the clock: the next sweep leaves alice alone.
    assert "alice" not in accounts_disable_stale(now=now + timedelta(days=1))
    assert client.post("/login/", {"username": "alice", "password": GOOD_PASSWORD}).status_code == 302


def test_the_command_has_a_dry_run(frozen, capsys):
    make_user("old")
    frozen.shift(timedelta(days=100))
    call_command("disable_stale_accounts", "--dry-run")
    assert "将停用 old" in capsys.readouterr().out
    assert User.objects.get(username="old").is_active
    call_command("disable_stale_accounts")
    assert not User.objects.get(username="old").is_active


def test_the_threshold_follows_the_setting(frozen, settings):
    settings.ACCOUNT_INACTIVE_DAYS = 30
    make_user("short")
    assert accounts_disable_stale(now=T0 + timedelta(days=31)) == ["short"]
