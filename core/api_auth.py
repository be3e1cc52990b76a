"""Bearer-token authentication for the django-ninja API (AUTH-6).

``Authorization: Bearer mh_…``. Only the SHA-256 of a key is stored. A token is refused when it
was revoked, when its user is disabled, inactive or expired, or when the user's ``session_epoch``
moved on since it was issued (password change, disable, role change, admin kill). Routers use
``auth=ApiTokenAuth()``; the handler sees the user as ``request.auth`` and ``request.user``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from core.auth import DemoAwareModelBackend
from core.identity import api_token_hash
from core.models import ApiToken, User

# Write last_used_at at most once a minute per token.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_token_user(raw: str, *, now: datetime) -> User | None:
    """The live user behind a raw token, or None."""
    if not raw or len(raw) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=api_token_hash(raw)).first()
    if token is None or token.revoked_at is not None:
        return None
    user = token.user
    if token.epoch != user.session_epoch:
        return None
    if not DemoAwareModelBackend().user_can_authenticate(user):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    return user


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_user(token, now=timezone.now())
        if user is not None:
            request.user = user
        return user
