"""The transition tables of 吹哨报到, as data (STYLE.md rule 5).

``WHISTLE_TRANSITIONS[action] = (allowed source states, allowed target states)`` for the
whistle. An action whose targets include its source leaves the whistle as it is: it acts on a
summons or a task of an open whistle. Blowing is not a transition: a whistle is created
``OPEN`` (``INITIAL_STATE``). Closed and cancelled whistles are terminal.

``SUMMONS_TRANSITIONS[action] = (allowed source states, target state)`` for a summons (one
department summoned by one whistle), ``TASK_TRANSITIONS`` likewise for a task. A summons that
never checked in is marked ``NOT_REPORTED`` when the whistle closes: marked, never dropped.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from whistles.choices import Action, SummonsStatus, TaskStatus, WhistleStatus

W = WhistleStatus
S = SummonsStatus
T = TaskStatus

INITIAL_STATE = W.OPEN

WHISTLE_TRANSITIONS: dict[Action, tuple[frozenset[WhistleStatus], frozenset[WhistleStatus]]] = {
    Action.ACKNOWLEDGE: (frozenset({W.OPEN}), frozenset({W.OPEN})),
    Action.CHECK_IN: (frozenset({W.OPEN}), frozenset({W.OPEN})),
    Action.TASK_ASSIGN: (frozenset({W.OPEN}), frozenset({W.OPEN})),
    Action.TASK_REPLY: (frozenset({W.OPEN}), frozenset({W.OPEN})),
    Action.CLOSE: (frozenset({W.OPEN}), frozenset({W.CLOSED})),
    Action.CANCEL: (frozenset({W.OPEN}), frozenset({W.CANCELLED})),
}


class SummonsAction(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", _("响应")
    CHECK_IN = "check_in", _("报到")
    MARK_NOT_REPORTED = "mark_not_reported", _("标记未报到")
    CANCEL = "cancel", _("撤销")


SUMMONS_TRANSITIONS: dict[SummonsAction, tuple[frozenset[SummonsStatus], SummonsStatus]] = {
    SummonsAction.ACKNOWLEDGE: (frozenset({S.SUMMONED}), S.ACKNOWLEDGED),
    # arriving is reporting: a department that arrives without acknowledging first has answered
    SummonsAction.CHECK_IN: (frozenset({S.SUMMONED, S.ACKNOWLEDGED}), S.CHECKED_IN),
    SummonsAction.MARK_NOT_REPORTED: (frozenset({S.SUMMONED, S.ACKNOWLEDGED}), S.NOT_REPORTED),
    SummonsAction.CANCEL: (frozenset({S.SUMMONED, S.ACKNOWLEDGED}), S.CANCELLED),
}

# Summons that may be given tasks (those not yet reported may still come and answer).
TASKABLE: frozenset[SummonsStatus] = frozenset({S.SUMMONED, S.ACKNOWLEDGED, S.CHECKED_IN})


class TaskAction(models.TextChoices):
    REPLY = "reply", _("答复")
    EXPIRE = "expire", _("标记未答复")
    CANCEL = "cancel", _("撤销")


TASK_TRANSITIONS: dict[TaskAction, tuple[frozenset[TaskStatus], TaskStatus]] = {
    TaskAction.REPLY: (frozenset({T.OPEN}), T.REPLIED),
    TaskAction.EXPIRE: (frozenset({T.OPEN}), T.UNANSWERED),
    TaskAction.CANCEL: (frozenset({T.OPEN}), T.CANCELLED),
}


def whistle_allowed(action: Action | str, source: str, target: str) -> bool:
    entry = WHISTLE_TRANSITIONS.get(Action(action))
    if entry is None:
        return False
    sources, targets = entry
    return source in sources and target in targets


def summons_allowed(action: SummonsAction | str, source: str) -> bool:
    entry = SUMMONS_TRANSITIONS.get(SummonsAction(action))
    return entry is not None and source in entry[0]


def task_allowed(action: TaskAction | str, source: str) -> bool:
    entry = TASK_TRANSITIONS.get(TaskAction(action))
    return entry is not None and source in entry[0]


def whistle_actions_from(source: str) -> list[Action]:
    """The whistle actions the table allows from ``source`` (for pages: which buttons to show)."""
    return [action for action, (sources, _targets) in WHISTLE_TRANSITIONS.items() if source in sources]
