"""AUTH-7: ``manage.py check --deploy`` is clean with production settings; the checks bite."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from core.checks import (
    demo_mode_refused,
    field_encryption_key_configured,
    no_superusers_in_production,
    password_profile_known,
)
from core.models import User

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.once
def test_check_deploy_passes_without_warnings_in_production(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in {"MINHU_ALLOW_DEV_KEY", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        SECURE_PRODUCTION="1",
        SECRET_KEY=secrets.token_urlsafe(64),
        DEBUG="0",
        DEMO="0",
        ALLOWED_HOSTS="minhu.example.cn",
        FIELD_ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        MINHU_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="minhu.settings",
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_refuses_demo():
    with override_settings(DEMO=True):
        assert [e.id for e in demo_mode_refused(None)] == ["minhu.E001"]
    with override_settings(DEMO=False):
        assert demo_mode_refused(None) == []


def test_the_deploy_check_refuses_an_unknown_password_profile():
    with override_settings(PASSWORD_PROFILE="WEAK"):
        assert [e.id for e in password_profile_known(None)] == ["minhu.E002"]


@pytest.mark.django_db
def test_the_deploy_check_warns_about_superusers_outside_debug():
    User.objects.create_superuser(username="root", password="x")
    with override_settings(DEBUG=False):
        assert [w.id for w in no_superusers_in_production(None, databases=["default"])] == ["minhu.W001"]
    with override_settings(DEBUG=True):
        assert no_superusers_in_production(None, databases=["default"]) == []
    User.objects.filter(username="root").update(is_active=False)
    with override_settings(DEBUG=False):
        assert no_superusers_in_production(None, databases=["default"]) == []


def test_the_deploy_check_requires_a_valid_field_encryption_key():
    with override_settings(FIELD_ENCRYPTION_KEY=""):
        assert [e.id for e in field_encryption_key_configured(None)] == ["minhu.E003"]
    with override_settings(FIELD_ENCRYPTION_KEY="bm90LTMyLWJ5dGVz"):  # "not-32-bytes"
        assert [e.id for e in field_encryption_key_configured(None)] == ["minhu.E004"]
    good = base64.b64encode(bytes(range(32))).decode()
    with override_settings(FIELD_ENCRYPTION_KEY=good, FIELD_CRYPTO_SCHEME="rot13"):
        assert [e.id for e in field_encryption_key_configured(None)] == ["minhu.E004"]
    with override_settings(FIELD_ENCRYPTION_KEY=good, FIELD_CRYPTO_SCHEME="aes"):
        assert field_encryption_key_configured(None) == []
