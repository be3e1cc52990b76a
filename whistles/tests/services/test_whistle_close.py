"""whistle_close: the result, every department rated, the never-reported marked so."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from whistles import services
from whistles.choices import EventType, SummonsStatus, TaskStatus, WhistleStatus, WhistleType
from whistles.errors import InvalidInput, StaleTransition, TransitionNotAllowed
from whistles.models import DepartmentRating, Summons, Whistle, WhistleEvent, WhistleNotification
from whistles.services import RatingInput
from whistles.tests.conftest import HOUR, MINUTE
from whistles.tests.factories import SITE, blow, summons_of


@pytest.fixture
def whistle(cast, now):
    whistle = blow(cast, now, type=WhistleType.URGENT)
    reported = summons_of(whistle, cast.dept)
    services.summons_acknowledge(summons=reported, actor=cast.dept_handler, now=now + 10 * MINUTE)
    services.summons_check_in(
        summons=reported, actor=cast.dept_handler, now=now + HOUR, attendees=["王"], point=SITE
    )
    return whistle


def ratings_for(whistle, **overrides):
    return {
        s.pk: overrides.get(
            s.unit.code, RatingInput(timeliness=5, effectiveness=4, attitude=5, comment="到场及时")
        )
        for s in Summons.objects.filter(whistle=whistle).select_related("unit")
    }


def test_close_records_result_and_ratings(cast, now, whistle):
    ratings = ratings_for(whistle, D2=RatingInput(1, 1, 2, "未到场"))

    services.whistle_close(
        whistle=whistle, actor=cast.secretary, now=now + 4 * HOUR, result="已修复", ratings=ratings
    )

    whistle.refresh_from_db()
    assert (whistle.status, whistle.result, whistle.closed_at, whistle.closed_by) == (
        WhistleStatus.CLOSED,
        "已修复",
        now + 4 * HOUR,
        cast.secretary,
    )
    by_unit = {r.unit.code: r for r in DepartmentRating.objects.select_related("unit")}
    assert set(by_unit) == {"D1", "D2"}
    assert (by_unit["D1"].timeliness, by_unit["D1"].effectiveness, by_unit["D1"].attitude) == (5, 4, 5)
    assert by_unit["D1"].reported is True
    assert (by_unit["D2"].timeliness, by_unit["D2"].comment, by_unit["D2"].reported) == (1, "未到场", False)
    assert by_unit["D2"].rater_unit == cast.tree.street
    assert by_unit["D2"].rated_at == now + 4 * HOUR


def test_a_department_that_never_reported_is_marked_not_dropped(cast, now, whistle):
    services.whistle_close(
        whistle=whistle,
        actor=cast.secretary,
        now=now + 4 * HOUR,
        result="已修复",
        ratings=ratings_for(whistle),
    )

    missing = summons_of(whistle, cast.dept2)
    assert missing.status == SummonsStatus.NOT_REPORTED
    assert missing.overdue_at == missing.arrive_by
    assert summons_of(whistle, cast.dept).status == SummonsStatus.CHECKED_IN
    assert Summons.objects.filter(whistle=whistle).count() == 2


def test_close_appends_not_reported_and_closed_events_in_order(cast, now, whistle):
    closed = services.whistle_close(
        whistle=whistle,
        actor=cast.secretary,
        now=now + 4 * HOUR,
        result="已修复",
        ratings=ratings_for(whistle),
    )

    types = list(WhistleEvent.objects.filter(whistle=whistle).order_by("seq").values_list("type", flat=True))
    assert types == [
        EventType.BLOWN,
        EventType.ACKNOWLEDGED,
        EventType.CHECKED_IN,
        EventType.NOT_REPORTED,
        EventType.CLOSED,
    ]
    assert closed.payload["not_reported"] == [cast.dept2.pk]
    assert closed.payload["ratings"][str(cast.dept.pk)]["reported"] is True
    assert (closed.from_status, closed.to_status) == (WhistleStatus.OPEN, WhistleStatus.CLOSED)


def test_close_tells_every_summoned_department(cast, now, whistle):
    closed = services.whistle_close(
        whistle=whistle,
        actor=cast.secretary,
        now=now + 4 * HOUR,
        result="已修复",
        ratings=ratings_for(whistle),
    )

    told = set(WhistleNotification.objects.filter(event=closed).values_list("recipient__username", flat=True))
    assert told == {"dept_handler", "dept2_handler"}
    not_reported = WhistleEvent.objects.get(whistle=whistle, type=EventType.NOT_REPORTED)
    assert set(
        WhistleNotification.objects.filter(event=not_reported).values_list("recipient__username", flat=True)
    ) == {"dept2_handler"}


def test_open_tasks_are_marked_unanswered(cast, now, whistle):
    task = services.whistle_task_assign(
        summons=summons_of(whistle, cast.dept),
        actor=cast.secretary,
        now=now + HOUR,
        description="书面说明原因",
        due_at=now + 8 * HOUR,
    )

    services.whistle_close(
        whistle=whistle,
        actor=cast.secretary,
        now=now + 4 * HOUR,
        result="已修复",
        ratings=ratings_for(whistle),
    )

    task.refresh_from_db()
    assert task.status == TaskStatus.UNANSWERED
    assert WhistleEvent.objects.filter(task=task, type=EventType.TASK_UNANSWERED).count() == 1


def test_every_department_must_be_rated(cast, now, whistle):
    ratings = ratings_for(whistle)
    ratings.pop(summons_of(whistle, cast.dept2).pk)

    with pytest.raises(InvalidInput, match="市住建委") as err:
        services.whistle_close(
            whistle=whistle, actor=cast.secretary, now=now + 4 * HOUR, result="已修复", ratings=ratings
        )
    assert err.value.field == "ratings"
    whistle.refresh_from_db()
    assert whistle.status == WhistleStatus.OPEN
    assert summons_of(whistle, cast.dept2).status == SummonsStatus.SUMMONED
    assert not DepartmentRating.objects.exists()


@pytest.mark.parametrize("bad", [0, 6, "5"])
def test_scores_outside_one_to_five_are_refused(cast, now, whistle, bad):
    ratings = ratings_for(whistle, D1=RatingInput(5, bad, 5))

    with pytest.raises(InvalidInput, match="1至5"):
        services.whistle_close(
            whistle=whistle, actor=cast.secretary, now=now + 4 * HOUR, result="已修复", ratings=ratings
        )


def test_a_rating_of_a_foreign_summons_is_refused(cast, now, whistle):
    other = blow(cast, now, units=[cast.district_dept])
    ratings = ratings_for(whistle)
    ratings[summons_of(other, cast.district_dept).pk] = RatingInput(3, 3, 3)

    with pytest.raises(InvalidInput, match="不属于"):
        services.whistle_close(
            whistle=whistle, actor=cast.secretary, now=now + 4 * HOUR, result="已修复", ratings=ratings
        )


def test_a_result_is_required(cast, now, whistle):
    with pytest.raises(InvalidInput) as err:
        services.whistle_close(
            whistle=whistle, actor=cast.secretary, now=now + 4 * HOUR, result="", ratings=ratings_for(whistle)
        )
    assert err.value.field == "result"


@pytest.mark.parametrize("who", ["dept_handler", "other_secretary", "community_secretary", "outsider"])
def test_closing_someone_elses_whistle_is_refused(cast, now, whistle, who):
    with pytest.raises(PermissionDenied):
        services.whistle_close(
            whistle=whistle,
            actor=getattr(cast, who),
            now=now + 4 * HOUR,
            result="x",
            ratings=ratings_for(whistle),
        )
    whistle.refresh_from_db()
    assert whistle.status == WhistleStatus.OPEN


def test_closing_twice_is_refused(cast, now, whistle):
    services.whistle_close(
        whistle=whistle,
        actor=cast.secretary,
        now=now + 4 * HOUR,
        result="已修复",
        ratings=ratings_for(whistle),
    )

    with pytest.raises(TransitionNotAllowed, match="已办结"):
        services.whistle_close(
            whistle=whistle,
            actor=cast.secretary,
            now=now + 5 * HOUR,
            result="再次",
            ratings=ratings_for(whistle),
        )
    assert DepartmentRating.objects.count() == 2


def test_a_stale_copy_cannot_close_again(cast, now, whistle):
    stale = Whistle.objects.get(pk=whistle.pk)
    services.whistle_close(
        whistle=whistle,
        actor=cast.secretary,
        now=now + 4 * HOUR,
        result="已修复",
        ratings=ratings_for(whistle),
    )

    with pytest.raises(StaleTransition):
        services.whistle_close(
            whistle=stale,
            actor=cast.secretary,
            now=now + 5 * HOUR,
            result="再次",
            ratings=ratings_for(whistle),
        )
    assert DepartmentRating.objects.count() == 2
