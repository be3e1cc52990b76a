"""Per-request context (request id, client address) for the audit log, set by the middleware."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass

from django.http import HttpRequest

from core.net import client_ip


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    client_ip: str | None = None


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "minhu_request", default=None
)


def context_for(request: HttpRequest) -> RequestContext:
    rid = request.META.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex
    return RequestContext(request_id=rid, client_ip=client_ip(request))


def set_request_context(ctx: RequestContext | None) -> contextvars.Token[RequestContext | None]:
    return _current.set(ctx)


def reset_request_context(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)


def current_request_context(request: HttpRequest | None = None) -> RequestContext:
    if request is not None:
        existing = getattr(request, "minhu_context", None)
        if isinstance(existing, RequestContext):
            return existing
        return context_for(request)
    return _current.get() or RequestContext()
