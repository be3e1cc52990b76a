"""Framework glue only (STYLE.md): authentication signals become audit rows and session stamps.

Every login attempt is audited (AUTH-3, AU-1): success, failure, and lockout (django-axes). No
password ever reaches a row: only the login name the client typed is kept, encoded by
``audit_record``.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from core.audit import audit_record
from core.models.audit import AuditOutcome

LOGOUT_REASON_ATTR = "_minhu_logout_reason"


def _typed_login(credentials: dict[str, Any] | None) -> str:
    if not credentials:
        return ""
    return str(credentials.get("username", "") or "")[:150]


@receiver(user_logged_in, dispatch_uid="minhu_audit_login")
def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from core.auth import session_start

    now = timezone.now()
    if request is not None and hasattr(request, "session"):
        session_start(request, user, now=now)
    audit_record(
        event_type="auth.login",
        actor=user,
        object_type="core.User",
        object_id=user.pk,
        request=request,
        now=now,
    )


@receiver(user_logged_out, dispatch_uid="minhu_audit_logout")
def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from core.models import UserSession

    if request is not None and getattr(request, "session", None) is not None and request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()
    if user is None:
        return
    reason = getattr(request, LOGOUT_REASON_ATTR, "user") if request is not None else "user"
    audit_record(
        event_type="auth.logout",
        actor=user,
        object_type="core.User",
        object_id=user.pk,
        extra={"reason": reason},
        request=request,
    )


@receiver(user_login_failed, dispatch_uid="minhu_audit_login_failed")
def _on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    locked = bool(getattr(request, "axes_locked_out", False))
    audit_record(
        event_type="auth.login_failed",
        actor_login=_typed_login(credentials),
        object_type="core.User",
        outcome=AuditOutcome.FAILURE,
        extra={"locked_out": locked},
        request=request,
    )


@receiver(user_locked_out, dispatch_uid="minhu_audit_lockout")
def _on_locked_out(sender: Any, request: Any = None, username: str | None = None, **kwargs: Any) -> None:
    audit_record(
        event_type="auth.lockout",
        actor_login=str(username or "")[:150],
        object_type="core.User",
        outcome=AuditOutcome.FAILURE,
        extra={"ip_address": kwargs.get("ip_address")},
        request=request,
    )
