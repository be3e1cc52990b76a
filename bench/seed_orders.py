"""Bulk seeder: a demo city plus N work orders with their assignments, timelines and warnings.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minhu_bench \\
        .venv/bin/python -m bench.seed_orders --orders 1000000 [--open 200000] [--scale 1]

Without ``DATABASE_URL`` it writes to ``var/bench/orders.sqlite3``. It migrates the database,
builds the demo city (``demo.services.demo_city_seed`` at ``--scale``) unless it is there, adds
bench accounts (agents and dispatchers at the city, a handler at every unit that receives orders,
callback agents) and then writes the orders straight to the tables: ``COPY`` (psycopg 3
``cursor.copy``) on PostgreSQL, ``executemany`` in big transactions on SQLite. It is a benchmark
fixture, never run by CI (the smoke test seeds a few hundred rows).

What the rows look like (enough for queue, detail and sweep queries to meet realistic data):

- created dates over ``--days`` (365) ending at ``--now``; ids grow with the creation time; numbers
  ``YYYYMMDD`` + the day's sequence, and ``OrderNumberCounter`` rows to match;
- channels, kinds, urgency, catalog items (skewed: a few items are most of the load) and grids
  with one of their addresses; requesters from a pool of encrypted names and phones (with the
  keyed phone hash), some ID numbers, a few confidential orders;
- ``--open`` orders (default 20 %) open — mostly created in the last two weeks — spread over
  registered, awaiting dispatch, awaiting acceptance, return requested, in progress (some
  delegated, some with a pending extension request), suspended, awaiting review and awaiting
  callback; the rest closed (15 % of them answered at once), merged or withdrawn;
- assignments (lead from the item's responsibility rule: department or street; its assisting
  departments; some delegated to the community or the department's station in the street) with
  accept-by / contact-by / reply-by computed by ``orders.deadlines.clock_start`` on the real
  working-day calendar, and the dispatch event carrying the same clock operations the services
  write (so replaying a seeded timeline gives its stored deadlines);
- one timeline event per step (create, submit, dispatch, accept, delegate, contact, reply, review,
  callback …), replies, callbacks, suspension and extension requests;
- the yellow and red ``DeadlineWarning`` rows (with their events and the automatic urging) that a
  sweep running every five minutes up to ``--now`` would have recorded — so the database is in
  the state a live system is in, and the next sweep only has the last five minutes' work.

Not written: notifications (the outbox), contact records, attachments, supervision, reopen and
rework loops, the merged parent's ``child_merged`` event.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import os
import queue
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"
SQLITE_DEFAULT = BENCH_DIR / "orders.sqlite3"
AUDIT_EVENT = "bench.seed_orders"
PASSWORD_UNUSABLE = "!bench-account-no-login"  # noqa: S105 - an unusable password marker, not a secret
SWEEP_EVERY = dt.timedelta(minutes=5)
UTC = dt.UTC

# Table columns in the order the rows below are built; checked against the models at start.
ORDER_COLS = (
    "id", "number", "channel", "kind", "urgency", "status", "version", "last_seq", "item_id", "title",
    "content", "address_text", "address_id", "lon", "lat", "grid_id", "requester_name",
    "requester_phone", "requester_id_number", "requester_phone_hash", "requester_id_hash",
    "confidential", "client_request_id", "call_id", "parent_id", "created_by_id", "intake_unit_id",
    "dispatch_unit_id", "lead_unit_id", "holder_unit_id", "first_receiver_unit_id", "due_at",
    "public_reply", "reply_outcome", "rework_count", "reopen_count", "created_at", "updated_at",
    "closed_at",
)  # fmt: skip
ASSIGNMENT_COLS = (
    "id", "order_id", "unit_id", "role", "parent_id", "status", "version", "round",
    "dispatched_by_id", "dispatched_at", "limit_unit", "accept_within", "contact_within",
    "reply_within", "accept_by", "contact_by", "reply_by", "provisional", "calendar_version",
    "paused_at", "accepted_at", "contacted_at", "replied_at", "approved_at", "ended_at",
)  # fmt: skip
EVENT_COLS = (
    "id", "order_id", "seq", "type", "actor_id", "actor_unit_id", "assignment_id", "from_status",
    "to_status", "reason", "payload", "occurred_at",
)  # fmt: skip
REPLY_COLS = (
    "id", "order_id", "assignment_id", "author_id", "outcome", "explanation", "status", "is_rework",
    "created_at", "reviewed_by_id", "reviewed_at", "review_comment",
)  # fmt: skip
CALLBACK_COLS = (
    "id", "order_id", "agent_id", "reached", "unit_contacted", "resolved", "satisfaction", "comment",
    "created_at",
)  # fmt: skip
EXTENSION_COLS = (
    "id", "order_id", "assignment_id", "requested_by_id", "amount", "limit_unit", "reason", "status",
    "created_at", "decided_by_id", "decided_at", "decision_reason",
)  # fmt: skip
SUSPENSION_COLS = (
    "id", "order_id", "assignment_id", "requested_by_id", "reason", "status", "created_at",
    "decided_by_id", "decided_at", "decision_reason", "resumed_at",
)  # fmt: skip
WARNING_COLS = (
    "id", "assignment_id", "supervision_id", "order_id", "kind", "level", "due_at", "recorded_at",
    "event_id",
)  # fmt: skip


def _weighted(pairs: Sequence[tuple[str, float]]) -> tuple[list[str], list[float]]:
    values = [v for v, _w in pairs]
    cum: list[float] = []
    total = 0.0
    for _v, w in pairs:
        total += w
        cum.append(total)
    return values, [c / total for c in cum]


CHANNELS = _weighted(
    [
        ("hotline", 60),
        ("web", 8),
        ("mobile", 12),
        ("grid_patrol", 6),
        ("service_window", 4),
        ("service_review", 2),
        ("media", 1),
        ("deputy_proposal", 1),
        ("leader_mailbox", 2),
        ("open311", 4),
    ]
)
SELF_SERVICE = frozenset({"web", "mobile", "open311"})
KINDS = _weighted(
    [("complaint", 35), ("help", 25), ("consultation", 20), ("suggestion", 8), ("report", 8), ("praise", 4)]
)
OPEN_STATES = _weighted(
    [
        ("registered", 2),
        ("awaiting_dispatch", 8),
        ("awaiting_acceptance", 15),
        ("return_requested", 2),
        ("in_progress", 50),
        ("suspended", 3),
        ("awaiting_review", 8),
        ("awaiting_callback", 12),
    ]
)
OUTCOMES = _weighted([("resolved", 70), ("partly", 15), ("not_resolved", 10), ("not_our_responsibility", 5)])
SATISFACTION = _weighted([("satisfied", 70), ("basically", 18), ("dissatisfied", 12)])
URGEABLE = frozenset(
    {"awaiting_dispatch", "awaiting_acceptance", "return_requested", "in_progress", "awaiting_review"}
)
WITH_LEAD = frozenset(
    {"awaiting_acceptance", "return_requested", "in_progress", "suspended", "awaiting_review"}
)
TITLES = ("{item}问题反映", "关于{item}的诉求", "{item}", "反映{item}情况", "{item}（再次反映）")
CONTENTS = (
    "来电人反映{addr}附近{item}，影响居民正常生活，希望有关部门尽快处理。",
    "市民反映：{addr}一带{item}问题已持续多日，诉求尽快解决并回复。",
    "{addr}居民反映{item}，此前曾多次反映未果，请相关部门核实处理。",
)
REPLY_TEXT = "经核实，{item}问题属实，已安排人员现场处置，处置完毕后已电话告知诉求人。"
RETURN_REASON = "经核实该事项不属于本单位职责范围，建议改派。"
EXTENSION_REASON = "需协调多个部门现场会商，申请延期。"
SUSPENSION_REASON = "涉及历史遗留问题，需待规划调整后处理，申请挂账。"
WITHDRAW_REASON = "诉求人来电撤销诉求。"
ANSWER_TEXT = "已根据知识库向来电人解答相关政策，来电人表示清楚。"
URGE_TEXT = "已超过{kind}，系统自动催办。"
KIND_LABEL = {"accept": "签收时限", "contact": "联系时限", "reply": "答复时限"}


# --- what the seeder reads from the database ---------------------------------------------------------


@dataclass
class Rule:
    rule_id: int | None
    lead_kind: str
    lead_unit_id: int | None
    assist_ids: tuple[int, ...]
    limits: Any  # orders.deadlines.Limits


@dataclass
class World:
    city_id: int
    hotline_id: int
    grids: list[tuple[int, int, int]]  # grid, community, street
    addresses: dict[int, list[tuple[int, str, float | None, float | None]]]
    items: list[tuple[int, str, Rule]]
    item_cum: list[float]
    stations: dict[tuple[int, int], int]  # (department, street) -> station
    handler: dict[int, int]  # unit -> a handler user at it
    agents: list[int]
    dispatchers: list[int]
    callback_agents: list[int]
    requesters: list[tuple[str, str, str, str, str]]  # name, phone, phone hash, id, id hash (encrypted)
    calendar: Any
    yellow_fraction: float


@dataclass
class Counters:
    order: int
    assignment: int
    event: int
    reply: int
    callback: int
    extension: int
    suspension: int
    warning: int


@dataclass
class Rows:
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    assignments: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    replies: list[tuple[Any, ...]] = field(default_factory=list)
    callbacks: list[tuple[Any, ...]] = field(default_factory=list)
    extensions: list[tuple[Any, ...]] = field(default_factory=list)
    suspensions: list[tuple[Any, ...]] = field(default_factory=list)
    warnings: list[tuple[Any, ...]] = field(default_factory=list)

    def tables(self) -> list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
        return [
            ("orders_order", ORDER_COLS, self.orders),
            ("orders_assignment", ASSIGNMENT_COLS, self.assignments),
            ("orders_orderevent", EVENT_COLS, self.events),
            ("orders_reply", REPLY_COLS, self.replies),
            ("orders_callback", CALLBACK_COLS, self.callbacks),
            ("orders_extensionrequest", EXTENSION_COLS, self.extensions),
            ("orders_suspensionrequest", SUSPENSION_COLS, self.suspensions),
            ("orders_deadlinewarning", WARNING_COLS, self.warnings),
        ]


def check_columns() -> None:
    """Fail loudly when a model gained or lost a column the seeder does not know about."""
    from orders import models as m

    for model, cols in [
        (m.Order, ORDER_COLS),
        (m.Assignment, ASSIGNMENT_COLS),
        (m.OrderEvent, EVENT_COLS),
        (m.Reply, REPLY_COLS),
        (m.Callback, CALLBACK_COLS),
        (m.ExtensionRequest, EXTENSION_COLS),
        (m.SuspensionRequest, SUSPENSION_COLS),
        (m.DeadlineWarning, WARNING_COLS),
    ]:
        actual = {f.column for f in model._meta.concrete_fields}
        if actual != set(cols):
            raise SystemExit(
                f"bench.seed_orders: {model.__name__} columns changed "
                f"(missing here: {sorted(actual - set(cols))}, unknown: {sorted(set(cols) - actual)})"
            )


def _id_number(rng: random.Random) -> str:
    from core.masking import id_checksum

    body = f"990101{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + id_checksum(body)


def _requester_pool(rng: random.Random, size: int) -> list[tuple[str, str, str, str, str]]:
    from core.crypto import encrypt, search_hash
    from demo.names import person_name

    pool = []
    for _ in range(size):
        phone = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"
        id_number = _id_number(rng) if rng.random() < 0.1 else ""
        pool.append(
            (
                encrypt(person_name(rng), context="orders.Order.requester_name"),
                encrypt(phone, context="orders.Order.requester_phone"),
                search_hash(phone, kind="phone"),
                encrypt(id_number, context="orders.Order.requester_id_number") if id_number else "",
                search_hash(id_number, kind="id_number") if id_number else "",
            )
        )
    return pool


def ensure_bench_accounts(now: dt.datetime) -> dict[str, Any]:
    """Bench users (idempotent): 20 agents at the hotline centre, 5 dispatchers and 5 callback
    agents at the city, a handler at every street, community, department and station, a street
    secretary and a department handler for the queue benchmark. Returns their ids."""
    from django.contrib.auth import get_user_model

    from demo.services import CITY_CODE
    from orgs.choices import Role, UnitKind
    from orgs.models import Membership, Unit

    user_model = get_user_model()
    city = Unit.objects.get(code=CITY_CODE)
    hotline = Unit.objects.get(code="990100B000")
    receivers = list(
        Unit.objects.filter(
            kind__in=[UnitKind.STREET, UnitKind.COMMUNITY, UnitKind.DEPARTMENT, UnitKind.STATION]
        ).values_list("pk", "code")
    )
    wanted: list[tuple[str, int, str]] = []
    wanted += [(f"bench_agent_{n:02d}", hotline.pk, Role.AGENT) for n in range(1, 21)]
    wanted += [(f"bench_dispatcher_{n}", city.pk, Role.DISPATCHER) for n in range(1, 6)]
    wanted += [(f"bench_callback_{n}", city.pk, Role.CALLBACK_AGENT) for n in range(1, 6)]
    wanted += [(f"bench_h_{code}", pk, Role.HANDLER) for pk, code in receivers]
    existing = set(
        user_model.objects.filter(username__startswith="bench_").values_list("username", flat=True)
    )
    new = [w for w in wanted if w[0] not in existing]
    if new:
        users = user_model.objects.bulk_create(
            [
                user_model(
                    username=name,
                    display_name=name,
                    password=PASSWORD_UNUSABLE,
                    password_changed_at=now,
                )
                for name, _unit, _role in new
            ],
            batch_size=2000,
        )
        Membership.objects.bulk_create(
            [
                Membership(user=u, unit_id=unit, role=role)
                for u, (_n, unit, role) in zip(users, new, strict=True)
            ],
            batch_size=2000,
        )
    ids = dict(user_model.objects.filter(username__startswith="bench_").values_list("username", "pk"))
    handler = {unit: ids[f"bench_h_{code}"] for unit, code in receivers if f"bench_h_{code}" in ids}
    return {
        "agents": [ids[n] for n, _u, r in wanted if r == Role.AGENT],
        "dispatchers": [ids[n] for n, _u, r in wanted if r == Role.DISPATCHER],
        "callback_agents": [ids[n] for n, _u, r in wanted if r == Role.CALLBACK_AGENT],
        "handler": handler,
        "city_id": city.pk,
        "hotline_id": hotline.pk,
    }


def load_world(rng: random.Random, now: dt.datetime, *, pool: int) -> World:
    from django.conf import settings

    from catalog.models import CatalogItem, ResponsibilityRule
    from core.workcalendar import load_calendar
    from orders import deadlines
    from orders.services.supervision import DEFAULT_YELLOW_FRACTION
    from orgs.choices import UnitKind
    from orgs.models import Address, Unit

    accounts = ensure_bench_accounts(now)
    parent = dict(Unit.objects.values_list("pk", "parent_id"))
    grids = [
        (g, c, parent[c])
        for g, c in Unit.objects.filter(kind=UnitKind.GRID, is_active=True)
        .order_by("code")
        .values_list("pk", "parent_id")
        if c is not None and parent.get(c) is not None
    ]
    if not grids:
        raise SystemExit("bench.seed_orders: the database has no grids (seed the demo city first)")
    addresses: dict[int, list[tuple[int, str, float | None, float | None]]] = {}
    for pk, grid_id, text, lon, lat in Address.objects.filter(grid__isnull=False).values_list(
        "pk", "grid_id", "text", "lon", "lat"
    ):
        addresses.setdefault(grid_id, []).append((pk, text, lon, lat))
    stations = {
        (dept, street): pk
        for pk, dept, street in Unit.objects.filter(kind=UnitKind.STATION, is_active=True).values_list(
            "pk", "parent_id", "located_in_id"
        )
    }
    citywide: dict[int, Rule] = {}
    for rule in ResponsibilityRule.objects.filter(area__isnull=True).prefetch_related("assist_units"):
        citywide[rule.item_id] = Rule(
            rule_id=rule.pk,
            lead_kind=rule.lead_kind or "",
            lead_unit_id=rule.lead_unit_id,
            assist_ids=tuple(sorted(u.pk for u in rule.assist_units.all())),
            limits=deadlines.limits_of_rule(rule),
        )
    default = Rule(None, UnitKind.STREET, None, (), deadlines.default_limits("normal"))
    items = [
        (pk, name, citywide.get(pk, default))
        for pk, name in CatalogItem.objects.filter(is_active=True).order_by("code").values_list("pk", "name")
    ]
    if not items:
        raise SystemExit("bench.seed_orders: the catalog is empty (seed the demo city with its catalog)")
    # A Zipf-like load: a shuffled ranking, weight 1/rank^0.9.
    ranked = list(range(len(items)))
    rng.shuffle(ranked)
    weights = [1 / (r + 1) ** 0.9 for r in ranked]
    total = sum(weights)
    cum, acc = [], 0.0
    for w in weights:
        acc += w
        cum.append(acc / total)
    return World(
        city_id=accounts["city_id"],
        hotline_id=accounts["hotline_id"],
        grids=grids,
        addresses=addresses,
        items=items,
        item_cum=cum,
        stations=stations,
        handler=accounts["handler"],
        agents=accounts["agents"],
        dispatchers=accounts["dispatchers"],
        callback_agents=accounts["callback_agents"],
        requesters=_requester_pool(rng, pool),
        calendar=load_calendar(),
        yellow_fraction=float(getattr(settings, "ORDERS_WARNING_YELLOW_FRACTION", DEFAULT_YELLOW_FRACTION)),
    )


# --- one order ------------------------------------------------------------------------------------------


class OrderBuilder:
    """Builds the rows of one order at a time (a plain class with the hot paths bound locally)."""

    def __init__(self, world: World, rng: random.Random, now: dt.datetime, ids: Counters) -> None:
        from core.workcalendar import local_date
        from orders import deadlines

        self.w = world
        self.rng = rng
        self.now = now
        self.ids = ids
        self.local_date = local_date
        self.deadlines = deadlines
        self._clock_cache: dict[tuple[dt.date, Any], Any] = {}
        self.numbers: list[str] = []

    # clocks --------------------------------------------------------------------------------------

    def clock(self, at: dt.datetime, limits: Any, parent: Any = None, parent_id: int | None = None) -> Any:
        d = self.deadlines
        if parent is None and limits.unit == "working_days":
            key = (self.local_date(at), limits)
            found = self._clock_cache.get(key)
            if found is None:
                found = d.clock_start(at=at, limits=limits, calendar=self.w.calendar)
                self._clock_cache[key] = found
            return found
        return d.clock_start(
            at=at, limits=limits, calendar=self.w.calendar, parent=parent, parent_id=parent_id
        )

    def yellow(self, start: dt.datetime, due: dt.datetime) -> dt.datetime:
        return start + (due - start) * self.w.yellow_fraction

    # helpers -------------------------------------------------------------------------------------

    def step(self, t: dt.datetime, seconds: float) -> dt.datetime:
        """``t`` plus ``seconds``, compressed so that a chain of steps never reaches ``now``."""
        room = (self.now - t).total_seconds() - 60
        if room <= 0:
            return t + dt.timedelta(seconds=1)
        return t + dt.timedelta(seconds=min(seconds, room * 0.5))

    def build(self, order_id: int, number: str, created: dt.datetime, is_open: bool, rows: Rows) -> None:
        w, rng, rnd = self.w, self.rng, self.rng.random
        ids = self.ids
        channel = CHANNELS[0][bisect.bisect_left(CHANNELS[1], rnd())]
        kind = KINDS[0][bisect.bisect_left(KINDS[1], rnd())]
        self_service = channel in SELF_SERVICE
        urgency = "urgent" if rnd() < 0.05 else "normal"
        item_id, item_name, rule = w.items[min(bisect.bisect_left(w.item_cum, rnd()), len(w.items) - 1)]
        grid_id, community_id, street_id = w.grids[int(rnd() * len(w.grids))]
        addrs = w.addresses.get(grid_id)
        if addrs:
            address_id, address_text, lon, lat = addrs[int(rnd() * len(addrs))]
        else:
            address_id, address_text, lon, lat = None, "", None, None
        staff = not self_service and channel != "grid_patrol"
        created_by = w.agents[int(rnd() * len(w.agents))] if staff else None
        intake_unit = w.hotline_id if staff else None
        city = w.city_id
        dispatcher = w.dispatchers[int(rnd() * len(w.dispatchers))]
        req = w.requesters[int(rnd() * len(w.requesters))]

        # the final state
        if is_open:
            status = OPEN_STATES[0][bisect.bisect_left(OPEN_STATES[1], rnd())]
            if status == "registered" and self_service:
                status = "awaiting_dispatch"
            answered = False
        else:
            roll = rnd()
            status = "closed" if roll < 0.94 else "merged" if roll < 0.97 else "withdrawn"
            answered = status == "closed" and kind == "consultation" and not self_service and rnd() < 0.75
        parent_id = parent_number = None
        if status == "merged":
            back = int(rnd() * min(len(self.numbers) - 1, 5000)) + 1 if len(self.numbers) > 1 else 0
            if back == 0:
                status = "withdrawn"
            else:
                parent_id = order_id - back
                parent_number = self.numbers[-1 - back]

        events: list[list[Any]] = []  # [time, type, actor, actor_unit, assignment, from, to, reason, payload]
        assignments: list[list[Any]] = []
        o_status = "awaiting_dispatch" if self_service else "registered"
        payload = {
            "channel": channel,
            "kind": kind,
            "urgency": urgency,
            "item": item_id,
            "grid": grid_id,
            "dispatch_unit": city,
            "call_id": None,
        }
        call_id = None
        if channel == "hotline":
            call_id = f"CALL{order_id:010d}"
            payload["call_id"] = call_id
        events.append([created, "create", created_by, intake_unit, None, "", o_status, "", payload])
        t = created
        lead_unit = first_receiver = due_at = closed_at = None
        public_reply = reply_outcome = ""
        lead: list[Any] | None = None
        child: list[Any] | None = None

        def ev(
            at: dt.datetime,
            etype: str,
            actor: int | None,
            unit: int | None,
            assignment: list[Any] | None,
            to: str | None = None,
            reason: str = "",
            data: dict[str, Any] | None = None,
        ) -> None:
            nonlocal o_status
            frm = o_status
            if to is not None:
                o_status = to
            events.append(
                [at, etype, actor, unit, assignment[0] if assignment else None, frm, o_status, reason, data]
            )

        def new_assignment(
            unit: int, role: str, at: dt.datetime, clock: Any, parent: list[Any] | None
        ) -> list[Any]:
            # mirrors ASSIGNMENT_COLS from "id" to "ended_at"
            a = [
                ids.assignment, order_id, unit, role, parent[0] if parent else None, "pending", 0, 1,
                dispatcher, at, clock.limit_unit, limits.accept, limits.contact, limits.reply,
                clock.accept_by, clock.contact_by, clock.reply_by, clock.provisional,
                clock.calendar_version, None, None, None, None, None, None,
            ]  # fmt: skip
            ids.assignment += 1
            assignments.append(a)
            return a

        def move(a: list[Any], status_to: str, **stamps: dt.datetime) -> None:
            a[5] = status_to
            a[6] += 1
            for name, value in stamps.items():
                a[ASSIGNMENT_COLS.index(name)] = value

        limits = rule.limits
        if not self_service and status != "registered":
            if answered:
                t = self.step(t, rng.uniform(60, 600))
                ev(
                    t,
                    "answer_directly",
                    created_by,
                    intake_unit,
                    None,
                    "closed",
                    ANSWER_TEXT,
                    {"knowledge": None},
                )
                public_reply, reply_outcome, closed_at = ANSWER_TEXT, "resolved", t
            elif status == "withdrawn" and rnd() < 0.5:
                t = self.step(t, rng.uniform(60, 3600))
                ev(t, "withdraw", created_by, intake_unit, None, "withdrawn", WITHDRAW_REASON)
                closed_at = t
            else:
                t = self.step(t, rng.uniform(60, 600))
                ev(t, "submit", created_by, intake_unit, None, "awaiting_dispatch")
        if o_status == "awaiting_dispatch" and status not in ("awaiting_dispatch",):
            t = self.step(t, rng.uniform(600, 6 * 3600))
            if status == "merged":
                ev(
                    t,
                    "merge",
                    dispatcher,
                    city,
                    None,
                    "merged",
                    "",
                    {"parent": parent_id, "parent_number": parent_number},
                )
                closed_at = t
            elif status == "withdrawn":
                ev(t, "withdraw", dispatcher, city, None, "withdrawn", WITHDRAW_REASON)
                closed_at = t
            else:
                # dispatch: the lead from the rule (a department, or the grid's street), its assists
                lead_unit = rule.lead_unit_id or street_id
                clock = self.clock(t, limits)
                lead = new_assignment(lead_unit, "lead", t, clock, None)
                assists = [
                    new_assignment(u, "assist", t, clock, None) for u in rule.assist_ids if u != lead_unit
                ]
                created_list = [lead, *assists]
                ops = [self.deadlines.op_start(a[0], limits) for a in created_list]
                data = {
                    "lead": lead_unit,
                    "assists": [a[2] for a in assists],
                    "item": item_id,
                    "rule": rule.rule_id,
                    "round": 1,
                    "clock": ops,
                    "deadlines": self.deadlines.deadlines_payload({a[0]: clock for a in created_list}),
                    "calendar_version": clock.calendar_version,
                }
                ev(t, "dispatch", dispatcher, city, lead, "awaiting_acceptance", "", data)
                dispatched = t
                lead_handler = w.handler.get(lead_unit)
                if status == "return_requested":
                    t = self.step(
                        t, (self.yellow(t, clock.accept_by) - t).total_seconds() * rng.uniform(0.05, 0.6)
                    )
                    move(lead, "return_requested")
                    ev(t, "return", lead_handler, lead_unit, lead, "return_requested", RETURN_REASON)
                elif status != "awaiting_acceptance":
                    span = (self.yellow(dispatched, clock.accept_by) - dispatched).total_seconds()
                    t = self.step(t, span * rng.uniform(0.05, 0.6))
                    move(lead, "accepted", accepted_at=t)
                    first_receiver = lead_unit
                    ev(t, "accept", lead_handler, lead_unit, lead, "in_progress")
                    for a in assists:
                        t = self.step(t, rng.uniform(60, 3600))
                        move(a, "accepted", accepted_at=t)
                        ev(t, "accept", w.handler.get(a[2]), a[2], a)
                    # delegation down: the street to the grid's community, a department to its station
                    target = None
                    if rnd() < 0.12:
                        target = (
                            community_id if lead_unit == street_id else w.stations.get((lead_unit, street_id))
                        )
                    holder_a = lead
                    if target is not None:
                        t = self.step(t, rng.uniform(1800, 4 * 3600))
                        parent_clock = self.deadlines.clock_of(_Assign(lead))
                        cclock = self.clock(t, limits, parent=parent_clock, parent_id=lead[0])
                        child = new_assignment(target, "lead", t, cclock, lead)
                        op = self.deadlines.op_start(child[0], limits, lead[0])
                        ev(
                            t,
                            "delegate",
                            lead_handler,
                            lead_unit,
                            child,
                            None,
                            "",
                            {
                                "parent": lead[0],
                                "unit": target,
                                "clock": [op],
                                "deadlines": self.deadlines.deadlines_payload({child[0]: cclock}),
                                "calendar_version": cclock.calendar_version,
                            },
                        )
                        cspan = (self.yellow(t, cclock.accept_by) - t).total_seconds()
                        t = self.step(t, max(cspan, 600) * rng.uniform(0.05, 0.6))
                        move(child, "accepted", accepted_at=t)
                        ev(t, "accept", w.handler.get(target), target, child)
                        holder_a = child
                    h_unit, h_user = holder_a[2], w.handler.get(holder_a[2])
                    contact_yellow = self.yellow(dispatched, holder_a[15])
                    contacted = status != "in_progress" or rnd() < 0.7
                    if contacted:
                        t = self.step(
                            t, max((contact_yellow - t).total_seconds(), 600) * rng.uniform(0.05, 0.6)
                        )
                        holder_a[21] = t  # contacted_at
                        ev(t, "record_contact", h_user, h_unit, holder_a, None, "", {"method": "phone"})
                        for a in assists:  # most assisting units record their contact too
                            if rnd() < 0.8:
                                t = self.step(t, rng.uniform(60, 3600))
                                a[21] = t
                                ev(
                                    t,
                                    "record_contact",
                                    w.handler.get(a[2]),
                                    a[2],
                                    a,
                                    None,
                                    "",
                                    {"method": "phone"},
                                )
                    if status == "suspended":
                        t = self.step(t, rng.uniform(3600, 2 * 86400))
                        requested = t
                        ev(
                            t,
                            "suspend_request",
                            h_user,
                            h_unit,
                            lead,
                            None,
                            SUSPENSION_REASON,
                            {"request": ids.suspension},
                        )
                        t = self.step(t, rng.uniform(1800, 86400))
                        active = [a for a in assignments if a[5] in ("pending", "accepted")]
                        pause_ops = [self.deadlines.op_pause(a[0]) for a in active]
                        for a in active:
                            a[19] = t  # paused_at
                        ev(
                            t,
                            "suspend_approve",
                            dispatcher,
                            city,
                            lead,
                            "suspended",
                            "",
                            {"request": ids.suspension, "clock": pause_ops},
                        )
                        rows.suspensions.append(
                            (ids.suspension, order_id, lead[0], h_user, SUSPENSION_REASON, "approved", requested, dispatcher, t, "", None)
                        )  # fmt: skip
                        ids.suspension += 1
                    elif status == "in_progress":
                        if rnd() < 0.05:
                            t = self.step(t, rng.uniform(3600, 3 * 86400))
                            ev(
                                t,
                                "extension_request",
                                h_user,
                                h_unit,
                                lead,
                                None,
                                EXTENSION_REASON,
                                {"request": ids.extension, "amount": 5, "unit": limits.unit},
                            )
                            rows.extensions.append(
                                (ids.extension, order_id, lead[0], h_user, 5, limits.unit, EXTENSION_REASON, "pending", t, None, None, "")
                            )  # fmt: skip
                            ids.extension += 1
                    else:
                        # the reply: on time mostly, after the red line for some
                        reply_yellow = self.yellow(dispatched, lead[16])
                        if rnd() < 0.85:
                            t = self.step(
                                t, max((reply_yellow - t).total_seconds(), 600) * rng.uniform(0.1, 0.9)
                            )
                        else:
                            t = self.step(
                                t, max((lead[16] - t).total_seconds(), 0) + rng.uniform(3600, 5 * 86400)
                            )
                        outcome = OUTCOMES[0][bisect.bisect_left(OUTCOMES[1], rnd())]
                        text = REPLY_TEXT.format(item=item_name)
                        if child is not None:
                            move(child, "replied", replied_at=t)
                            ev(
                                t,
                                "reply",
                                w.handler.get(child[2]),
                                child[2],
                                child,
                                None,
                                "",
                                {"reply": ids.reply, "outcome": outcome, "photos": []},
                            )
                            rows.replies.append(
                                (ids.reply, order_id, child[0], w.handler.get(child[2]), outcome, text, "approved", False, t, lead_handler, None, "")
                            )  # fmt: skip
                            t = self.step(t, rng.uniform(1800, 86400))
                            move(child, "approved", approved_at=t)
                            rows.replies[-1] = rows.replies[-1][:10] + (t, "")
                            ev(
                                t,
                                "review_approve",
                                lead_handler,
                                lead_unit,
                                child,
                                None,
                                "",
                                {"reply": ids.reply, "outcome": outcome},
                            )
                            ids.reply += 1
                            t = self.step(t, rng.uniform(600, 86400))
                        move(lead, "replied", replied_at=t)
                        ev(
                            t,
                            "reply",
                            lead_handler,
                            lead_unit,
                            lead,
                            "awaiting_review",
                            "",
                            {"reply": ids.reply, "outcome": outcome, "photos": []},
                        )
                        replied = t
                        if status == "awaiting_review":
                            rows.replies.append(
                                (ids.reply, order_id, lead[0], lead_handler, outcome, text, "pending_review", False, replied, None, None, "")
                            )  # fmt: skip
                            ids.reply += 1
                        else:
                            t = self.step(t, rng.uniform(2 * 3600, 2 * 86400))
                            rows.replies.append(
                                (ids.reply, order_id, lead[0], lead_handler, outcome, text, "approved", False, replied, dispatcher, t, "")
                            )  # fmt: skip
                            move(lead, "approved", approved_at=t)
                            for a in assignments:
                                if a[5] in ("pending", "accepted", "replied"):
                                    move(a, "cancelled", ended_at=t)
                            ev(
                                t,
                                "review_approve",
                                dispatcher,
                                city,
                                lead,
                                "awaiting_callback",
                                "",
                                {"reply": ids.reply, "outcome": outcome},
                            )
                            ids.reply += 1
                            public_reply, reply_outcome = text, outcome
                            if status == "closed":
                                t = self.step(t, rng.uniform(4 * 3600, 3 * 86400))
                                agent = w.callback_agents[int(rnd() * len(w.callback_agents))]
                                reached = rnd() < 0.9
                                sat = (
                                    SATISFACTION[0][bisect.bisect_left(SATISFACTION[1], rnd())]
                                    if reached
                                    else ""
                                )
                                rows.callbacks.append(
                                    (ids.callback, order_id, agent, reached, True if reached else None, (outcome == "resolved") if reached else None, sat, "", t)
                                )  # fmt: skip
                                ev(
                                    t,
                                    "callback",
                                    agent,
                                    city,
                                    None,
                                    "closed",
                                    "",
                                    {"callback": ids.callback, "reached": reached, "satisfaction": sat},
                                )
                                ids.callback += 1
                                closed_at = t

        # warnings a sweep every five minutes would have recorded up to now
        if lead is not None:
            self._warnings(order_id, events, assignments, status, rows)
        events.sort(key=lambda e: e[0])
        # statuses of warning events follow the state at their time
        current = ""
        for e in events:
            if e[1] == "deadline_warning" or (e[1] == "urge" and e[2] is None):
                e[5] = e[6] = current
            else:
                current = e[6]
        seq = 0
        for e in events:
            seq += 1
            event_id = ids.event
            ids.event += 1
            payload_json = json.dumps(e[8], ensure_ascii=False) if e[8] else "{}"
            rows.events.append(
                (event_id, order_id, seq, e[1], e[2], e[3], e[4], e[5], e[6], e[7], payload_json, e[0])
            )
            if e[1] == "deadline_warning":
                data, (assignment_id, due) = e[8], e[9]
                rows.warnings.append(
                    (
                        data["warning"],
                        assignment_id,
                        None,
                        order_id,
                        data["kind"],
                        data["level"],
                        due,
                        e[0],
                        event_id,
                    )
                )
        # holder, due date and lead as the services derive them
        top_active = lead is not None and lead[5] in ("pending", "return_requested", "accepted", "replied")
        if status in ("closed", "merged", "withdrawn"):
            holder = due_at = None
        elif status == "registered":
            holder = intake_unit or city
        elif status in WITH_LEAD and top_active and lead is not None:
            due_at = lead[16]
            if lead[5] in ("return_requested", "replied"):
                holder = city
            elif child is not None and child[5] in ("pending", "accepted"):
                holder = child[2]
            else:
                holder = lead[2]
        else:
            holder = city
        last = events[-1][0]
        title = TITLES[int(rnd() * len(TITLES))].format(item=item_name)
        content = CONTENTS[int(rnd() * len(CONTENTS))].format(item=item_name, addr=address_text or "辖区")
        rows.orders.append(
            (
                order_id, number, channel, kind, urgency, status, seq - 1, seq, item_id, title,
                content, address_text, address_id, lon, lat, grid_id, req[0],
                req[1], req[3], req[2], req[4],
                rnd() < 0.02, None, call_id, parent_id, created_by, intake_unit,
                city, lead_unit, holder, first_receiver, due_at,
                public_reply, reply_outcome, 0, 0, created, last,
                closed_at,
            )
        )  # fmt: skip
        rows.assignments.extend(tuple(a) for a in assignments)

    def _warnings(
        self, order_id: int, events: list[list[Any]], assignments: list[list[Any]], status: str, rows: Rows
    ) -> None:
        """Yellow and red warnings for every deadline crossed while its assignment was in the state
        the sweep watches (pending: accept-by; accepted: contact-by until contacted, reply-by)."""
        rng, now = self.rng, self.now
        state_times = [(e[0], e[6]) for e in events]
        for a in assignments:
            start, paused = a[9], a[19]
            accepted, contacted, left = a[20], a[21], a[22] or a[24] or a[23]
            end_pending = accepted or (left if a[5] not in ("pending",) else None) or paused or now
            if a[5] == "return_requested":
                end_pending = self._time_of(events, "return", a[0]) or now
            end_accepted = left or paused or now
            windows = [("accept", a[14], start, end_pending)]
            if accepted is not None:
                windows.append(("contact", a[15], start, min(contacted or end_accepted, end_accepted)))
                windows.append(("reply", a[16], start, end_accepted))
            for kind, due, begin, end in windows:
                if due is None:
                    continue
                for level, threshold in (("yellow", self.yellow(begin, due)), ("red", due)):
                    at = threshold + dt.timedelta(seconds=rng.uniform(0, SWEEP_EVERY.total_seconds()))
                    if at >= end or at > now:
                        break
                    warning = self.ids.warning
                    self.ids.warning += 1
                    data = {
                        "warning": warning,
                        "kind": kind,
                        "level": level,
                        "due_at": due.isoformat(),
                        "supervision": None,
                    }
                    events.append([at, "deadline_warning", None, None, a[0], "", "", "", data, (a[0], due)])
                    if (
                        level == "red"
                        and kind in ("accept", "reply")
                        and self._status_at(state_times, at) in URGEABLE
                    ):
                        events.append(
                            [
                                at,
                                "urge",
                                None,
                                None,
                                None,
                                "",
                                "",
                                URGE_TEXT.format(kind=KIND_LABEL[kind]),
                                {"units": [a[2]], "automatic": True, "warning": warning},
                            ]
                        )

    @staticmethod
    def _time_of(events: list[list[Any]], etype: str, assignment_id: int) -> dt.datetime | None:
        for e in events:
            if e[1] == etype and e[4] == assignment_id:
                return e[0]  # type: ignore[no-any-return]
        return None

    @staticmethod
    def _status_at(state_times: list[tuple[dt.datetime, str]], at: dt.datetime) -> str:
        current = ""
        for t, s in state_times:
            if t > at:
                break
            current = s
        return current


class _Assign:
    """Attribute view of an assignment row list for ``orders.deadlines.clock_of``."""

    def __init__(self, a: list[Any]) -> None:
        self.parent_id = a[4]
        self.limit_unit = a[10]
        self.accept_by, self.contact_by, self.reply_by = a[14], a[15], a[16]
        self.provisional, self.calendar_version, self.paused_at = a[17], a[18], a[19]


# --- writing ---------------------------------------------------------------------------------------------


class Writer:
    """COPY on PostgreSQL, executemany on SQLite, through Django's connection (its transaction)."""

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor

        self.connection.ensure_connection()
        self.raw = connection.connection

    def write(self, table: str, cols: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        raw = self.raw
        if self.vendor == "postgresql":
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        if self.vendor != "sqlite":
            raise SystemExit(f"bench.seed_orders: unsupported database {self.vendor}")
        adapt = self.connection.ops.adapt_datetimefield_value
        converted = [
            tuple(
                adapt(v) if isinstance(v, dt.datetime) else int(v) if isinstance(v, bool) else v for v in row
            )
            for row in rows
        ]
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"  # noqa: S608
        raw.executemany(sql, converted)


@contextmanager
def bulk_load(tables: Sequence[str], *, enabled: bool, say: Callable[[str], None]) -> Iterator[None]:
    """Inside a transaction on PostgreSQL: drop the foreign keys and the plain (non-unique) indexes
    of ``tables``, and re-create them exactly (``pg_get_constraintdef`` / ``pg_get_indexdef``) when
    the block ends. Primary keys, unique and check constraints stay in place throughout."""
    if not enabled:
        yield
        return
    from django.db import connection

    with connection.cursor() as cursor:
        # deferred checks still queued in this transaction (e.g. the city just built) would block
        # ALTER TABLE: run them now
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
            [list(tables)],
        )
        keys = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisunique AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
            [list(tables)],
        )
        indexes = cursor.fetchall()
        for table, name, _definition in keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    say(f"bulk load: dropped {len(keys)} foreign keys and {len(indexes)} indexes")
    yield
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        say(f"bulk load: {len(indexes)} indexes rebuilt ({time.perf_counter() - started:.1f} s)")
        for table, name, definition in keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    say(f"bulk load: {len(keys)} foreign keys validated ({time.perf_counter() - started:.1f} s)")


class CopyThread:
    """Writes queued chunks with ``Writer`` from a second thread, on the same connection (the main
    thread does not touch the database until ``close``). One chunk in flight at most."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.queue: queue.Queue[Rows | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="seed-copy", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            rows = self.queue.get()
            if rows is None:
                return
            if self.error is not None:
                continue
            try:
                for table, cols, table_rows in rows.tables():
                    self.writer.write(table, cols, table_rows)
            except BaseException as exc:  # re-raised in the main thread by put() / close()
                self.error = exc

    def put(self, rows: Rows) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(rows)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _next_id(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 - fixed table names
        return int(cursor.fetchone()[0])


def _created_times(
    rng: random.Random, n: int, n_open: int, now: dt.datetime, days: int
) -> list[tuple[dt.datetime, bool]]:
    """Creation instants (sorted) and whether each order is still open. Open orders are mostly
    recent (70 % in the last 14 days, 20 % 14–60 days, the rest older); the others are spread evenly."""
    year = days * 86400.0
    out: list[tuple[float, bool]] = []
    for i in range(n):
        is_open = i < n_open
        if is_open:
            r = rng.random()
            age = (
                rng.uniform(0, 14 * 86400)
                if r < 0.7
                else rng.uniform(14 * 86400, 60 * 86400)
                if r < 0.9
                else rng.uniform(60 * 86400, year)
            )
        else:
            age = rng.uniform(0, year)
        out.append((min(age, year), is_open))
    out.sort(key=lambda x: -x[0])
    return [(now - dt.timedelta(seconds=age + 120), is_open) for age, is_open in out]


@dataclass
class SeedResult:
    orders: int
    open: int
    rows: dict[str, int]
    seconds: float
    now: dt.datetime


def seed_orders(
    *,
    orders: int,
    open_orders: int | None = None,
    now: dt.datetime | None = None,
    seed: int = 1,
    days: int = 365,
    chunk: int = 20_000,
    requester_pool: int = 5000,
    progress: Callable[[str], None] | None = None,
) -> SeedResult:
    """Write ``orders`` orders (``open_orders`` of them open) into the default database, which must
    already hold the demo city and no orders. Returns the counts and the seeding instant."""
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from core.audit import audit_record
    from core.workcalendar import local_date
    from orders import models as m

    say = progress or (lambda _msg: None)
    check_columns()
    if m.Order.objects.exists():
        raise SystemExit("bench.seed_orders: the database already has orders; seed into an empty one")
    started = time.perf_counter()
    now = (now or timezone.now()).astimezone(UTC).replace(second=0, microsecond=0)
    n_open = round(orders * 0.2) if open_orders is None else open_orders
    if not 0 <= n_open <= orders:
        raise SystemExit("bench.seed_orders: --open must lie between 0 and --orders")
    rng = random.Random(seed)
    world = load_world(rng, now, pool=requester_pool)
    say(f"world: {len(world.grids)} grids, {len(world.items)} items, {len(world.handler)} handler units")
    times = _created_times(rng, orders, n_open, now, days)
    counters = Counters(
        order=_next_id("orders_order"),
        assignment=_next_id("orders_assignment"),
        event=_next_id("orders_orderevent"),
        reply=_next_id("orders_reply"),
        callback=_next_id("orders_callback"),
        extension=_next_id("orders_extensionrequest"),
        suspension=_next_id("orders_suspensionrequest"),
        warning=_next_id("orders_deadlinewarning"),
    )
    builder = OrderBuilder(world, rng, now, counters)
    writer = Writer()
    totals: dict[str, int] = {}
    per_day: dict[dt.date, int] = {}
    table_names = [t for t, _c, _r in Rows().tables()]
    postgres = connection.vendor == "postgresql"
    done = 0
    # PostgreSQL: one transaction; plain indexes and foreign keys of the (empty) tables are dropped
    # for the load and rebuilt after it (a sort per index and one validating join per key, as
    # pg_restore does). SQLite: a transaction per chunk, its deferred foreign keys checked at commit.
    with transaction.atomic(), bulk_load(table_names, enabled=postgres, say=say):
        # On PostgreSQL a second thread streams each chunk through COPY while this one builds the
        # next (the server's work overlaps Python's); SQLite writes each chunk in its transaction.
        sink = CopyThread(writer) if postgres else None
        try:
            while done < orders:
                batch = times[done : done + chunk]
                rows = Rows()
                for created, is_open in batch:
                    day = local_date(created)
                    per_day[day] = per_day.get(day, 0) + 1
                    number = f"{day:%Y%m%d}{per_day[day]:06d}"
                    builder.numbers.append(number)
                    builder.build(counters.order, number, created, is_open, rows)
                    counters.order += 1
                for table, _cols, table_rows in rows.tables():
                    totals[table] = totals.get(table, 0) + len(table_rows)
                if sink is not None:
                    sink.put(rows)
                else:
                    with transaction.atomic():
                        for table, cols, table_rows in rows.tables():
                            writer.write(table, cols, table_rows)
                done += len(batch)
                say(f"{done:>9,} orders  ({time.perf_counter() - started:6.1f} s)")
        finally:
            if sink is not None:
                sink.close()
        say(f"rows written ({time.perf_counter() - started:.1f} s)")
    with transaction.atomic():
        m.OrderNumberCounter.objects.bulk_create(
            [m.OrderNumberCounter(day=day, last=last) for day, last in sorted(per_day.items())],
            batch_size=2000,
        )
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(
                no_style(),
                [
                    m.Order,
                    m.Assignment,
                    m.OrderEvent,
                    m.Reply,
                    m.Callback,
                    m.ExtensionRequest,
                    m.SuspensionRequest,
                    m.DeadlineWarning,
                ],
            ):
                cursor.execute(sql)
        audit_record(
            event_type=AUDIT_EVENT,
            object_type="orders.order",
            extra={"now": now.isoformat(), "orders": orders, "open": n_open, "seed": seed, "rows": totals},
            now=now,
        )
    say("analyze …")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            for table in table_names:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            # and every other table (the organisation tree, people, addresses): the statistics
            # autovacuum would gather in a live system, which the plans depend on
            cursor.execute("ANALYZE")
        elif connection.vendor == "postgresql":  # inside a test's transaction: no VACUUM
            for table in table_names:
                cursor.execute(f"ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")
    return SeedResult(orders, n_open, totals, time.perf_counter() - started, now)


def seed_info() -> dict[str, Any] | None:
    """What the last seeding recorded (its ``now`` as a datetime), or None."""
    from core.models import AuditEvent

    row = (
        AuditEvent.objects.filter(event_type=AUDIT_EVENT)
        .order_by("-seq")
        .values_list("extra", flat=True)
        .first()
    )
    if row is None:
        return None
    info = dict(row)
    info["now"] = dt.datetime.fromisoformat(info["now"])
    return info


# --- command line ---------------------------------------------------------------------------------------


def setup_django() -> None:
    """Settings for a bench run: the test settings, on ``DATABASE_URL`` or the bench SQLite file."""
    if not os.environ.get("DATABASE_URL"):
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_DEFAULT}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minhu.settings_test")
    os.environ.setdefault("MINHU_ALLOW_DEV_KEY", "1")
    import django

    django.setup()


def ensure_city(scale: float, out: Callable[[str], None] = print) -> None:
    from django.core.management import call_command

    from demo.services import demo_city_exists, demo_city_seed

    call_command("migrate", verbosity=0)
    if not demo_city_exists():
        start = time.perf_counter()
        counts = demo_city_seed(scale=scale)
        out(f"demo city at scale {scale}: {counts['grids']} grids ({time.perf_counter() - start:.1f} s)")


def _iter_counts(result: SeedResult) -> Iterator[str]:
    for table, n in result.rows.items():
        yield f"  {table:<28} {n:>11,}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=None, help="open orders (default 20 %% of --orders)")
    parser.add_argument("--scale", type=float, default=1.0, help="demo city scale when it must be built")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--now", type=str, default=None, help="ISO instant the data ends at (default: now)")
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connection

    ensure_city(args.scale)
    now = dt.datetime.fromisoformat(args.now) if args.now else None
    if now is not None and now.tzinfo is None:
        raise SystemExit("--now needs a time zone offset")
    print(f"[{connection.vendor}] seeding {args.orders:,} orders into {connection.settings_dict['NAME']}")
    result = seed_orders(
        orders=args.orders,
        open_orders=args.open,
        now=now,
        seed=args.seed,
        days=args.days,
        chunk=args.chunk,
        progress=lambda msg: print(f"  {msg}", flush=True),
    )
    print(
        f"seeded {result.orders:,} orders ({result.open:,} open) in {result.seconds:.1f} s, now={result.now}"
    )
    for line in _iter_counts(result):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
