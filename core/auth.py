"""Authentication backend and the session bookkeeping of a login (AUTH-4, AUTH-6).

Demo accounts (``User.is_demo``) authenticate only while ``settings.DEMO`` is True; the deploy
check (core.checks) refuses DEMO, so they can never log in to a production system. While DEMO is
on they skip the second factor and the forced password change (core.permissions.mfa_required,
``password_change_required``): they are shared, printed accounts for trying the system out.
"""

from __future__ import annotations

from datetime import datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils import timezone

from core.net import client_ip
from core.passwords import password_is_expired

SESSION_EPOCH_KEY = "_minhu_epoch"
SESSION_LOGIN_AT_KEY = "_minhu_login_at"
SESSION_SEEN_AT_KEY = "_minhu_seen_at"


class DemoAwareModelBackend(ModelBackend):
    """Model backend that refuses demo accounts unless DEMO=True, and disabled or expired accounts."""

    def user_can_authenticate(self, user: Any) -> bool:
        if getattr(user, "is_demo", False) and not settings.DEMO:
            return False
        if getattr(user, "disabled_at", None) is not None:
            return False
        expires_at = getattr(user, "expires_at", None)
        if expires_at is not None and timezone.now() >= expires_at:
            return False
        return bool(super().user_can_authenticate(user))


def session_store(session_key: str | None = None) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session_key)
    return store


def session_start(request: HttpRequest, user: Any, *, now: datetime) -> None:
    """Stamp a freshly logged-in session with the user's epoch and the login time, and track it."""
    from core.models import UserSession

    stamp = now.timestamp()
    request.session[SESSION_EPOCH_KEY] = user.session_epoch
    request.session[SESSION_LOGIN_AT_KEY] = stamp
    request.session[SESSION_SEEN_AT_KEY] = stamp
    key = request.session.session_key
    if key:
        UserSession.objects.update_or_create(
            session_key=key,
            defaults={"user": user, "created_at": now, "source_ip": client_ip(request)},
        )


def session_rebind(request: HttpRequest, user: Any, *, now: datetime) -> None:
    """Keep the current session alive after the user's own password change.

    The service ended every session of the user (epoch bumped); the request's session gets a new
    key, the new password hash and the new epoch, and keeps its login time and verified device.
    """
    from django.contrib.auth import update_session_auth_hash

    from core.models import UserSession

    update_session_auth_hash(request, user)  # cycles the key, stores the new hash
    request.session[SESSION_EPOCH_KEY] = user.session_epoch
    request.session[SESSION_SEEN_AT_KEY] = now.timestamp()
    key = request.session.session_key
    if key:
        UserSession.objects.update_or_create(
            session_key=key,
            defaults={"user": user, "created_at": now, "source_ip": client_ip(request)},
        )


def password_change_required(user: Any, *, now: datetime) -> bool:
    """Forced change: first login of a seeded account, an admin reset, or an expired password."""
    if getattr(user, "is_demo", False) and settings.DEMO:
        return False
    return bool(getattr(user, "must_change_password", False)) or password_is_expired(user, now=now)
