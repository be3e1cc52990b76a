"""Request context (request id, client address) and the session policy (AUTH-4, AUTH-6)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from core.auth import (
    SESSION_EPOCH_KEY,
    SESSION_LOGIN_AT_KEY,
    SESSION_SEEN_AT_KEY,
    password_change_required,
)
from core.permissions import mfa_required, user_is_verified
from core.request_context import context_for, reset_request_context, set_request_context
from core.signals import LOGOUT_REASON_ATTR

BACKGROUND_HEADER = "HTTP_X_MINHU_BACKGROUND"
# Refresh the idle stamp at most this often, so not every request rewrites the session row.
SEEN_REFRESH_SECONDS = 30


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ctx = context_for(request)
        request.minhu_context = ctx  # type: ignore[attr-defined]
        token = set_request_context(ctx)
        try:
            response = self.get_response(request)
        finally:
            reset_request_context(token)
        response["X-Request-ID"] = ctx.request_id
        return response


@cache
def _pending_paths() -> dict[str, frozenset[str]]:
    """Paths a half-logged-in user may still reach: the MFA steps, the password change, logout."""
    mfa = frozenset(reverse(n) for n in ("core:mfa_verify", "core:mfa_enroll", "core:logout"))
    password = frozenset(reverse(n) for n in ("core:password_change", "core:logout"))
    return {"mfa": mfa, "password": password}


def _idle_exempt(user: Any) -> bool:
    """Hook: ``SESSION_IDLE_EXEMPT`` names a callable ``(user) -> bool`` whose users have no idle
    limit (meant for the wall-display role later). Unset: nobody is exempt; the absolute limit
    holds for everyone."""
    path = getattr(settings, "SESSION_IDLE_EXEMPT", "")
    if not path:
        return False
    return bool(import_string(path)(user))


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


class SessionPolicyMiddleware:
    """Session policy for logged-in browsers (AUTH-4, AUTH-5, AUTH-6, AUTH-2).

    1. The session must carry the user's current ``session_epoch`` (stamped at login): a disable,
       password change, role change or admin kill bumps it and the session is logged out.
    2. Idle limit ``SESSION_IDLE_SECONDS`` and absolute limit ``SESSION_ABSOLUTE_SECONDS``.
       Requests with ``X-Minhu-Background: 1`` (polling) do not extend the idle clock.
    3. A user who needs a second factor and has not passed it reaches only the MFA pages and
       logout; a user who must change the password reaches only that page and logout.

    Ended sessions get a redirect to the login page (a 401 JSON answer under ``/api/``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        now = timezone.now()
        reason = self._ended(request, user, now.timestamp())
        if reason:
            setattr(request, LOGOUT_REASON_ATTR, reason)
            logout(request)
            if _is_api(request):
                return JsonResponse({"detail": "会话已结束，请重新登录。"}, status=401)
            return redirect_to_login(request.get_full_path())
        blocked = self._pending_step(request, user, now)
        if blocked is not None:
            return blocked
        if request.META.get(BACKGROUND_HEADER) != "1":
            seen = float(request.session.get(SESSION_SEEN_AT_KEY, 0))
            if now.timestamp() - seen >= SEEN_REFRESH_SECONDS:
                request.session[SESSION_SEEN_AT_KEY] = now.timestamp()
        return self.get_response(request)

    @staticmethod
    def _ended(request: HttpRequest, user: Any, now: float) -> str:
        session = request.session
        if session.get(SESSION_EPOCH_KEY) != user.session_epoch:
            return "epoch"
        if getattr(user, "disabled_at", None) is not None or not user.is_active:
            return "disabled"
        login_at = float(session.get(SESSION_LOGIN_AT_KEY, 0))
        if now - login_at > int(settings.SESSION_ABSOLUTE_SECONDS):
            return "absolute_timeout"
        seen = float(session.get(SESSION_SEEN_AT_KEY, 0))
        if now - seen > int(settings.SESSION_IDLE_SECONDS) and not _idle_exempt(user):
            return "idle_timeout"
        return ""

    @staticmethod
    def _pending_step(request: HttpRequest, user: Any, now: Any) -> HttpResponse | None:
        path = request.path_info
        if path.startswith(settings.STATIC_URL):
            return None
        paths = _pending_paths()
        if mfa_required(user) and not user_is_verified(user):
            if path in paths["mfa"]:
                return None
            if _is_api(request):
                return JsonResponse({"detail": "需要完成双因素认证。"}, status=401)
            return redirect("core:mfa_verify")
        if password_change_required(user, now=now):
            if path in paths["password"]:
                return None
            if _is_api(request):
                return JsonResponse({"detail": "需要先修改密码。"}, status=401)
            return redirect("core:password_change")
        return None
