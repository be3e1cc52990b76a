"""whistle_sweep: yellow and red warnings recorded once, overdue summonses and tasks marked."""

from __future__ import annotations

import pytest

from whistles import services
from whistles.choices import DeadlineKind, EventType, WarningLevel, WhistleType
from whistles.models import Summons, WhistleEvent, WhistleNotification, WhistleWarning
from whistles.services import RatingInput
from whistles.tests.conftest import HOUR, MINUTE
from whistles.tests.factories import SITE, blow, summons_of


def warnings_of(summons):
    return set(WhistleWarning.objects.filter(summons=summons).values_list("kind", "level"))


@pytest.fixture
def whistle(cast, now):
    return blow(
        cast, now, type=WhistleType.URGENT
    )  # acknowledge 30 min (yellow 22.5), arrive 2 h (yellow 1.5 h)


def test_nothing_is_due_at_first(now, whistle):
    result = services.whistle_sweep(now=now + 20 * MINUTE)

    assert result.warnings == 0
    assert not WhistleWarning.objects.exists()


def test_a_yellow_acknowledge_warning_is_recorded_once_across_two_runs(cast, now, whistle):
    first = services.whistle_sweep(now=now + 23 * MINUTE)
    second = services.whistle_sweep(now=now + 24 * MINUTE)

    assert first.warnings == 2  # both departments
    assert second.warnings == 0
    for unit in (cast.dept, cast.dept2):
        assert warnings_of(summons_of(whistle, unit)) == {(DeadlineKind.ACKNOWLEDGE, WarningLevel.YELLOW)}
    assert WhistleEvent.objects.filter(whistle=whistle, type=EventType.DEADLINE_WARNING).count() == 2


def test_red_warnings_mark_the_summons_overdue_once(cast, now, whistle):
    services.whistle_sweep(now=now + 23 * MINUTE)
    red = services.whistle_sweep(now=now + 31 * MINUTE)
    again = services.whistle_sweep(now=now + 40 * MINUTE)

    assert red.warnings == 2
    assert red.overdue_marked == 2
    assert again.warnings == 0
    summons = summons_of(whistle, cast.dept)
    assert summons.overdue_at == summons.acknowledge_by
    assert warnings_of(summons) == {
        (DeadlineKind.ACKNOWLEDGE, WarningLevel.YELLOW),
        (DeadlineKind.ACKNOWLEDGE, WarningLevel.RED),
    }


def test_a_late_sweep_records_red_without_a_moot_yellow(cast, now, whistle):
    services.whistle_sweep(now=now + 45 * MINUTE)
    services.whistle_sweep(now=now + 46 * MINUTE)

    assert warnings_of(summons_of(whistle, cast.dept)) == {(DeadlineKind.ACKNOWLEDGE, WarningLevel.RED)}


def test_an_acknowledged_department_gets_only_arrival_warnings(cast, now, whistle):
    summons = summons_of(whistle, cast.dept)
    services.summons_acknowledge(summons=summons, actor=cast.dept_handler, now=now + 5 * MINUTE)

    services.whistle_sweep(now=now + 31 * MINUTE)
    services.whistle_sweep(now=now + 2 * HOUR + MINUTE)

    assert warnings_of(summons) == {(DeadlineKind.ARRIVE, WarningLevel.RED)}
    assert warnings_of(summons_of(whistle, cast.dept2)) == {
        (DeadlineKind.ACKNOWLEDGE, WarningLevel.RED),
        (DeadlineKind.ARRIVE, WarningLevel.RED),
    }
    summons.refresh_from_db()
    assert summons.overdue_at == summons.arrive_by


def test_a_department_that_reported_is_not_warned(cast, now, whistle):
    summons = summons_of(whistle, cast.dept)
    services.summons_check_in(
        summons=summons, actor=cast.dept_handler, now=now + 10 * MINUTE, attendees=["王"], point=SITE
    )

    services.whistle_sweep(now=now + 3 * HOUR)

    assert warnings_of(summons) == set()
    summons.refresh_from_db()
    assert summons.overdue_at is None


def test_task_warnings_yellow_then_red(cast, now, whistle):
    summons = summons_of(whistle, cast.dept)
    services.summons_check_in(
        summons=summons, actor=cast.dept_handler, now=now + 10 * MINUTE, attendees=["王"], point=SITE
    )
    task = services.whistle_task_assign(
        summons=summons, actor=cast.secretary, now=now + HOUR, description="排查管线", due_at=now + 5 * HOUR
    )

    services.whistle_sweep(now=now + 4 * HOUR + MINUTE)
    services.whistle_sweep(now=now + 4 * HOUR + 2 * MINUTE)
    assert set(WhistleWarning.objects.filter(task=task).values_list("level", flat=True)) == {
        WarningLevel.YELLOW
    }
    services.whistle_sweep(now=now + 5 * HOUR + MINUTE)
    services.whistle_sweep(now=now + 6 * HOUR)

    assert set(WhistleWarning.objects.filter(task=task).values_list("kind", "level")) == {
        (DeadlineKind.TASK, WarningLevel.YELLOW),
        (DeadlineKind.TASK, WarningLevel.RED),
    }
    task.refresh_from_db()
    assert task.overdue_at == task.due_at


def test_red_warnings_reach_the_department_and_the_street(cast, now, whistle):
    services.whistle_sweep(now=now + 31 * MINUTE)

    warning = WhistleWarning.objects.get(summons=summons_of(whistle, cast.dept), level=WarningLevel.RED)
    told = set(
        WhistleNotification.objects.filter(event=warning.event).values_list("recipient__username", flat=True)
    )
    assert told == {"dept_handler", "secretary", "street_handler"}


def test_a_closed_whistle_is_not_swept(cast, now, whistle):
    ratings = {s.pk: RatingInput(3, 3, 3) for s in Summons.objects.filter(whistle=whistle)}
    services.whistle_close(
        whistle=whistle, actor=cast.secretary, now=now + 10 * MINUTE, result="已处置", ratings=ratings
    )

    result = services.whistle_sweep(now=now + 3 * HOUR)

    assert result.warnings == 0
    assert not WhistleWarning.objects.exists()
