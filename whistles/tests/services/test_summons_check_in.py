"""summons_check_in: reporting on site with a point, or at a long whistle's meeting, with names."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from whistles import services
from whistles.choices import EventType, SummonsStatus, WhistleType
from whistles.errors import InvalidInput, TransitionNotAllowed
from whistles.models import WhistleEvent, WhistleNotification
from whistles.tests.conftest import HOUR, MINUTE
from whistles.tests.factories import SITE, blow, summons_of

NEAR = (SITE[0] + 0.001, SITE[1])  # about 85 m east


@pytest.fixture
def summons(cast, now):
    summons = summons_of(blow(cast, now, type=WhistleType.URGENT), cast.dept)
    services.summons_acknowledge(summons=summons, actor=cast.dept_handler, now=now + 5 * MINUTE)
    return summons


def test_check_in_on_site_records_point_distance_and_names(cast, now, summons):
    services.summons_check_in(
        summons=summons,
        actor=cast.dept_handler,
        now=now + HOUR,
        attendees=["王局长", " 李科长 ", "王局长", ""],
        point=NEAR,
    )

    summons.refresh_from_db()
    assert summons.status == SummonsStatus.CHECKED_IN
    assert summons.checked_in_at == now + HOUR
    assert summons.checked_in_by == cast.dept_handler
    assert (summons.check_in_lon, summons.check_in_lat) == NEAR
    assert summons.attendees == ["王局长", "李科长"]
    assert 80 < summons.distance_m < 90
    assert summons.overdue_at is None
    assert not summons.at_meeting


def test_check_in_appends_one_event_and_tells_the_street(cast, now, summons):
    event = services.summons_check_in(
        summons=summons, actor=cast.dept_handler, now=now + HOUR, attendees=["王局长"], point=SITE
    )

    assert event.type == EventType.CHECKED_IN
    assert event.seq == 3
    assert (event.from_status, event.to_status) == (SummonsStatus.ACKNOWLEDGED, SummonsStatus.CHECKED_IN)
    assert event.payload["attendees"] == ["王局长"]
    assert event.payload["late"] is False
    recipients = set(
        WhistleNotification.objects.filter(event=event).values_list("recipient__username", flat=True)
    )
    assert recipients == {"secretary", "street_handler"}


def test_arriving_without_acknowledging_acknowledges_too(cast, now):
    summons = summons_of(blow(cast, now), cast.dept2)

    event = services.summons_check_in(
        summons=summons, actor=cast.dept2_handler, now=now + 20 * MINUTE, attendees=["赵主任"], point=SITE
    )

    summons.refresh_from_db()
    assert summons.acknowledged_at == now + 20 * MINUTE
    assert summons.acknowledged_by == cast.dept2_handler
    assert event.payload["acknowledged_implicitly"] is True
    assert event.from_status == SummonsStatus.SUMMONED


def test_arriving_late_marks_the_summons_overdue(cast, now, summons):
    event = services.summons_check_in(
        summons=summons, actor=cast.dept_handler, now=now + 3 * HOUR, attendees=["王局长"], point=SITE
    )

    summons.refresh_from_db()
    assert summons.overdue_at == summons.arrive_by
    assert event.payload["late"] is True


def test_check_in_at_the_meeting_of_a_long_whistle(cast, now):
    whistle = blow(cast, now, type=WhistleType.LONG)
    summons = summons_of(whistle, cast.dept)
    assert whistle.meeting_at is not None

    services.summons_check_in(
        summons=summons,
        actor=cast.dept_handler,
        now=whistle.meeting_at,
        attendees=["王局长"],
        at_meeting=True,
    )

    summons.refresh_from_db()
    assert summons.at_meeting
    assert summons.check_in_lon is None
    assert summons.overdue_at is None


def test_a_meeting_check_in_on_a_whistle_without_meeting_is_refused(cast, now, summons):
    with pytest.raises(InvalidInput) as err:
        services.summons_check_in(
            summons=summons, actor=cast.dept_handler, now=now + HOUR, attendees=["王局长"], at_meeting=True
        )
    assert err.value.field == "at_meeting"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"attendees": ["王局长"]}, "point"),
        ({"attendees": [" ", ""], "point": SITE}, "attendees"),
        ({"attendees": ["王" * 33], "point": SITE}, "attendees"),
        ({"attendees": ["王局长"], "point": (0.0, 95.0)}, "point"),
    ],
)
def test_check_in_without_place_or_names_is_refused(cast, now, summons, kwargs, field):
    with pytest.raises(InvalidInput) as err:
        services.summons_check_in(summons=summons, actor=cast.dept_handler, now=now + HOUR, **kwargs)
    assert err.value.field == field
    summons.refresh_from_db()
    assert summons.status == SummonsStatus.ACKNOWLEDGED


@pytest.mark.parametrize("who", ["dept2_handler", "secretary", "outsider"])
def test_checking_in_for_another_unit_is_refused(cast, now, summons, who):
    with pytest.raises(PermissionDenied):
        services.summons_check_in(
            summons=summons, actor=getattr(cast, who), now=now + HOUR, attendees=["某人"], point=SITE
        )
    assert WhistleEvent.objects.filter(whistle=summons.whistle).count() == 2


def test_checking_in_twice_is_refused(cast, now, summons):
    services.summons_check_in(
        summons=summons, actor=cast.dept_handler, now=now + HOUR, attendees=["王"], point=SITE
    )

    with pytest.raises(TransitionNotAllowed):
        services.summons_check_in(
            summons=summons, actor=cast.dept_handler, now=now + 2 * HOUR, attendees=["王"], point=SITE
        )
