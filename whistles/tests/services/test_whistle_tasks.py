"""whistle_task_assign and whistle_task_reply."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from whistles import services
from whistles.choices import EventType, TaskStatus, WhistleType
from whistles.errors import InvalidInput, StaleTransition, TransitionNotAllowed
from whistles.models import WhistleEvent, WhistleNotification, WhistleTask
from whistles.tests.conftest import HOUR, MINUTE
from whistles.tests.factories import blow, summons_of


@pytest.fixture
def whistle(cast, now):
    return blow(cast, now, type=WhistleType.URGENT)


@pytest.fixture
def task(cast, now, whistle):
    return services.whistle_task_assign(
        summons=summons_of(whistle, cast.dept),
        actor=cast.secretary,
        now=now + HOUR,
        description="封控泄漏点周边50米",
        due_at=now + 5 * HOUR,
    )


# --- assign -------------------------------------------------------------------------------------


def test_assign_creates_an_open_task_with_its_warning_time(cast, now, task):
    assert task.status == TaskStatus.OPEN
    assert task.assigned_by == cast.secretary
    assert task.due_at == now + 5 * HOUR
    assert task.warn_at == now + 4 * HOUR  # 75 % of the four hours given


def test_assign_appends_one_event_and_tells_the_department(cast, now, task):
    event = WhistleEvent.objects.get(task=task)
    assert (event.type, event.actor, event.actor_unit, event.summons) == (
        EventType.TASK_ASSIGNED,
        cast.secretary,
        cast.tree.street,
        task.summons,
    )
    recipients = set(
        WhistleNotification.objects.filter(event=event).values_list("recipient__username", flat=True)
    )
    assert recipients == {"dept_handler"}


def test_a_department_cannot_assign_tasks(cast, now, whistle):
    with pytest.raises(PermissionDenied):
        services.whistle_task_assign(
            summons=summons_of(whistle, cast.dept2),
            actor=cast.dept_handler,
            now=now + HOUR,
            description="x",
            due_at=now + 2 * HOUR,
        )
    assert not WhistleTask.objects.exists()


def test_a_task_due_in_the_past_is_refused(cast, now, whistle):
    with pytest.raises(InvalidInput) as err:
        services.whistle_task_assign(
            summons=summons_of(whistle, cast.dept),
            actor=cast.secretary,
            now=now + HOUR,
            description="x",
            due_at=now,
        )
    assert err.value.field == "due_at"


def test_a_task_without_description_is_refused(cast, now, whistle):
    with pytest.raises(InvalidInput) as err:
        services.whistle_task_assign(
            summons=summons_of(whistle, cast.dept),
            actor=cast.secretary,
            now=now + HOUR,
            description=" ",
            due_at=now + 2 * HOUR,
        )
    assert err.value.field == "description"


def test_no_task_on_a_closed_whistle(cast, now, whistle):
    summons = summons_of(whistle, cast.dept)
    services.whistle_cancel(whistle=whistle, actor=cast.secretary, now=now + MINUTE, reason="误报")

    with pytest.raises(TransitionNotAllowed):
        services.whistle_task_assign(
            summons=summons, actor=cast.secretary, now=now + HOUR, description="x", due_at=now + 2 * HOUR
        )


# --- reply --------------------------------------------------------------------------------------


def test_reply_answers_the_task(cast, now, task):
    event = services.whistle_task_reply(
        task=task, actor=cast.dept_handler, now=now + 2 * HOUR, reply="已封控"
    )

    task.refresh_from_db()
    assert task.status == TaskStatus.REPLIED
    assert (task.reply, task.replied_at, task.replied_by) == ("已封控", now + 2 * HOUR, cast.dept_handler)
    assert task.overdue_at is None
    assert (event.type, event.task, event.from_status, event.to_status) == (
        EventType.TASK_REPLIED,
        task,
        TaskStatus.OPEN,
        TaskStatus.REPLIED,
    )
    recipients = set(
        WhistleNotification.objects.filter(event=event).values_list("recipient__username", flat=True)
    )
    assert recipients == {"secretary", "street_handler"}


def test_a_late_reply_marks_the_task_overdue(cast, now, task):
    event = services.whistle_task_reply(
        task=task, actor=cast.dept_handler, now=now + 6 * HOUR, reply="已封控"
    )

    task.refresh_from_db()
    assert task.overdue_at == task.due_at
    assert event.payload["late"] is True


@pytest.mark.parametrize("who", ["dept2_handler", "secretary", "outsider"])
def test_replying_for_another_unit_is_refused(cast, now, task, who):
    with pytest.raises(PermissionDenied):
        services.whistle_task_reply(task=task, actor=getattr(cast, who), now=now + 2 * HOUR, reply="x")
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_an_empty_reply_is_refused(cast, now, task):
    with pytest.raises(InvalidInput) as err:
        services.whistle_task_reply(task=task, actor=cast.dept_handler, now=now + 2 * HOUR, reply="")
    assert err.value.field == "reply"


def test_replying_twice_is_refused(cast, now, task):
    services.whistle_task_reply(task=task, actor=cast.dept_handler, now=now + 2 * HOUR, reply="已封控")

    with pytest.raises(TransitionNotAllowed):
        services.whistle_task_reply(task=task, actor=cast.dept_handler, now=now + 3 * HOUR, reply="再次")


def test_a_stale_task_copy_is_refused(cast, now, task):
    stale = WhistleTask.objects.get(pk=task.pk)
    services.whistle_task_reply(task=task, actor=cast.dept_handler, now=now + 2 * HOUR, reply="已封控")

    with pytest.raises(StaleTransition):
        services.whistle_task_reply(task=stale, actor=cast.dept_handler, now=now + 3 * HOUR, reply="再次")
