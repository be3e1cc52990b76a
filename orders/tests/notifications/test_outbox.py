"""The outbox rows: who, which channels, no personal data; the in-app inbox."""

from __future__ import annotations

import pytest
from django.core import mail

from orders.choices import EventType, NotificationChannel, OrderStatus
from orders.models import Notification
from orders.notifications import channels_for, deliver_event, notification_mark_read
from orders.selectors import inbox_for
from orders.tests.factories import walk_to


def test_every_recipient_gets_one_row_per_channel(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    rows = Notification.objects.filter(event__type=EventType.DISPATCHED)
    keys = list(rows.values_list("event", "recipient", "channel"))
    assert len(keys) == len(set(keys))
    assert {r.recipient_id for r in rows} == {cast.district_handler.pk, cast.district_dispatcher.pk}


def test_the_actor_is_not_told_of_their_own_action(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_REVIEW, cast, now)
    assert not Notification.objects.filter(
        event__type=EventType.REPLIED, recipient=cast.district_handler
    ).exists()
    assert Notification.objects.filter(event__type=EventType.REPLIED, recipient=cast.city_dispatcher).exists()


def test_notifications_carry_no_personal_data(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_CALLBACK, cast, now)
    for n in Notification.objects.all():
        assert "13800138000" not in n.title + n.body and "张三" not in n.title + n.body


@pytest.mark.parametrize(
    ("event_type", "email", "channels"),
    [
        (EventType.DISPATCHED, "", ["in_app"]),
        (EventType.DISPATCHED, "a@example.org", ["in_app", "email"]),
        (EventType.ACCEPTED, "a@example.org", ["in_app"]),
        (EventType.SUPERVISED, "", ["in_app", "sms"]),
    ],
)
def test_channels_by_event_type(cast, event_type, email, channels):
    cast.district_handler.email = email
    assert channels_for(event_type, cast.district_handler) == channels


def test_email_is_sent_with_a_stable_message_id(cast, order, now):
    cast.district_handler.email = "district@example.org"
    cast.district_handler.save(update_fields=["email"])
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    row = Notification.objects.get(channel=NotificationChannel.EMAIL)
    mail.outbox.clear()
    assert deliver_event(row.event_id, now=now) >= 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["district@example.org"] and order.number in message.subject
    assert message.extra_headers["Message-ID"] == f"<minhu-notification-{row.pk}@minhu.invalid>"


def test_the_inbox_lists_and_marks_read(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    unread = list(inbox_for(cast.district_handler, unread_only=True))
    assert len(unread) == 1
    assert notification_mark_read(notification=unread[0], actor=cast.outsider, now=now) is False
    assert notification_mark_read(notification=unread[0], actor=cast.district_handler, now=now) is True
    assert notification_mark_read(notification=unread[0], actor=cast.district_handler, now=now) is False
    assert list(inbox_for(cast.district_handler, unread_only=True)) == []
    assert len(inbox_for(cast.district_handler)) == 1


def test_delivery_after_commit_runs_the_task(cast, order, now, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    assert callbacks  # the prompt delivery was scheduled after commit …
    # … and (Huey runs immediately in tests) delivered the rows
    assert not Notification.objects.filter(delivered_at__isnull=True).exists()
