"""bootstrap_admins (AUTH-1, AC-3): three separated administrators, never a superuser."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from core import identity
from core.models import AuditEvent, User

pytestmark = pytest.mark.django_db


def test_bootstrap_creates_three_admins_with_one_time_passwords(capsys):
    call_command("bootstrap_admins")
    out = capsys.readouterr().out
    users = {u.username: u for u in User.objects.all()}
    assert set(users) == {"sysadmin", "secadmin", "auditadmin"}
    assert {u.admin_role for u in users.values()} == {"system", "security", "audit"}
    for user in users.values():
        assert user.must_change_password and user.is_staff and not user.is_superuser
        password = out.split(f"{user.username}: 已创建")[1].split("初始密码 ")[1].split()[0]
        assert len(password) >= 12 and user.check_password(password)
    assert AuditEvent.objects.filter(event_type="user.bootstrap_admin").count() == 3


def test_bootstrap_is_idempotent_and_takes_custom_logins(capsys):
    call_command("bootstrap_admins", system="root_sys")
    first = {u.username: u.password for u in User.objects.all()}
    capsys.readouterr()
    call_command("bootstrap_admins", system="root_sys")
    out = capsys.readouterr().out
    assert out.count("已存在") == 3 and "初始密码 " not in out
    assert {u.username: u.password for u in User.objects.all()} == first
    assert "root_sys" in first


def test_bootstrap_refuses_an_unknown_role():
    with pytest.raises(ValidationError):
        identity.bootstrap_admin(username="x", role="superuser", now=None)  # type: ignore[arg-type]


def test_a_duplicate_login_id_is_refused_case_insensitively():
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    identity.user_create(actor=None, username="Zhang", password="Kx9!mQ2#vL7pZr", now=now)
    with pytest.raises(ValidationError):
        identity.user_create(actor=None, username="zhang", password="Kx9!mQ2#vL7pZr", now=now)
    assert User.objects.count() == 1
