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
