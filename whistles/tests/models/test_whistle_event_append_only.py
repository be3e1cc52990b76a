"""The whistle timeline is append-only: the model layer and the database triggers refuse changes."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from whistles.choices import EventType
from whistles.models import WhistleEvent
from whistles.tests.factories import blow


@pytest.fixture
def event(cast, now):
    return WhistleEvent.objects.get(whistle=blow(cast, now))


def test_saving_an_existing_event_is_refused(event):
    event.note = "changed"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    assert WhistleEvent.objects.get(pk=event.pk).note == ""


def test_deleting_an_event_is_refused(event):
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    assert WhistleEvent.objects.filter(pk=event.pk).exists()


def test_queryset_update_and_delete_are_refused(event):
    with pytest.raises(TypeError):
        WhistleEvent.objects.filter(pk=event.pk).update(note="x")
    with pytest.raises(TypeError):
        WhistleEvent.objects.filter(pk=event.pk).delete()
    assert WhistleEvent.objects.get(pk=event.pk).note == ""


def test_raw_sql_update_is_refused_by_the_trigger(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE whistles_whistleevent SET note = 'forged' WHERE id = %s", [event.pk])
    assert WhistleEvent.objects.get(pk=event.pk).note == ""


def test_raw_sql_delete_is_refused_by_the_trigger(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM whistles_whistleevent WHERE id = %s", [event.pk])
    assert WhistleEvent.objects.filter(pk=event.pk).exists()


def test_two_events_with_one_seq_are_refused(event):
    with pytest.raises(IntegrityError), transaction.atomic():
        WhistleEvent.objects.create(
            whistle=event.whistle, seq=1, type=EventType.CLOSED, occurred_at=event.occurred_at
        )
