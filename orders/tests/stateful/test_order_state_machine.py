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

from core.workcalendar import load_calendar
from orders import deadlines, services
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
MAIN_PATH = {
    OrderStatus.REGISTERED: Action.SUBMIT,
    OrderStatus.AWAITING_DISPATCH: Action.DISPATCH,
    OrderStatus.AWAITING_ACCEPTANCE: Action.ACCEPT,
    OrderStatus.RETURN_REQUESTED: Action.RETURN_REJECT,
    OrderStatus.IN_PROGRESS: Action.REPLY,
    OrderStatus.SUSPENDED: Action.RESUME,
    OrderStatus.AWAITING_REVIEW: Action.REVIEW_APPROVE,
    OrderStatus.AWAITING_CALLBACK: Action.CALLBACK,
}
DETOURS = {
    OrderStatus.AWAITING_ACCEPTANCE: Action.RETURN,
    OrderStatus.RETURN_REQUESTED: Action.RETURN_UPHOLD,
    OrderStatus.IN_PROGRESS: Action.SUSPEND_REQUEST,
    OrderStatus.AWAITING_REVIEW: Action.REVIEW_SEND_BACK,
    OrderStatus.AWAITING_CALLBACK: Action.REOPEN,
    OrderStatus.CLOSED: Action.REOPEN,
}
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
            self.seen: dict[int, list[tuple[Any, ...]]] = {}

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

        @rule(
            which=st.integers(0, 2),
            detours=st.lists(st.integers(0, 2), min_size=1, max_size=6),
            minutes=st.integers(1, 24 * 60),
        )
        def advance(self, which, detours, minutes):
            self._advance(which, detours, minutes)

        @rule(
            which=st.integers(0, 2),
            detours=st.lists(st.integers(0, 2), min_size=1, max_size=6),
            minutes=st.integers(1, 24 * 60),
        )
        def advance_further(self, which, detours, minutes):
            """The same as ``advance``: a second rule doubles its share of the steps."""
            self._advance(which, detours, minutes)

        def _advance(self, which, detours, minutes):
            """A few next steps of the loop, each by the person it belongs to; a 0 takes the detour
            (return, suspend, send back, reopen) where there is one — so every run gets deep."""
            if not self.orders:
                return
            pk = self.orders[which % len(self.orders)]
            for detour in detours:
                order = Order.objects.get(pk=pk)
                status = OrderStatus(order.status)
                action = (DETOURS.get(status) if detour == 0 else None) or MAIN_PATH.get(status)
                if action is None:
                    return
                with contextlib.suppress(OrderError, PermissionDenied):
                    if action == Action.SUSPEND_REQUEST:
                        request = services.order_suspend_request(
                            order=order, actor=cast.district_handler, now=self.tick(minutes), reason="待审批"
                        )
                        services.order_suspend_approve(
                            order=order, actor=cast.city_dispatcher, now=self.tick(1), request=request
                        )
                    else:
                        kwargs = dict(SPECS[action].kwargs)
                        kwargs.update(self.arguments(action, order, "street", 0))
                        SPECS[action].run(
                            order=order, actor=SPECS[action].actor(cast), now=self.tick(minutes), **kwargs
                        )
                REACHED.add(Order.objects.get(pk=pk).status)

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

        # --- invariants (one pass per order: the order, its assignments, its timeline) -------

        @invariant()
        def the_loop_keeps_its_invariants(self):
            for pk in self.orders:
                order = Order.objects.get(pk=pk)
                assignments = list(Assignment.objects.filter(order_id=pk))
                events = list(OrderEvent.objects.filter(order_id=pk).order_by("seq"))
                self.check_lead_chain(order, assignments)
                self.check_timeline(order, events)
                self.check_deadlines(assignments, events)
                self.check_closed(order, events)

        def check_lead_chain(self, order, assignments):
            """Exactly one active lead chain while with a unit; the state agrees with its top."""
            active = [a for a in assignments if a.status in ASSIGNMENT_ACTIVE]
            leads = [a for a in active if a.role == AssignmentRole.LEAD]
            tops = [a for a in leads if a.parent_id is None]
            if order.status in WITH_LEAD:
                assert len(tops) == 1, (order.status, tops)
                assert tops[0].status == LEAD_STATUS_FOR_ORDER[OrderStatus(order.status)]
                assert order.lead_unit_id == tops[0].unit_id
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
            pending = [
                r.assignment_id
                for r in ExtensionRequest.objects.filter(order_id=order.pk, status=RequestStatus.PENDING)
            ]
            assert len(pending) == len(set(pending))

        def check_timeline(self, order, events):
            """Only grows (earlier rows unchanged), contiguous, and within the transition table."""
            rows = [(e.seq, e.type, e.from_status, e.to_status, e.occurred_at) for e in events]
            before = self.seen.get(order.pk, [])
            assert rows[: len(before)] == before
            assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
            for _seq, kind, source, target, _at in rows[len(before) :]:
                if kind in Action.values and kind != Action.CREATE:
                    sources, targets = TRANSITIONS[Action(kind)]
                    assert source in sources and target in targets, (kind, source, target)
                elif kind != EventType.CREATED:
                    assert source == target, (kind, source, target)
            self.seen[order.pk] = rows
            assert order.last_seq == len(rows)

        def check_deadlines(self, assignments, events):
            """Each stored deadline is the last one an event recorded; replay gives the stored."""
            recorded: dict[str, dict[str, Any]] = {}
            for e in events:
                recorded.update((e.payload or {}).get("deadlines") or {})
            for a in assignments:
                last = recorded.get(str(a.pk))
                assert last is not None, a
                for name in COMPARED:
                    value = getattr(a, name)
                    if name == "provisional":
                        assert last[name] == value, (a, name)
                    else:
                        assert (dt.datetime.fromisoformat(last[name]) if last[name] else None) == value, (
                            a,
                            name,
                        )
            replayed = deadlines.replay(events, calendar=load_calendar())
            assert replayed == {a.pk: deadlines.clock_of(a) for a in assignments}

        def check_closed(self, order, events):
            """A closed order has a callback or a recorded reason."""
            if order.status != OrderStatus.CLOSED:
                return
            closing = [
                e for e in events if e.to_status == OrderStatus.CLOSED and e.from_status != OrderStatus.CLOSED
            ][-1]
            if closing.type == EventType.CALLBACK:
                assert Callback.objects.filter(pk=closing.payload["callback"], reached=True).exists()
            else:
                assert closing.reason.strip()

    return OrderMachine


def test_random_actions_by_random_people_keep_the_invariants(cast, now):
    machine = build_machine(cast, now)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=15,
            stateful_step_count=20,
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
