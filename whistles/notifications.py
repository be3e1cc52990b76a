"""The whistle outbox: recording rows in the action's transaction, and delivering them.

Symmetric with ``orders.notifications``: ``record_for`` writes one ``WhistleNotification`` per
(event, recipient, channel) inside the service's transaction (unique in the database); delivery
runs after commit (``whistles.tasks.deliver_whistle_notifications``) and again from a periodic
task for whatever a crash left behind. Delivering one row claims it with a conditional UPDATE (a
random token and a lease), sends it with the row as idempotency key, and marks ``delivered_at``
only where the token still matches — at most one sender, nothing lost.

Channels: in-app always (the row is the inbox entry); e-mail for ``WHISTLES_EMAIL_EVENT_TYPES``
when the user has an address; SMS for ``WHISTLES_SMS_EVENT_TYPES`` on urgent whistles (default:
being blown, and warnings) through the one SMS gateway of the platform (``orders.notifications``,
``ORDERS_SMS_BACKEND``). The recipient helper and the gateway are reused from the order outbox;
the backends here give whistle rows their own idempotency keys (the two outboxes number their
rows separately, so a shared key would let a gateway drop a genuine message).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Q

from orders.notifications import SmsGateway, sms_gateway
from orders.notifications import users_at as users_at
from orgs.models import Membership, UnitClosure
from whistles.choices import EventType, NotificationChannel
from whistles.models import WhistleEvent, WhistleNotification

logger = logging.getLogger("whistles.notifications")

DEFAULT_EMAIL_EVENT_TYPES = frozenset({EventType.BLOWN, EventType.TASK_ASSIGNED, EventType.DEADLINE_WARNING})
# SMS for these when the whistle is urgent (急哨: department heads on site now).
DEFAULT_SMS_EVENT_TYPES = frozenset({EventType.BLOWN, EventType.DEADLINE_WARNING})
DEFAULT_LEASE_SECONDS = 300
RETRY_SECONDS = 60
MAX_ATTEMPTS = 10


# --- recipients -----------------------------------------------------------------------------------


def users_answering_for(unit_ids: Iterable[int], roles: Iterable[str], kinds: Iterable[str]) -> list[Any]:
    """Active users holding one of ``roles`` at one of the units or an ancestor of ``kinds``
    (a department's people answer for its stations). One query."""
    ids = sorted(set(unit_ids))
    if not ids:
        return []
    memberships = (
        Membership.objects.filter(
            unit_id__in=UnitClosure.objects.filter(descendant_id__in=ids).values("ancestor_id"),
            unit__kind__in=list(kinds),
            role__in=list(roles),
            unit__is_active=True,
            user__is_active=True,
        )
        .select_related("user")
        .order_by("user_id")
    )
    seen: dict[int, Any] = {}
    for m in memberships:
        seen.setdefault(m.user_id, m.user)
    return list(seen.values())


# --- recording ----------------------------------------------------------------------------------


def _types(setting: str, default: frozenset[str]) -> frozenset[str]:
    value = getattr(settings, setting, None)
    return frozenset(value) if value is not None else default


def channels_for(event_type: str, user: Any, *, urgent: bool) -> list[str]:
    channels = [NotificationChannel.IN_APP.value]
    if getattr(user, "email", "") and event_type in _types(
        "WHISTLES_EMAIL_EVENT_TYPES", DEFAULT_EMAIL_EVENT_TYPES
    ):
        channels.append(NotificationChannel.EMAIL.value)
    if urgent and event_type in _types("WHISTLES_SMS_EVENT_TYPES", DEFAULT_SMS_EVENT_TYPES):
        channels.append(NotificationChannel.SMS.value)
    return channels


def record_for(
    event: WhistleEvent,
    recipients: Iterable[Any],
    *,
    title: str,
    body: str = "",
    urgent: bool = False,
    exclude: Any = None,
) -> list[WhistleNotification]:
    """Outbox rows for ``event``: one per recipient and channel (the actor is not told of their
    own action). Call inside the action's transaction."""
    rows: list[WhistleNotification] = []
    seen: set[int] = set()
    skip = getattr(exclude, "pk", None)
    for user in recipients:
        if user is None or user.pk in seen or user.pk == skip:
            continue
        seen.add(user.pk)
        rows.extend(
            WhistleNotification(
                event=event,
                recipient=user,
                channel=channel,
                title=title[:200],
                body=body,
                created_at=event.occurred_at,
            )
            for channel in channels_for(event.type, user, urgent=urgent)
        )
    if rows:
        WhistleNotification.objects.bulk_create(rows)
    return rows


# --- backends -----------------------------------------------------------------------------------


def idempotency_key(notification: WhistleNotification) -> str:
    """Distinct from the order outbox's keys (the two tables number their rows separately)."""
    return f"minhu-whistle-notification-{notification.pk}"


class Backend(Protocol):
    def send(self, notification: WhistleNotification) -> None: ...


class InAppBackend:
    """The row is the inbox entry: nothing to send."""

    def send(self, notification: WhistleNotification) -> None:
        return None


class EmailBackend:
    """Django's mail, with a stable Message-ID so a relay can drop a repeat."""

    def send(self, notification: WhistleNotification) -> None:
        address = notification.recipient.email
        if not address:
            return
        message = EmailMessage(
            subject=notification.title,
            body=notification.body or notification.title,
            to=[address],
            headers={"Message-ID": f"<{idempotency_key(notification)}@minhu.invalid>"},
        )
        message.send(fail_silently=False)


class SmsBackend:
    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway

    def send(self, notification: WhistleNotification) -> None:
        self.gateway.send(
            user=notification.recipient, text=notification.title, key=idempotency_key(notification)
        )


def backend_for(channel: str) -> Backend:
    if channel == NotificationChannel.IN_APP:
        return InAppBackend()
    if channel == NotificationChannel.EMAIL:
        return EmailBackend()
    if channel == NotificationChannel.SMS:
        return SmsBackend(sms_gateway())
    raise ValueError(f"unknown channel {channel!r}")


# --- delivery -----------------------------------------------------------------------------------


def lease() -> dt.timedelta:
    return dt.timedelta(
        seconds=int(getattr(settings, "WHISTLES_NOTIFICATION_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))
    )


def claim(notification_id: int, *, now: dt.datetime) -> str | None:
    """Claim one undelivered row for ``lease()``; the token, or None when another worker holds it
    or it is delivered already (a conditional UPDATE: at most one winner)."""
    token = secrets.token_hex(8)
    claimed = (
        WhistleNotification.objects.filter(
            pk=notification_id, delivered_at__isnull=True, attempts__lt=MAX_ATTEMPTS
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claim_token=token, claimed_until=now + lease(), attempts=F("attempts") + 1)
    )
    return token if claimed == 1 else None


def deliver_one(notification_id: int, *, now: dt.datetime) -> bool:
    """Claim, send and mark one row; True when this call delivered it."""
    token = claim(notification_id, now=now)
    if token is None:
        return False
    notification = WhistleNotification.objects.select_related("recipient").get(pk=notification_id)
    try:
        backend_for(notification.channel).send(notification)
    except Exception as exc:  # a failing backend must not stop the other rows; retried later
        logger.warning("delivery of whistle notification %s failed: %s", notification_id, exc)
        WhistleNotification.objects.filter(pk=notification_id, claim_token=token).update(
            last_error=str(exc)[:255], claimed_until=now + dt.timedelta(seconds=RETRY_SECONDS)
        )
        return False
    marked = WhistleNotification.objects.filter(
        pk=notification_id, claim_token=token, delivered_at__isnull=True
    ).update(delivered_at=now, claimed_until=None, last_error="")
    return marked == 1


def deliver_event(event_id: int, *, now: dt.datetime) -> int:
    """Deliver the event's undelivered rows; how many this call delivered."""
    ids = list(
        WhistleNotification.objects.filter(event_id=event_id, delivered_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    return sum(1 for pk in ids if deliver_one(pk, now=now))


def deliver_pending(*, now: dt.datetime, limit: int = 500) -> int:
    """Deliver what is left: undelivered rows with no live claim, oldest first."""
    ids = list(
        WhistleNotification.objects.filter(delivered_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if deliver_one(pk, now=now))
