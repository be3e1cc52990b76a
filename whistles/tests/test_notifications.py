"""Delivery of the whistle outbox: after commit, exactly once, leftovers later, failures retried."""

from __future__ import annotations

import pytest

from orders.notifications import LoggingSmsGateway
from whistles import notifications
from whistles.choices import NotificationChannel, WhistleType
from whistles.models import WhistleNotification
from whistles.tasks import deliver_whistle_leftovers
from whistles.tests.conftest import MINUTE
from whistles.tests.factories import blow


def test_rows_are_delivered_after_commit(cast, now, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        whistle = blow(cast, now, type=WhistleType.SHORT)

    assert len(callbacks) == 1
    rows = WhistleNotification.objects.filter(event__whistle=whistle)
    assert rows.count() == 2
    assert all(r.delivered_at is not None and r.attempts == 1 for r in rows)


def test_nothing_is_delivered_before_commit(cast, now):
    whistle = blow(cast, now, type=WhistleType.SHORT)

    assert not WhistleNotification.objects.filter(event__whistle=whistle, delivered_at__isnull=False).exists()


def test_delivering_an_event_twice_sends_each_row_once(cast, now):
    LoggingSmsGateway.sent.clear()
    whistle = blow(cast, now, type=WhistleType.URGENT, units=[cast.dept])
    event = whistle.events.get()

    first = notifications.deliver_event(event.pk, now=now + MINUTE)
    second = notifications.deliver_event(event.pk, now=now + 2 * MINUTE)

    assert (first, second) == (2, 0)  # in-app and SMS to dept_handler
    assert [
        (uid, key.startswith("minhu-whistle-notification-")) for uid, key, _text in LoggingSmsGateway.sent
    ] == [(cast.dept_handler.pk, True)]


def test_the_periodic_task_delivers_leftovers(cast, now):
    whistle = blow(cast, now, type=WhistleType.SHORT)

    delivered = deliver_whistle_leftovers.call_local()

    assert delivered == 2
    assert not WhistleNotification.objects.filter(event__whistle=whistle, delivered_at__isnull=True).exists()


def test_a_live_claim_is_not_taken_twice(cast, now):
    blow(cast, now, type=WhistleType.SHORT)
    row = WhistleNotification.objects.order_by("pk")[0]

    assert notifications.claim(row.pk, now=now) is not None
    assert notifications.claim(row.pk, now=now + MINUTE) is None
    assert notifications.claim(row.pk, now=now + notifications.lease() + MINUTE) is not None


def test_a_failing_backend_leaves_the_row_for_a_retry(cast, now, monkeypatch):
    blow(cast, now, type=WhistleType.SHORT, units=[cast.dept])
    row = WhistleNotification.objects.get(channel=NotificationChannel.IN_APP)

    class Broken:
        def send(self, notification):
            raise RuntimeError("网关不可用")

    monkeypatch.setattr(notifications, "backend_for", lambda channel: Broken())
    assert notifications.deliver_one(row.pk, now=now) is False
    row.refresh_from_db()
    assert (row.delivered_at, row.last_error, row.attempts) == (None, "网关不可用", 1)

    monkeypatch.undo()
    assert notifications.deliver_pending(now=now + 2 * MINUTE) == 1
    row.refresh_from_db()
    assert row.delivered_at == now + 2 * MINUTE
    assert row.last_error == ""


@pytest.mark.parametrize("channel", ["fax"])
def test_an_unknown_channel_is_a_programming_error(channel):
    with pytest.raises(ValueError, match="unknown channel"):
        notifications.backend_for(channel)
