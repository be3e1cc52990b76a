"""What the database itself refuses: ratings out of range, a second warning, a second summons."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from whistles.choices import DeadlineKind, EventType, WarningLevel
from whistles.models import DepartmentRating, Summons, WhistleEvent, WhistleWarning
from whistles.tests.factories import blow, summons_of


@pytest.fixture
def whistle(cast, now):
    return blow(cast, now)


def test_a_rating_of_six_is_refused_by_the_database(cast, now, whistle):
    summons = summons_of(whistle, cast.dept)
    with pytest.raises(IntegrityError), transaction.atomic():
        DepartmentRating.objects.create(
            summons=summons,
            whistle=whistle,
            unit=cast.dept,
            rater_unit=cast.tree.street,
            rated_by=cast.secretary,
            timeliness=6,
            effectiveness=3,
            attitude=3,
            reported=False,
            rated_at=now,
        )


def test_a_second_summons_of_one_unit_is_refused(cast, now, whistle):
    first = summons_of(whistle, cast.dept)
    with pytest.raises(IntegrityError), transaction.atomic():
        Summons.objects.create(
            whistle=whistle,
            unit=cast.dept,
            status=first.status,
            acknowledge_by=first.acknowledge_by,
            arrive_by=first.arrive_by,
            acknowledge_warn_at=first.acknowledge_warn_at,
            arrive_warn_at=first.arrive_warn_at,
        )


def test_a_second_warning_of_the_same_kind_and_level_is_refused(cast, now, whistle):
    summons = summons_of(whistle, cast.dept)
    event = WhistleEvent.objects.get(whistle=whistle, type=EventType.BLOWN)
    values = {
        "whistle": whistle,
        "summons": summons,
        "kind": DeadlineKind.ACKNOWLEDGE,
        "level": WarningLevel.YELLOW,
        "due_at": summons.acknowledge_by,
        "recorded_at": now,
        "event": event,
    }
    WhistleWarning.objects.create(**values)
    with pytest.raises(IntegrityError), transaction.atomic():
        WhistleWarning.objects.create(**values)
