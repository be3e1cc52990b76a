"""A worker killed between claiming a notification and marking it delivered loses nothing and
doubles nothing (runs on both databases; the threaded variant is in test_concurrent_actions)."""

from __future__ import annotations

import datetime as dt

from orders.choices import EventType, NotificationChannel, OrderStatus
from orders.models import Notification
from orders.notifications import LoggingSmsGateway, claim, deliver_one, deliver_pending, lease
from orders.tests.factories import make_order, walk_to


def test_a_claimed_row_whose_worker_died_is_delivered_once_after_the_lease(cast, now, settings):
    settings.ORDERS_SMS_EVENT_TYPES = [EventType.DISPATCHED]
    LoggingSmsGateway.sent.clear()
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    row = Notification.objects.get(channel=NotificationChannel.SMS, recipient=cast.district_handler)

    t = now + dt.timedelta(hours=2)
    assert claim(row.pk, now=t) is not None  # the worker claims it … and is killed here
    # while the claim is live nobody else sends it
    assert deliver_one(row.pk, now=t + dt.timedelta(seconds=1)) is False
    assert deliver_pending(now=t + dt.timedelta(seconds=2)) == Notification.objects.exclude(pk=row.pk).count()
    key = f"minhu-notification-{row.pk}"
    assert key not in [k for _user, k, _text in LoggingSmsGateway.sent]
    row.refresh_from_db()
    assert row.delivered_at is None and row.attempts == 1
    # once the lease has run out the periodic task delivers it, once
    after = t + lease() + dt.timedelta(seconds=1)
    assert deliver_pending(now=after) == 1
    assert deliver_pending(now=after + dt.timedelta(minutes=5)) == 0
    assert [k for _user, k, _text in LoggingSmsGateway.sent].count(key) == 1
    row.refresh_from_db()
    assert row.delivered_at == after and row.attempts == 2


def test_a_failing_backend_leaves_the_row_for_a_retry(cast, now, settings, monkeypatch):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    row = Notification.objects.get(channel=NotificationChannel.IN_APP, recipient=cast.district_handler)

    def broken(self, notification):
        raise ConnectionError("gateway down")

    monkeypatch.setattr("orders.notifications.InAppBackend.send", broken)
    t = now + dt.timedelta(hours=2)
    assert deliver_one(row.pk, now=t) is False
    row.refresh_from_db()
    assert row.delivered_at is None and "gateway down" in row.last_error
    monkeypatch.undo()
    assert deliver_one(row.pk, now=t + dt.timedelta(minutes=2)) is True
    row.refresh_from_db()
    assert row.delivered_at is not None and row.last_error == ""
