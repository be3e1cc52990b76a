"""Client address through the trusted-proxy rule."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, unless it is a trusted proxy: then the right-most untrusted X-Forwarded-For hop."""
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = set(settings.TRUSTED_PROXIES)
    if remote and remote in trusted:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if hop not in trusted:
                remote = hop
                break
    if remote is None:
        return None
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return None


def axes_client_ip(request: HttpRequest) -> str:
    return client_ip(request) or "0.0.0.0"  # noqa: S104  (a placeholder key, never bound)
