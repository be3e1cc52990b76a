"""The notification outbox: recording rows in the action's transaction, and delivering them.

Recording (``record_for``) happens inside the service's transaction: one ``Notification`` per
(event, recipient, channel) — unique in the database. Delivery happens after commit (the
``deliver_notifications`` task) and again from a periodic task for whatever a crash left behind.

Delivery of one row (``deliver_one``):

1. **claim** it with a conditional UPDATE (undelivered, and no live claim): a random token and a
   lease (``ORDERS_NOTIFICATION_LEASE_SECONDS``, default 300). Two workers can never both claim it;
2. **send** through the channel's backend, with the row id as idempotency key (the e-mail's
   Message-ID, the SMS gateway's request id), so a gateway that already accepted it drops a repeat;
3. **mark** ``delivered_at`` only where the token still matches.

A worker killed after the claim leaves a row whose lease runs out: the periodic task claims it
again, so nothing is lost; a worker that finished marked it, so nothing is sent twice.

Backends: the in-app inbox is the row itself (``read_at`` marks it read; "delivering" it just
publishes it); e-mail through Django's mail; SMS through a gateway interface chosen by
``ORDERS_SMS_BACKEND`` (dotted path; default a backend that only logs). Which channels an event
type uses: in-app always; e-mail for ``ORDERS_EMAIL_EVENT_TYPES`` when the user has an address;
SMS for ``ORDERS_SMS_EVENT_TYPES``.
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
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from orders.choices import EventType, NotificationChannel
from orders.models import Notification, OrderEvent
from orgs.models import Membership, UnitClosure

logger = logging.getLogger("orders.notifications")

DEFAULT_EMAIL_EVENT_TYPES = frozenset(
    {
        EventType.DISPATCHED,
        EventType.URGED,
        EventType.SUPERVISED,
        EventType.ESCALATED,
        EventType.DEADLINE_WARNING,
        EventType.REVIEW_SENT_BACK,
        EventType.REOPENED,
    }
)
DEFAULT_SMS_EVENT_TYPES = frozenset({EventType.SUPERVISED, EventType.ESCALATED})
DEFAULT_LEASE_SECONDS = 300
RETRY_SECONDS = 60
MAX_ATTEMPTS = 10


# --- recipients -----------------------------------------------------------------------------------


def users_at(unit_ids: Iterable[int | None], roles: Iterable[str]) -> list[Any]:
    """Active users holding one of ``roles`` at exactly one of the units."""
    ids = [u for u in unit_ids if u is not None]
    if not ids:
        return []
    memberships = (
        Membership.objects.filter(
            unit_id__in=ids, role__in=list(roles), unit__is_active=True, user__is_active=True
        )
        .select_related("user")
        .order_by("user_id")
    )
    seen: dict[int, Any] = {}
    for m in memberships:
        seen.setdefault(m.user_id, m.user)
    return list(seen.values())


def users_nearest(unit_id: int | None, roles: Iterable[str]) -> list[Any]:
    """Users with one of ``roles`` at the nearest of ``unit_id`` and its ancestors that has any."""
    if unit_id is None:
        return []
    rows = list(
        Membership.objects.filter(
            unit_id__in=UnitClosure.objects.filter(descendant_id=unit_id).values("ancestor_id"),
            role__in=list(roles),
            unit__is_active=True,
            user__is_active=True,
        )
        .select_related("user", "unit")
        .defer("unit__boundary")  # a city's polygon, parsed for every registration otherwise
        .order_by("-unit__level", "user_id")
    )
    if not rows:
        return []
    level = rows[0].unit.level
    seen: dict[int, Any] = {}
    for m in rows:
        if m.unit.level == level:
            seen.setdefault(m.user_id, m.user)
    return list(seen.values())


# --- recording ----------------------------------------------------------------------------------


def _types(setting: str, default: frozenset[str]) -> frozenset[str]:
    value = getattr(settings, setting, None)
    return frozenset(value) if value is not None else default


def channels_for(event_type: str, user: Any) -> list[str]:
    channels = [NotificationChannel.IN_APP.value]
    if getattr(user, "email", "") and event_type in _types(
        "ORDERS_EMAIL_EVENT_TYPES", DEFAULT_EMAIL_EVENT_TYPES
    ):
        channels.append(NotificationChannel.EMAIL.value)
    if event_type in _types("ORDERS_SMS_EVENT_TYPES", DEFAULT_SMS_EVENT_TYPES):
        channels.append(NotificationChannel.SMS.value)
    return channels


def title_for(event: OrderEvent, number: str) -> str:
    return _("工单%(number)s：%(what)s") % {"number": number, "what": EventType(event.type).label}


def rows_for(
    event: OrderEvent, recipients: Iterable[Any], *, number: str, body: str = "", exclude: Any = None
) -> list[Notification]:
    """The unsaved outbox rows for ``event``: one per recipient and channel (the actor is not told
    of their own action). No personal data goes into the text."""
    rows: list[Notification] = []
    seen: set[int] = set()
    skip = getattr(exclude, "pk", None)
    title = title_for(event, number)
    for user in recipients:
        if user is None or user.pk in seen or user.pk == skip:
            continue
        seen.add(user.pk)
        rows.extend(
            Notification(
                event=event,
                recipient=user,
                channel=channel,
                title=title[:200],
                body=body,
                created_at=event.occurred_at,
            )
            for channel in channels_for(event.type, user)
        )
    return rows


def record_for(
    event: OrderEvent, recipients: Iterable[Any], *, number: str, body: str = "", exclude: Any = None
) -> list[Notification]:
    """Write ``rows_for``'s outbox rows; call inside the action's transaction."""
    rows = rows_for(event, recipients, number=number, body=body, exclude=exclude)
    if rows:
        Notification.objects.bulk_create(rows)
    return rows


# --- backends -----------------------------------------------------------------------------------


class Backend(Protocol):
    def send(self, notification: Notification) -> None: ...


class InAppBackend:
    """The row is the inbox entry: nothing to send."""

    def send(self, notification: Notification) -> None:
        return None


class EmailBackend:
    """Django's mail, with a stable Message-ID so a relay can drop a repeat."""

    def send(self, notification: Notification) -> None:
        address = notification.recipient.email
        if not address:
            return
        message = EmailMessage(
            subject=notification.title,
            body=notification.body or notification.title,
            to=[address],
            headers={"Message-ID": f"<minhu-notification-{notification.pk}@minhu.invalid>"},
        )
        message.send(fail_silently=False)


class SmsGateway(Protocol):
    """An SMS gateway: send ``text`` to the user (the gateway resolves the user's number in its own
    directory); ``key`` is an idempotency key the gateway uses to drop repeats."""

    def send(self, *, user: Any, text: str, key: str) -> None: ...


class LoggingSmsGateway:
    """Writes the message to the log instead of sending it (development, demo, tests)."""

    sent: list[tuple[int, str, str]] = []

    def send(self, *, user: Any, text: str, key: str) -> None:
        logger.info("sms to user %s (key %s): %s", user.pk, key, text)
        LoggingSmsGateway.sent.append((user.pk, key, text))


class SmsBackend:
    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway

    def send(self, notification: Notification) -> None:
        self.gateway.send(
            user=notification.recipient, text=notification.title, key=f"minhu-notification-{notification.pk}"
        )


def sms_gateway() -> SmsGateway:
    path = getattr(settings, "ORDERS_SMS_BACKEND", "orders.notifications.LoggingSmsGateway")
    gateway: SmsGateway = import_string(path)()
    return gateway


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
        seconds=int(getattr(settings, "ORDERS_NOTIFICATION_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))
    )


def claim(notification_id: int, *, now: dt.datetime) -> str | None:
    """Claim one undelivered row for ``lease()``; returns the claim token, or None if another
    worker holds it or it is already delivered (a conditional UPDATE: at most one winner)."""
    token = secrets.token_hex(8)
    claimed = (
        Notification.objects.filter(pk=notification_id, delivered_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claim_token=token, claimed_until=now + lease(), attempts=F("attempts") + 1)
    )
    return token if claimed == 1 else None


def deliver_one(notification_id: int, *, now: dt.datetime) -> bool:
    """Claim, send and mark one row; True when this call delivered it."""
    token = claim(notification_id, now=now)
    if token is None:
        return False
    notification = Notification.objects.select_related("recipient", "event").get(pk=notification_id)
    try:
        backend_for(notification.channel).send(notification)
    except Exception as exc:  # a backend failure must not stop the other rows; retried later
        logger.warning("delivery of notification %s failed: %s", notification_id, exc)
        Notification.objects.filter(pk=notification_id, claim_token=token).update(
            last_error=str(exc)[:255], claimed_until=now + dt.timedelta(seconds=RETRY_SECONDS)
        )
        return False
    marked = Notification.objects.filter(
        pk=notification_id, claim_token=token, delivered_at__isnull=True
    ).update(delivered_at=now, claimed_until=None, last_error="")
    return marked == 1


def deliver_event(event_id: int, *, now: dt.datetime) -> int:
    """Deliver the event's undelivered rows; returns how many this call delivered."""
    ids = list(
        Notification.objects.filter(event_id=event_id, delivered_at__isnull=True).values_list("pk", flat=True)
    )
    return sum(1 for pk in ids if deliver_one(pk, now=now))


def deliver_pending(*, now: dt.datetime, limit: int = 500) -> int:
    """Deliver what is left: undelivered rows with no live claim, oldest first."""
    ids = list(
        Notification.objects.filter(delivered_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if deliver_one(pk, now=now))


def notification_mark_read(*, notification: Notification, actor: Any, now: dt.datetime) -> bool:
    """Mark an in-app notification read by its recipient; True when it changed."""
    if notification.recipient_id != getattr(actor, "pk", None):
        return False
    return (
        Notification.objects.filter(pk=notification.pk, recipient_id=actor.pk, read_at__isnull=True).update(
            read_at=now
        )
        == 1
    )
