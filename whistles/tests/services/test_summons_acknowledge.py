"""summons_acknowledge: the summoned department answers; refusals change nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from whistles import services
from whistles.choices import EventType, SummonsStatus, WhistleType
from whistles.errors import StaleTransition, TransitionNotAllowed
from whistles.models import Summons, WhistleEvent, WhistleNotification
from whistles.tests.conftest import HOUR, MINUTE
from whistles.tests.factories import blow, summons_of


@pytest.fixture
def summons(cast, now):
    return summons_of(blow(cast, now, type=WhistleType.URGENT), cast.dept)


def test_acknowledge_moves_the_summons_and_records_who(cast, now, summons):
    services.summons_acknowledge(
        summons=summons, actor=cast.dept_handler, now=now + 10 * MINUTE, note="马上出发"
    )

    summons.refresh_from_db()
    assert summons.status == SummonsStatus.ACKNOWLEDGED
    assert summons.acknowledged_at == now + 10 * MINUTE
    assert summons.acknowledged_by == cast.dept_handler
    assert summons.overdue_at is None
    assert summons.version == 1


def test_acknowledge_appends_one_timeline_event(cast, now, summons):
    event = services.summons_acknowledge(summons=summons, actor=cast.dept_handler, now=now + MINUTE)

    assert WhistleEvent.objects.filter(whistle=summons.whistle).count() == 2
    assert (event.seq, event.type, event.actor, event.actor_unit, event.summons) == (
        2,
        EventType.ACKNOWLEDGED,
        cast.dept_handler,
        cast.dept,
        summons,
    )
    assert (event.from_status, event.to_status) == (SummonsStatus.SUMMONED, SummonsStatus.ACKNOWLEDGED)
    assert event.payload["late"] is False


def test_acknowledge_tells_the_street(cast, now, summons):
    event = services.summons_acknowledge(summons=summons, actor=cast.dept_handler, now=now + MINUTE)

    recipients = set(
        WhistleNotification.objects.filter(event=event).values_list("recipient__username", flat=True)
    )
    assert recipients == {"secretary", "street_handler"}


def test_a_department_head_answers_for_its_station(cast, now):
    summons = summons_of(blow(cast, now, units=[cast.tree.station]), cast.tree.station)

    event = services.summons_acknowledge(summons=summons, actor=cast.dept_handler, now=now + MINUTE)

    assert event.actor_unit == cast.dept


def test_a_late_acknowledgement_marks_the_summons_overdue(cast, now, summons):
    event = services.summons_acknowledge(summons=summons, actor=cast.dept_handler, now=now + HOUR)

    summons.refresh_from_db()
    assert summons.overdue_at == summons.acknowledge_by
    assert event.payload["late"] is True


@pytest.mark.parametrize("who", ["dept2_handler", "secretary", "outsider", "station_handler"])
def test_acknowledging_for_another_unit_is_refused(cast, now, summons, who):
    with pytest.raises(PermissionDenied):
        services.summons_acknowledge(summons=summons, actor=getattr(cast, who), now=now + MINUTE)

    summons.refresh_from_db()
    assert summons.status == SummonsStatus.SUMMONED
    assert WhistleEvent.objects.filter(whistle=summons.whistle).count() == 1


def test_acknowledging_twice_is_refused(cast, now, summons):
    services.summons_acknowledge(summons=summons, actor=cast.dept_handler, now=now + MINUTE)

    with pytest.raises(TransitionNotAllowed, match="已响应"):
        services.summons_acknowledge(summons=summons, actor=cast.dept_handler, now=now + 2 * MINUTE)
    assert WhistleEvent.objects.filter(whistle=summons.whistle).count() == 2


def test_a_stale_copy_loses_to_the_first_acknowledgement(cast, now, summons):
    stale = Summons.objects.get(pk=summons.pk)
    services.summons_acknowledge(summons=summons, actor=cast.dept_handler, now=now + MINUTE)

    with pytest.raises(StaleTransition):
        services.summons_acknowledge(summons=stale, actor=cast.dept_handler, now=now + 2 * MINUTE)
    assert WhistleEvent.objects.filter(whistle=summons.whistle, type=EventType.ACKNOWLEDGED).count() == 1


def test_acknowledging_a_cancelled_whistle_is_refused(cast, now, summons):
    services.whistle_cancel(whistle=summons.whistle, actor=cast.secretary, now=now + MINUTE, reason="误报")
    summons.refresh_from_db()

    with pytest.raises(TransitionNotAllowed, match="已撤销"):
        services.summons_acknowledge(summons=summons, actor=cast.dept_handler, now=now + 2 * MINUTE)
