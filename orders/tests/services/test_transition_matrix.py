"""Every action of the transition table, tried three ways (STYLE.md rule 23):

- from every state the table does not allow → ``TransitionNotAllowed``, nothing changes;
- by an outsider and by a near miss (a neighbouring role or unit) → ``PermissionDenied``, nothing
  changes;
- by the right person from its usual state → exactly one new timeline row of that type, by that
  person, with the state change the table allows.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from orders.choices import Action, OrderStatus
from orders.errors import TransitionNotAllowed
from orders.models import Order, OrderEvent
from orders.services._core import RECORDS
from orders.states import TRANSITIONS
from orders.tests.actions import SPECS, perform, ready
from orders.tests.factories import HOUR

ALL_STATES = list(OrderStatus)


class _Rollback(Exception):  # noqa: N818 -- a control-flow signal, not an error
    pass


def snapshot(order):
    fresh = Order.objects.get(pk=order.pk)
    return (fresh.status, fresh.version, fresh.last_seq, OrderEvent.objects.filter(order=order).count())


def test_every_action_has_a_spec():
    assert set(SPECS) == set(TRANSITIONS)


@pytest.mark.parametrize("action", list(TRANSITIONS), ids=lambda a: a.value)
def test_action_from_every_state_the_table_does_not_allow_is_refused(cast, now, action):
    sources, _targets = TRANSITIONS[action]
    wrong = [state for state in ALL_STATES if state not in sources]
    assert wrong  # every action has states it must refuse
    actor = SPECS[action].actor(cast)
    for state in wrong:
        try:
            with transaction.atomic():  # each state on a clean slate
                order, kwargs = ready(action, cast, now, state=state)
                before = snapshot(order)
                with pytest.raises(TransitionNotAllowed) as info:
                    perform(action, order, actor, now + 20 * HOUR, **kwargs)
                assert info.value.message, state  # a sentence for the user, in Chinese
                assert snapshot(order) == before, state
                raise _Rollback
        except _Rollback:
            pass


@pytest.mark.parametrize("action", list(TRANSITIONS), ids=lambda a: a.value)
def test_action_by_an_outsider_is_refused(cast, now, action):
    order, kwargs = ready(action, cast, now)
    before = snapshot(order)
    with pytest.raises(PermissionDenied):
        perform(action, order, cast.outsider, now + 20 * HOUR, **kwargs)
    assert snapshot(order) == before


@pytest.mark.parametrize("action", list(TRANSITIONS), ids=lambda a: a.value)
def test_action_by_a_near_miss_is_refused(cast, now, action):
    spec = SPECS[action]
    assert spec.near_miss is not None
    order, kwargs = ready(action, cast, now)
    before = snapshot(order)
    with pytest.raises(PermissionDenied):
        perform(action, order, spec.near_miss(cast), now + 20 * HOUR, **kwargs)
    assert snapshot(order) == before


@pytest.mark.parametrize("action", list(TRANSITIONS), ids=lambda a: a.value)
def test_action_appends_one_timeline_row(cast, now, action):
    order, kwargs = ready(action, cast, now)
    status, version, last_seq, count = snapshot(order)
    actor = SPECS[action].actor(cast)
    at = now + 20 * HOUR
    perform(action, order, actor, at, **kwargs)
    fresh = Order.objects.get(pk=order.pk)
    events = list(OrderEvent.objects.filter(order=order, seq__gt=last_seq).order_by("seq"))
    ours = [e for e in events if e.type == action.value]
    assert len(ours) == 1
    event = ours[0]
    assert event.seq == last_seq + 1
    assert event.actor_id == actor.pk
    assert event.occurred_at == at
    assert event.from_status == status
    sources, targets = TRANSITIONS[action]
    assert event.from_status in sources
    assert event.to_status in targets
    assert fresh.last_seq == last_seq + len(events)
    # actions that only record something leave the version alone (open pages stay current)
    assert fresh.version == version if action.value in RECORDS else fresh.version > version
    # a merge also writes on the parent's timeline; everything else touches only this order
    assert all(e.type == action.value or action == Action.REVIEW_APPROVE for e in events)
