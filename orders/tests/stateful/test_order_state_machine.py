"""A hypothesis state machine: random actions by random people on a few orders, with the
invariants of issue 3's "Done when" (and SECURITY.md AC-5) checked after every step:

- exactly one active lead chain while the order is with a unit, none otherwise;
- the order's state agrees with its top lead assignment;
- the timeline only grows (earlier rows never change) and never leaves the transition table;
- every stored deadline is the last one a timeline event recorded for it;
- replaying the timeline gives the stored deadlines;
- a closed order has a callback or a recorded reason.

Every refused action must be refused with a domain error or ``PermissionDenied`` — anything else
(an IntegrityError, say) fails the run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from orders.choices import (
    ASSIGNMENT_ACTIVE,
    TERMINAL,
    WITH_LEAD,
    Action,
    AssignmentRole,
    Channel,
    EventType,
    OrderStatus,
    ReplyStatus,
    RequestStatus,
)
from orders.errors import OrderError
from orders.models import Assignment, Callback, ExtensionRequest, Order, OrderEvent, Reply, SuspensionRequest
from orders.services.supervision import replay_order, stored_clocks
from orders.states import LEAD_STATUS_FOR_ORDER, TRANSITIONS, actions_from
from orders.tests.actions import SPECS
from orders.tests.factories import make_order

ACTIONS = sorted(TRANSITIONS, key=lambda a: a.value)
PEOPLE = [
    "agent",
    "city_dispatcher",
    "callback_agent",
    "district_dispatcher",
    "district_handler",
    "street_handler",
    "community_handler",
    "dept_handler",
    "supervisor",
    "outsider",
]
UNITS = ["district", "street", "community", "grid", "department", "station", "other_district", "other_street"]
REACHED: set[str] = set()
# The actions that move an order along (chosen more often, so runs reach the end of the loop).
FORWARD = frozenset(
    {
        Action.SUBMIT,
        Action.DISPATCH,
        Action.ACCEPT,
        Action.RETURN,
        Action.RETURN_UPHOLD,
        Action.DELEGATE,
        Action.EXTENSION_REQUEST,
        Action.SUSPEND_REQUEST,
        Action.SUSPEND_APPROVE,
        Action.RESUME,
        Action.REPLY,
        Action.REVIEW_APPROVE,
        Action.REVIEW_SEND_BACK,
        Action.CALLBACK,
        Action.REOPEN,
    }
)

COMPARED = ("accept_by", "contact_by", "reply_by", "paused_at", "provisional")


class Rollback(Exception):  # noqa: N818 -- a control-flow signal, not an error
    pass


def build_machine(cast, start):
    class OrderMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.now = start
            self.orders: list[int] = []
            self.seen: dict[int, list[tuple[int, str, str, str]]] = {}

        def teardown(self):
            self.atomic.__exit__(Rollback, Rollback(), None)

        def tick(self, minutes):
            self.now += dt.timedelta(minutes=minutes)
            return self.now

        @initialize()
        def two_orders(self):
            self.create(self_service=False, minutes=1)
            self.create(self_service=True, minutes=1)

        @rule(self_service=st.booleans(), minutes=st.integers(1, 600))
        def create(self, self_service, minutes):
            if len(self.orders) >= 3:
                return
            order = make_order(
                actor=None if self_service else cast.agent,
                now=self.tick(minutes),
                grid=cast.tree.grid,
                item=cast.item,
                channel=Channel.MOBILE if self_service else Channel.HOTLINE,
            )
            self.orders.append(order.pk)

        @rule(
            which=st.integers(0, 2),
            from_table=st.integers(0, 3),
            choice=st.integers(0, 40),
            right_person=st.integers(0, 3),
            who=st.sampled_from(PEOPLE),
            unit=st.sampled_from(UNITS),
            pick=st.integers(0, 5),
            minutes=st.integers(1, 48 * 60),
        )
        def act(self, which, from_table, choice, right_person, who, unit, pick, minutes):
            """Mostly an action the table allows now, mostly by the person it belongs to — so runs
            get deep — but also anything by anyone."""
            if not self.orders:
                return
            order = Order.objects.get(pk=self.orders[which % len(self.orders)])
            allowed = actions_from(order.status)
            forward = [a for a in allowed if a in FORWARD]
            pool = (forward or allowed) if from_table > 1 else allowed if from_table else ACTIONS
            pool = pool or ACTIONS
            action = pool[choice % len(pool)]
            actor = SPECS[action].actor(cast) if right_person else getattr(cast, who)
            kwargs = dict(SPECS[action].kwargs)
            kwargs.update(self.arguments(action, order, unit, pick))
            with contextlib.suppress(OrderError, PermissionDenied):
                SPECS[action].run(order=order, actor=actor, now=self.tick(minutes), **kwargs)
            REACHED.add(Order.objects.get(pk=order.pk).status)

        def arguments(self, action, order, unit, pick):
            def nth(qs):
                rows = list(qs)
                return rows[pick % len(rows)] if rows else None

            if action in (Action.EXTENSION_APPROVE, Action.EXTENSION_REFUSE):
                found = nth(ExtensionRequest.objects.filter(order=order).order_by("pk"))
                return {"request": found or ExtensionRequest(pk=0)}
            if action in (Action.SUSPEND_APPROVE, Action.SUSPEND_REFUSE):
                found = nth(SuspensionRequest.objects.filter(order=order).order_by("pk"))
                return {"request": found or SuspensionRequest(pk=0)}
            if action in (Action.REVIEW_APPROVE, Action.REVIEW_SEND_BACK):
                return {
                    "reply": nth(
                        Reply.objects.filter(order=order, status=ReplyStatus.PENDING_REVIEW).order_by("pk")
                    )
                }
            if action == Action.MERGE:
                others = [pk for pk in self.orders if pk != order.pk]
                if not others:
                    return {"parent": order}
                return {"parent": Order.objects.get(pk=others[pick % len(others)])}
            if action == Action.DELEGATE:
                return {"unit": getattr(cast.tree, unit)}
            if action in (Action.ACCEPT, Action.REPLY, Action.RECORD_CONTACT, Action.EXTENSION_REQUEST):
                return {"assignment": nth(Assignment.objects.filter(order=order).order_by("pk"))}
            if action == Action.DISPATCH and pick == 0:
                return {"lead_unit": getattr(cast.tree, unit)}
            return {}

        # --- invariants -------------------------------------------------------------------------

        @invariant()
        def lead_chain_and_state_agree(self):
            for pk in self.orders:
                order = Order.objects.get(pk=pk)
                active = list(Assignment.objects.filter(order=order, status__in=list(ASSIGNMENT_ACTIVE)))
                leads = [a for a in active if a.role == AssignmentRole.LEAD]
                tops = [a for a in leads if a.parent_id is None]
                if order.status in WITH_LEAD:
                    assert len(tops) == 1, (order.status, tops)
                    assert tops[0].status == LEAD_STATUS_FOR_ORDER[OrderStatus(order.status)]
                    assert order.lead_unit_id == tops[0].unit_id
                    # the active lead assignments form one chain hanging from the top
                    by_parent: dict[int | None, list[Assignment]] = {}
                    for a in leads:
                        by_parent.setdefault(a.parent_id, []).append(a)
                    assert all(len(children) == 1 for children in by_parent.values())
                    chain: list[Assignment] = []
                    node: Assignment | None = tops[0]
                    while node is not None:
                        chain.append(node)
                        nxt = by_parent.get(node.pk)
                        node = nxt[0] if nxt else None
                    assert len(chain) == len(leads)
                    assert order.holder_unit_id in {a.unit_id for a in chain} | {order.dispatch_unit_id}
                else:
                    assert tops == [] and leads == []
                if order.status in TERMINAL:
                    assert active == []
                    assert order.holder_unit_id is None

        @invariant()
        def timeline_only_grows_and_follows_the_table(self):
            for pk in self.orders:
                rows = list(
                    OrderEvent.objects.filter(order_id=pk)
                    .order_by("seq")
                    .values_list("seq", "type", "from_status", "to_status")
                )
                before = self.seen.get(pk, [])
                assert rows[: len(before)] == before
                assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
                for _seq, kind, source, target in rows[len(before) :]:
                    if kind in Action.values and kind != Action.CREATE:
                        sources, targets = TRANSITIONS[Action(kind)]
                        assert source in sources and target in targets, (kind, source, target)
                    elif kind != EventType.CREATED:
                        assert source == target or kind == EventType.CREATED
                self.seen[pk] = rows
                order = Order.objects.get(pk=pk)
                assert order.last_seq == len(rows)

        @invariant()
        def every_deadline_change_has_its_event(self):
            for pk in self.orders:
                recorded: dict[str, dict[str, Any]] = {}
                for payload in (
                    OrderEvent.objects.filter(order_id=pk).order_by("seq").values_list("payload", flat=True)
                ):
                    recorded.update((payload or {}).get("deadlines") or {})
                for a in Assignment.objects.filter(order_id=pk):
                    last = recorded.get(str(a.pk))
                    assert last is not None, a
                    for name in COMPARED:
                        value = getattr(a, name)
                        if isinstance(value, dt.datetime):
                            value = value.isoformat()
                            stored = dt.datetime.fromisoformat(last[name]) if last[name] else None
                            assert stored == getattr(a, name), (a, name)
                        else:
                            assert last[name] == value, (a, name)

        @invariant()
        def replay_equals_stored(self):
            for pk in self.orders:
                order = Order(pk=pk)
                assert replay_order(order) == stored_clocks(order)

        @invariant()
        def closed_orders_have_a_callback_or_a_reason(self):
            for pk in self.orders:
                order = Order.objects.get(pk=pk)
                if order.status != OrderStatus.CLOSED:
                    continue
                closing = (
                    OrderEvent.objects.filter(order_id=pk, to_status=OrderStatus.CLOSED)
                    .exclude(from_status=OrderStatus.CLOSED)
                    .order_by("-seq")
                    .first()
                )
                assert closing is not None
                if closing.type == EventType.CALLBACK:
                    assert Callback.objects.filter(pk=closing.payload["callback"], reached=True).exists()
                else:
                    assert closing.reason.strip()

        @invariant()
        def requests_are_decided_at_most_once(self):
            for pk in self.orders:
                assert (
                    ExtensionRequest.objects.filter(order_id=pk, status=RequestStatus.PENDING)
                    .values("assignment")
                    .distinct()
                    .count()
                    == ExtensionRequest.objects.filter(order_id=pk, status=RequestStatus.PENDING).count()
                )

    return OrderMachine


def test_random_actions_by_random_people_keep_the_invariants(cast, now):
    machine = build_machine(cast, now)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # the runs went deep: through suspension, review and callback to the end of the loop
    assert {
        OrderStatus.IN_PROGRESS,
        OrderStatus.SUSPENDED,
        OrderStatus.AWAITING_REVIEW,
        OrderStatus.CLOSED,
    } <= REACHED, REACHED
