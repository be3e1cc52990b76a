"""The transition tables are data; the limits are pure functions of their inputs."""

from __future__ import annotations

import datetime as dt

import pytest

from core.workcalendar import SHANGHAI, WorkCalendar
from whistles.choices import Action, LimitUnit, SummonsStatus, TaskStatus, WhistleStatus, WhistleType
from whistles.limits import DEFAULT_LIMITS, Limit, TypeLimits, deadline_after, summons_deadlines, warn_at
from whistles.states import (
    SUMMONS_TRANSITIONS,
    TASK_TRANSITIONS,
    WHISTLE_TRANSITIONS,
    SummonsAction,
    whistle_actions_from,
    whistle_allowed,
)

START = dt.datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)  # Monday
CAL = WorkCalendar()


def test_every_whistle_action_starts_only_from_an_open_whistle():
    for action, (sources, _targets) in WHISTLE_TRANSITIONS.items():
        assert sources == frozenset({WhistleStatus.OPEN}), action
    assert Action.BLOW not in WHISTLE_TRANSITIONS  # creation, not a transition


@pytest.mark.parametrize("status", [WhistleStatus.CLOSED, WhistleStatus.CANCELLED])
def test_terminal_whistles_allow_nothing(status):
    assert whistle_actions_from(status) == []
    for action in WHISTLE_TRANSITIONS:
        assert not whistle_allowed(action, status, WhistleStatus.OPEN)


def test_close_and_cancel_are_the_only_exits():
    exits = {a for a, (_s, targets) in WHISTLE_TRANSITIONS.items() if WhistleStatus.OPEN not in targets}
    assert exits == {Action.CLOSE, Action.CANCEL}


def test_a_reported_summons_is_never_marked_not_reported_or_cancelled():
    for action in (SummonsAction.MARK_NOT_REPORTED, SummonsAction.CANCEL):
        assert SummonsStatus.CHECKED_IN not in SUMMONS_TRANSITIONS[action][0]


def test_no_summons_or_task_transition_leaves_a_final_state():
    finals = {SummonsStatus.CHECKED_IN, SummonsStatus.NOT_REPORTED, SummonsStatus.CANCELLED}
    assert all(not (sources & finals) for sources, _t in SUMMONS_TRANSITIONS.values())
    assert all(sources == frozenset({TaskStatus.OPEN}) for sources, _t in TASK_TRANSITIONS.values())


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (Limit(30, LimitUnit.MINUTES), START + dt.timedelta(minutes=30)),
        (Limit(2, LimitUnit.HOURS), START + dt.timedelta(hours=2)),
        (Limit(20, LimitUnit.WORKING_HOURS), dt.datetime(2025, 3, 4, 5, 0, tzinfo=SHANGHAI)),
        (Limit(5, LimitUnit.WORKING_DAYS), dt.datetime(2025, 3, 11, 0, 0, tzinfo=SHANGHAI)),
    ],
)
def test_deadline_after_each_unit(limit, expected):
    assert deadline_after(START, limit, CAL) == (expected, False)


def test_a_limit_in_an_unknown_year_is_provisional():
    start = dt.datetime(2099, 3, 2, 9, 0, tzinfo=SHANGHAI)
    at, provisional = deadline_after(start, Limit(1, LimitUnit.WORKING_DAYS), CAL)
    assert provisional
    assert at > start


def test_yellow_falls_at_three_quarters_of_the_interval(settings):
    assert warn_at(START, START + dt.timedelta(hours=4)) == START + dt.timedelta(hours=3)
    settings.WHISTLE_YELLOW_FRACTION = 0.5
    assert warn_at(START, START + dt.timedelta(hours=4)) == START + dt.timedelta(hours=2)
    settings.WHISTLE_YELLOW_FRACTION = 1.5
    with pytest.raises(ValueError, match="WHISTLE_YELLOW_FRACTION"):
        warn_at(START, START + dt.timedelta(hours=4))


def test_acknowledging_is_never_due_after_arriving():
    limits = TypeLimits(Limit(3, LimitUnit.HOURS), Limit(1, LimitUnit.HOURS))
    d = summons_deadlines(start=START, limits=limits, calendar=CAL)
    assert d.acknowledge_by == d.arrive_by == START + dt.timedelta(hours=1)


def test_every_type_has_default_limits():
    assert set(DEFAULT_LIMITS) == set(WhistleType)
