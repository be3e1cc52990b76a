"""System checks: the deploy check refuses the demo mode and warns about superusers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError


@register(Tags.security, deploy=True)
def demo_mode_refused(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if getattr(settings, "DEMO", False):
        return [Error("DEMO=True enables shared demo accounts; never deploy it.", id="minhu.E001")]
    return []


@register(Tags.security, deploy=True)
def password_profile_known(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    from core.passwords import password_profile

    try:
        password_profile()
    except ValueError as exc:
        return [Error(str(exc), id="minhu.E002")]
    return []


@register(Tags.security, Tags.database, deploy=True)
def no_superusers_in_production(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Administrators are made by ``bootstrap_admins`` (three separated roles, AC-3), never by
    ``createsuperuser``; a superuser outside DEBUG defeats the separation of duties.

    Needs the database: runs with ``manage.py check --deploy --database default``."""
    if settings.DEBUG or not databases:
        return []
    from core.models import User

    try:
        count = User.objects.filter(is_superuser=True, is_active=True).count()
    except DatabaseError:  # not migrated yet
        return []
    if count:
        return [
            Warning(
                f"{count} active superuser account(s) exist while DEBUG is off.",
                hint="Disable them; create administrators with `manage.py bootstrap_admins`.",
                id="minhu.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def field_encryption_key_configured(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """PI-3: personal data is encrypted with a key kept outside the database. In production the
    key must be given (``FIELD_ENCRYPTION_KEY``), never derived from ``SECRET_KEY``."""
    from django.core.exceptions import ImproperlyConfigured

    from core.crypto import current_scheme

    if not str(getattr(settings, "FIELD_ENCRYPTION_KEY", "") or "").strip():
        return [
            Error(
                "FIELD_ENCRYPTION_KEY is not set; phone and ID numbers cannot be encrypted with a "
                "key kept outside the database.",
                hint="Set it to the base64 of 32 random bytes (e.g. `openssl rand -base64 32`).",
                id="minhu.E003",
            )
        ]
    from core.crypto import keyring

    try:
        keyring()
        current_scheme()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="minhu.E004")]
    return []
