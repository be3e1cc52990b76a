"""whistle_cancel: the blowing unit withdraws a whistle."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from whistles import services
from whistles.choices import EventType, SummonsStatus, TaskStatus, WhistleStatus
from whistles.errors import InvalidInput, TransitionNotAllowed
from whistles.models import DepartmentRating, WhistleEvent, WhistleNotification
from whistles.tests.conftest import HOUR, MINUTE
from whistles.tests.factories import SITE, blow, summons_of


@pytest.fixture
def whistle(cast, now):
    whistle = blow(cast, now)
    arrived = summons_of(whistle, cast.dept)
    services.summons_check_in(
        summons=arrived, actor=cast.dept_handler, now=now + HOUR, attendees=["王"], point=SITE
    )
    services.whistle_task_assign(
        summons=arrived, actor=cast.secretary, now=now + HOUR, description="排查", due_at=now + 3 * HOUR
    )
    return whistle


def test_cancel_releases_waiting_departments_and_cancels_tasks(cast, now, whistle):
    event = services.whistle_cancel(
        whistle=whistle, actor=cast.secretary, now=now + 2 * HOUR, reason="已由燃气公司处置"
    )

    whistle.refresh_from_db()
    assert (whistle.status, whistle.cancel_reason, whistle.closed_at) == (
        WhistleStatus.CANCELLED,
        "已由燃气公司处置",
        now + 2 * HOUR,
    )
    assert summons_of(whistle, cast.dept).status == SummonsStatus.CHECKED_IN  # reported stays reported
    assert summons_of(whistle, cast.dept2).status == SummonsStatus.CANCELLED
    assert set(whistle.tasks.values_list("status", flat=True)) == {TaskStatus.CANCELLED}
    assert not DepartmentRating.objects.exists()
    assert (event.type, event.from_status, event.to_status) == (
        EventType.CANCELLED,
        WhistleStatus.OPEN,
        WhistleStatus.CANCELLED,
    )
    assert event.payload["released"] == [cast.dept2.pk]


def test_cancel_appends_one_event_and_tells_the_departments(cast, now, whistle):
    before = WhistleEvent.objects.filter(whistle=whistle).count()
    event = services.whistle_cancel(whistle=whistle, actor=cast.secretary, now=now + 2 * HOUR, reason="误报")

    assert WhistleEvent.objects.filter(whistle=whistle).count() == before + 1
    told = set(WhistleNotification.objects.filter(event=event).values_list("recipient__username", flat=True))
    assert told == {"dept_handler", "dept2_handler"}


def test_cancel_needs_a_reason(cast, now, whistle):
    with pytest.raises(InvalidInput) as err:
        services.whistle_cancel(whistle=whistle, actor=cast.secretary, now=now + MINUTE, reason=" ")
    assert err.value.field == "reason"


@pytest.mark.parametrize("who", ["dept_handler", "other_secretary", "outsider"])
def test_cancelling_someone_elses_whistle_is_refused(cast, now, whistle, who):
    with pytest.raises(PermissionDenied):
        services.whistle_cancel(whistle=whistle, actor=getattr(cast, who), now=now + MINUTE, reason="误报")
    whistle.refresh_from_db()
    assert whistle.status == WhistleStatus.OPEN


def test_a_cancelled_whistle_cannot_be_cancelled_or_closed(cast, now, whistle):
    services.whistle_cancel(whistle=whistle, actor=cast.secretary, now=now + MINUTE, reason="误报")

    with pytest.raises(TransitionNotAllowed):
        services.whistle_cancel(whistle=whistle, actor=cast.secretary, now=now + 2 * MINUTE, reason="误报")
    with pytest.raises(TransitionNotAllowed):
        services.whistle_close(
            whistle=whistle, actor=cast.secretary, now=now + 2 * MINUTE, result="x", ratings={}
        )
