"""Counters in the shared cache (Redis in production, so every app server sees the same counts).

- ``rate_limit(scope, ident, limit)``: at most ``limit`` hits per hour per client address and
  action (a fixed one-hour window); the caller passes ``core.net.client_ip`` as ``ident``.
- The follow-up lock: ``follow_locked`` / ``follow_miss`` / ``follow_clear`` count wrong phone
  digits per **order number** (not per address, so rotating addresses does not help): after
  ``FOLLOW_MAX_MISSES`` misses the number is locked for ``FOLLOW_LOCK_SECONDS``.

Keys hold a keyed hash of the identifier, never the address or order number itself.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from orders.errors import RateLimited

HOUR = 3600


def _digest(value: str) -> str:
    key = settings.SECRET_KEY.encode("utf-8")
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _bump(key: str, ttl: int) -> int:
    """Increment a counter that expires ``ttl`` seconds after its first hit."""
    if cache.add(key, 1, ttl):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, ttl)
        return 1


def rate_limit(scope: str, ident: str | None, limit: int, *, window: int = HOUR, message: str = "") -> None:
    """Count one hit; raise ``RateLimited`` once ``limit`` is exceeded within the window."""
    bucket = int(time.time()) // window
    key = f"intake:rl:{scope}:{_digest(ident or 'unknown')}:{bucket}"
    if _bump(key, window + 60) > limit:
        raise RateLimited(message or _("请求过于频繁，请稍后再试。"))


def _miss_key(number: str) -> str:
    return f"intake:follow:miss:{_digest(number.strip())}"


def _lock_key(number: str) -> str:
    return f"intake:follow:lock:{_digest(number.strip())}"


def follow_locked(number: str) -> bool:
    return bool(cache.get(_lock_key(number)))


def follow_miss(number: str) -> bool:
    """Record a wrong attempt; True when this miss locks the number."""
    lock_seconds = int(settings.FOLLOW_LOCK_SECONDS)
    misses = _bump(_miss_key(number), lock_seconds)
    if misses >= int(settings.FOLLOW_MAX_MISSES):
        cache.set(_lock_key(number), 1, lock_seconds)
        cache.delete(_miss_key(number))
        return True
    return False


def follow_clear(number: str) -> None:
    """A right answer forgets earlier misses."""
    cache.delete(_miss_key(number))
