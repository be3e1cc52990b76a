"""The board, the inbox and the detail: scope, who reported and who is late, pinned query counts."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from whistles import selectors, services
from whistles.choices import WhistleType
from whistles.errors import NotFound
from whistles.selectors import Progress
from whistles.services import RatingInput
from whistles.tests.conftest import HOUR, MINUTE
from whistles.tests.factories import SITE, blow, summons_of


@pytest.fixture
def whistle(cast, now):
    whistle = blow(cast, now, type=WhistleType.URGENT)
    summons = summons_of(whistle, cast.dept)
    services.summons_check_in(
        summons=summons, actor=cast.dept_handler, now=now + HOUR, attendees=["王"], point=SITE
    )
    services.whistle_task_assign(
        summons=summons, actor=cast.secretary, now=now + HOUR, description="排查", due_at=now + 4 * HOUR
    )
    return whistle


# --- scope ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("secretary", True),  # the blowing street
        ("street_handler", True),
        ("dept_handler", True),  # summoned
        ("dept2_handler", True),  # summoned
        ("station_handler", False),  # its department is summoned, not the station
        ("community_secretary", False),  # below the street: its own whistles only
        ("other_secretary", False),
        ("outsider", False),
    ],
)
def test_who_sees_a_whistle(cast, now, whistle, who, sees):
    assert selectors.whistles_visible_to(getattr(cast, who)).filter(pk=whistle.pk).exists() is sees


def test_a_district_leader_sees_the_streets_whistles(cast, now, whistle):
    from orders.tests.factories import person
    from orgs.choices import Role

    leader = person("district_leader", cast.tree.district, Role.LEADER)

    assert list(selectors.whistles_visible_to(leader)) == [whistle]


def test_anonymous_sees_nothing(whistle):
    from django.contrib.auth.models import AnonymousUser

    assert not selectors.whistles_visible_to(AnonymousUser()).exists()


# --- board -----------------------------------------------------------------------------------------


def test_board_shows_who_reported_and_who_is_late(cast, now, whistle):
    rows = selectors.whistle_board(cast.secretary, now=now + HOUR + MINUTE)

    assert [r.whistle for r in rows] == [whistle]
    row = rows[0]
    assert [s.summons.unit.name for s in row.reported] == ["市城管局"]
    assert [(s.summons.unit.name, s.progress) for s in row.late] == [("市住建委", Progress.ACK_OVERDUE)]
    assert row.open_tasks == 1


def test_board_marks_a_late_arrival(cast, now, whistle):
    row = selectors.whistle_board(cast.secretary, now=now + 3 * HOUR)[0]

    assert {s.summons.unit.name: s.progress for s in row.summonses} == {
        "市城管局": Progress.REPORTED,
        "市住建委": Progress.ARRIVE_OVERDUE,
    }


def test_board_hides_closed_whistles_by_default(cast, now, whistle):
    ratings = {s.pk: RatingInput(3, 3, 3) for s in whistle.summonses.all()}
    services.whistle_close(
        whistle=whistle, actor=cast.secretary, now=now + 2 * HOUR, result="已处置", ratings=ratings
    )

    assert selectors.whistle_board(cast.secretary, now=now + 3 * HOUR) == []
    assert len(selectors.whistle_board(cast.secretary, now=now + 3 * HOUR, status=None)) == 1


def test_board_query_count_does_not_grow_with_whistles(cast, now, whistle, django_assert_num_queries):
    for _ in range(3):
        blow(cast, now, units=[cast.dept, cast.dept2, cast.district_dept])

    with django_assert_num_queries(2):
        rows = selectors.whistle_board(cast.secretary, now=now + HOUR)
        names = [s.summons.unit.name for r in rows for s in r.summonses]
    assert len(rows) == 4
    assert len(names) == 11


# --- inbox -----------------------------------------------------------------------------------------


def test_the_inbox_holds_only_the_departments_summonses(cast, now, whistle):
    other = blow(cast, now, units=[cast.dept2])

    mine = selectors.summons_inbox(cast.dept_handler, now=now + HOUR)
    theirs = selectors.summons_inbox(cast.dept2_handler, now=now + HOUR)

    assert [(i.summons.whistle, i.summons.unit) for i in mine] == [(whistle, cast.dept)]
    assert {i.summons.whistle for i in theirs} == {whistle, other}
    assert all(i.summons.unit == cast.dept2 for i in theirs)
    assert selectors.summons_inbox(cast.secretary, now=now) == []
    assert selectors.summons_inbox(cast.outsider, now=now) == []


def test_the_inbox_lists_open_tasks(cast, now, whistle):
    item = selectors.summons_inbox(cast.dept_handler, now=now + HOUR)[0]

    assert [t.description for t in item.open_tasks] == ["排查"]
    assert not item.can_acknowledge
    assert not item.can_check_in


def test_the_inbox_query_count_is_fixed(cast, now, whistle, django_assert_num_queries):
    for _ in range(3):
        blow(cast, now, units=[cast.dept])

    with django_assert_num_queries(2):
        items = selectors.summons_inbox(cast.dept_handler, now=now + HOUR)
        tasks = [t for i in items for t in i.tasks]
        titles = [i.summons.whistle.unit.name for i in items]
    assert len(items) == 4
    assert len(tasks) == 1
    assert set(titles) == {"东华街道"}


# --- detail ----------------------------------------------------------------------------------------


def test_detail_has_timeline_tasks_and_permissions(cast, now, whistle):
    detail = selectors.whistle_detail(cast.secretary, whistle.pk, now=now + HOUR)

    assert detail.can_manage
    assert detail.acting_summons_ids == set()
    assert [e.seq for e in detail.events] == [1, 2, 3]
    assert len(detail.tasks) == 1
    dept = selectors.whistle_detail(cast.dept_handler, whistle.pk, now=now + HOUR)
    assert not dept.can_manage
    assert dept.acting_summons_ids == {summons_of(whistle, cast.dept).pk}


def test_detail_query_count_is_pinned(cast, now, whistle, django_assert_num_queries):
    with django_assert_num_queries(7):
        detail = selectors.whistle_detail(cast.secretary, whistle.pk, now=now + HOUR)
        [(e.actor, e.actor_unit, e.summons and e.summons.unit) for e in detail.events]
        [(s.summons.unit.name, getattr(s.summons, "rating", None)) for s in detail.summonses]


def test_detail_of_a_whistle_outside_the_scope_is_denied(cast, now, whistle):
    with pytest.raises(PermissionDenied):
        selectors.whistle_detail(cast.outsider, whistle.pk, now=now)


def test_detail_of_a_missing_whistle_is_not_found(cast, now):
    with pytest.raises(NotFound):
        selectors.whistle_detail(cast.secretary, 999999, now=now)


# --- ratings for assessment ----------------------------------------------------------------------


def test_rating_summary_per_department(cast, now, whistle):
    ratings = {
        summons_of(whistle, cast.dept).pk: RatingInput(5, 4, 3),
        summons_of(whistle, cast.dept2).pk: RatingInput(1, 2, 3),
    }
    services.whistle_close(
        whistle=whistle, actor=cast.secretary, now=now + 2 * HOUR, result="已处置", ratings=ratings
    )
    second = blow(cast, now + 3 * HOUR, units=[cast.dept])
    services.whistle_close(
        whistle=second,
        actor=cast.secretary,
        now=now + 4 * HOUR,
        result="已处置",
        ratings={summons_of(second, cast.dept).pk: RatingInput(3, 4, 5)},
    )

    summary = selectors.department_rating_summary(start=now, end=now + 5 * HOUR)

    dept = summary[cast.dept.pk]
    assert (dept.count, dept.reported, dept.not_reported) == (2, 1, 1)
    assert (dept.timeliness, dept.effectiveness, dept.attitude) == (4.0, 4.0, 4.0)
    assert dept.score_100 == pytest.approx(80.0)
    assert summary[cast.dept2.pk].average == pytest.approx(2.0)
    assert (
        selectors.department_rating_summary(start=now, end=now + 3 * HOUR, unit_ids=[cast.dept.pk])[
            cast.dept.pk
        ].count
        == 1
    )
