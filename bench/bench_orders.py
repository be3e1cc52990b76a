"""Benchmark: orders registered per second through the services and the HTTP API vs raw SQL.

    .venv/bin/python -m bench.bench_orders [--orders 500] [--preload 20000] [--scale 0.2] [--clients 2]

Runs on SQLite (a file under ``var/bench/``) and, when ``DATABASE_URL`` points at PostgreSQL, on
a temporary database beside it (``<name>_orders``), each in its own process. Each database gets
the demo city (``--scale``), the bench accounts and ``--preload`` orders from
``bench.seed_orders`` (so the tables and their indexes are not empty), then, one order at a time
from one client, as a hotline agent (with varied input: kind, catalog item (skewed), an
address typed as text, requester name and phone, a client request id):

- **service, create + submit** — ``orders.services.order_create`` then ``order_submit``: the
  agent registers the call, then sends it to the dispatchers (two transactions). Measured twice:
  with the outbox delivered inline after commit (``minhu.settings_test`` runs Huey immediately),
  and with the delivery queued (the event ids the services schedule are recorded instead — what
  enqueuing for a worker costs the request), which is the request path;
- **service, create(submit=True)** — the same in one call and one transaction (delivery queued):
  the registration the agent's call page, the staff API and the channels make, so the line the
  floor applies to (≥ 300 orders/s on PostgreSQL), alone and from ``--clients`` processes;
- **HTTP API** — ``POST /api/v1/orders`` with ``"submit": true`` through Django's test client
  (all middleware, bearer-token authentication, the 201 response with the order's detail);
- **service, N clients** — create(submit=True) from ``--clients`` forked processes at once;
- **batch** — ``orders.services.order_create_batch`` with ``--batch`` registrations a call (the
  same rows, one transaction a call), and the same through ``POST /api/v1/orders/batch``: an
  upstream platform's push, or calls recorded during an outage;
- **worker** — delivering the queued outbox rows afterwards, per event, as the Huey task does;
- **raw SQL** (the baseline) — the very rows the create + submit line wrote (the order, its two
  timeline events and the dispatchers' outbox rows, copied with a new number), inserted with
  plain ``INSERT … RETURNING`` statements, one transaction per order as a registration commits;
  and the same rows in one transaction (the bulk ceiling).

Queries are counted per registration (Django's statements, savepoints included).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.seed_orders import BENCH_DIR

FLOOR = 300.0  # orders/s through the service layer on PostgreSQL (issue 3)
KINDS = ("complaint", "help", "consultation", "suggestion", "report")


@dataclass
class Ctx:
    agent: Any
    token: str
    items: list[Any]
    addresses: list[str]
    rng: random.Random


@dataclass
class Figure:
    name: str
    count: int
    seconds: float
    queries: int | None = None
    per: str = ""  # what the queries are counted per, when not one registration

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")


def prepare(*, scale: float, preload: int, out: Callable[[str], None]) -> Ctx:
    """Demo city, bench accounts, ``preload`` seeded orders, an API token for one agent."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from bench.seed_orders import ensure_bench_accounts, seed_orders
    from catalog.models import CatalogItem
    from core.identity import api_token_create
    from demo.services import demo_city_exists, demo_city_seed
    from orgs.models import Address

    start = time.perf_counter()
    if not demo_city_exists():
        demo_city_seed(scale=scale)
    now = timezone.now()
    if preload:
        seed_orders(orders=preload, now=now)
    else:
        ensure_bench_accounts(now)
    out(
        f"  prepared: city at scale {scale}, {preload:,} orders preloaded ({time.perf_counter() - start:.1f} s)"
    )
    agent = get_user_model().objects.get(username="bench_agent_01")
    _token, raw = api_token_create(actor=agent, user=agent, name="bench", now=now)
    items = list(CatalogItem.objects.filter(is_active=True).order_by("code"))
    addresses = list(Address.objects.order_by("pk").values_list("text", flat=True)[:5000])
    return Ctx(agent=agent, token=raw, items=items, addresses=addresses, rng=random.Random(7))


def order_input(ctx: Ctx) -> dict[str, Any]:
    rng = ctx.rng
    item = ctx.items[int(rng.random() ** 2 * len(ctx.items))]
    address = rng.choice(ctx.addresses)
    return {
        "kind": rng.choice(KINDS),
        "title": f"{item.name}问题反映",
        "content": f"来电人反映{address}附近{item.name}，影响正常生活，希望尽快处理。",
        "item": item,
        "address_text": address,
        "requester_name": "张" + rng.choice("伟芳娜敏静丽强磊"),
        "requester_phone": f"139{rng.randint(0, 99_999_999):08d}",
        "client_request_id": uuid.uuid4().hex,
    }


# --- the three ways in ---------------------------------------------------------------------------------


def register_service(ctx: Ctx, *, two_step: bool) -> int:
    from django.utils import timezone

    from orders import services

    data = order_input(ctx)
    order = services.order_create(
        actor=ctx.agent, now=timezone.now(), channel="hotline", submit=not two_step, **data
    )
    if two_step:
        services.order_submit(order=order, actor=ctx.agent, now=timezone.now())
    return order.pk


def register_batch(ctx: Ctx, size: int) -> list[int]:
    """``size`` registrations (submitted) in one ``order_create_batch`` call."""
    from django.utils import timezone

    from orders import services

    entries = [{**order_input(ctx), "channel": "hotline", "submit": True} for _ in range(size)]
    done = services.order_create_batch(actor=ctx.agent, now=timezone.now(), entries=entries)
    return [entry.order.pk for entry in done]


def register_api_batch(ctx: Ctx, client: Any, size: int) -> list[int]:
    """``size`` registrations in one ``POST /api/v1/orders/batch``."""
    entries = []
    for _ in range(size):
        data = order_input(ctx)
        entries.append({**data, "item_id": data.pop("item").pk, "channel": "hotline", "submit": True})
        entries[-1].pop("item", None)
    response = client.post("/api/v1/orders/batch", {"orders": entries}, content_type="application/json")
    if response.status_code != 201:
        raise AssertionError(f"API batch failed: {response.status_code} {response.content[:300]!r}")
    return [int(row["id"]) for row in response.json()["orders"]]


def api_client(ctx: Ctx) -> Any:
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {ctx.token}")


def register_api(ctx: Ctx, client: Any) -> int:
    data = order_input(ctx)
    body = {**data, "item_id": data.pop("item").pk, "channel": "hotline", "submit": True}
    body.pop("item", None)
    response = client.post("/api/v1/orders", body, content_type="application/json")
    if response.status_code != 201:
        raise AssertionError(f"API registration failed: {response.status_code} {response.content[:300]!r}")
    return int(response.json()["id"])


# --- the raw SQL baseline ---------------------------------------------------------------------------------


@dataclass
class RawOrder:
    order: tuple[Any, ...]
    events: list[tuple[Any, ...]]
    notifications: list[list[tuple[Any, ...]]]  # per event


def _columns(model: Any, skip: Sequence[str] = ("id",)) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if f.column not in skip]


def read_rows(order_ids: list[int], *, prefix: str) -> list[RawOrder]:
    """The rows the services wrote for ``order_ids`` (without ids), ready to insert again with
    ``prefix`` before the number (unique) and no client request id."""
    from django.db import connection

    from orders.models import Notification, Order, OrderEvent

    o_cols, e_cols, n_cols = _columns(Order), _columns(OrderEvent), _columns(Notification)
    out: list[RawOrder] = []
    with connection.cursor() as cursor:
        for pk in order_ids:
            cursor.execute(f"SELECT {', '.join(o_cols)} FROM orders_order WHERE id = %s", [pk])  # noqa: S608
            order = list(cursor.fetchone())
            order[o_cols.index("number")] = prefix + str(order[o_cols.index("number")])
            order[o_cols.index("client_request_id")] = None
            cursor.execute(
                f"SELECT id, {', '.join(e_cols)} FROM orders_orderevent WHERE order_id = %s ORDER BY seq",  # noqa: S608
                [pk],
            )
            events = cursor.fetchall()
            notes = []
            for event in events:
                cursor.execute(
                    f"SELECT {', '.join(n_cols)} FROM orders_notification WHERE event_id = %s ORDER BY id",  # noqa: S608
                    [event[0]],
                )
                notes.append([tuple(r) for r in cursor.fetchall()])
            out.append(RawOrder(tuple(order), [tuple(e[1:]) for e in events], notes))
    return out


def insert_raw(rows: list[RawOrder], *, per_order: bool) -> float:
    """Insert the rows with plain SQL; returns seconds. One transaction per order, or one for all."""
    from django.db import connection, transaction

    from orders.models import Notification, Order, OrderEvent

    o_cols, e_cols, n_cols = _columns(Order), _columns(OrderEvent), _columns(Notification)
    o_sql = f"INSERT INTO orders_order ({', '.join(o_cols)}) VALUES ({', '.join(['%s'] * len(o_cols))}) RETURNING id"  # noqa: S608
    e_sql = f"INSERT INTO orders_orderevent ({', '.join(e_cols)}) VALUES ({', '.join(['%s'] * len(e_cols))}) RETURNING id"  # noqa: S608
    n_sql = (
        f"INSERT INTO orders_notification ({', '.join(n_cols)}) VALUES ({', '.join(['%s'] * len(n_cols))})"  # noqa: S608
    )
    e_order, n_event = e_cols.index("order_id"), n_cols.index("event_id")

    def one(cursor: Any, raw: RawOrder) -> None:
        cursor.execute(o_sql, raw.order)
        order_id = cursor.fetchone()[0]
        for event, notes in zip(raw.events, raw.notifications, strict=True):
            values = list(event)
            values[e_order] = order_id
            cursor.execute(e_sql, values)
            event_id = cursor.fetchone()[0]
            if notes:
                fixed = [list(n) for n in notes]
                for n in fixed:
                    n[n_event] = event_id
                cursor.executemany(n_sql, fixed)

    start = time.perf_counter()
    if per_order:
        for raw in rows:
            with transaction.atomic(), connection.cursor() as cursor:
                one(cursor, raw)
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            for raw in rows:
                one(cursor, raw)
    return time.perf_counter() - start


# --- the run ---------------------------------------------------------------------------------------------


@contextmanager
def delivery_queued(queued: list[int]) -> Iterator[None]:
    """Record the event ids the services schedule for delivery after commit instead of delivering
    them at once (what enqueuing for a Huey worker costs the request: next to nothing)."""
    import orders.tasks

    real = orders.tasks.deliver_notifications
    orders.tasks.deliver_notifications = queued.append
    try:
        yield
    finally:
        orders.tasks.deliver_notifications = real


def deliver_queued(queued: list[int]) -> float:
    """Deliver what was queued, as the worker would (seconds)."""
    from django.utils import timezone

    from orders.notifications import deliver_event

    start = time.perf_counter()
    for event_id in queued:
        deliver_event(event_id, now=timezone.now())
    return time.perf_counter() - start


@contextmanager
def count_queries() -> Iterator[list[int]]:
    """Count the statements Django sends (savepoints included, BEGIN/COMMIT not). Unlike
    ``CaptureQueriesContext`` it survives the test client's per-request query-log reset."""
    from django.db import connection

    counter = [0]

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        counter[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counter


def _timed(name: str, n: int, fn: Callable[[], int], warmup: int) -> tuple[Figure, list[int]]:
    for _ in range(warmup):
        fn()
    with count_queries() as counter:
        fn()
    start = time.perf_counter()
    ids = [fn() for _ in range(n)]
    return Figure(name, n, time.perf_counter() - start, counter[0]), ids


def _timed_batches(name: str, n: int, size: int, fn: Callable[[], list[int]]) -> Figure:
    """``n`` registrations in calls of ``size`` (after one warm-up call); queries per call."""
    fn()
    with count_queries() as counter:
        fn()
    start = time.perf_counter()
    done = 0
    while done < n:
        done += len(fn())
    return Figure(name, done, time.perf_counter() - start, counter[0], per="/call")


def _parallel(name: str, n: int, clients: int, fn: Callable[[], int]) -> Figure:
    """``clients`` forked processes, ``n`` registrations between them, from a common start."""
    import multiprocessing

    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients + 1)

    def work(count: int) -> None:
        connections.close_all()  # a connection of its own
        fn()  # warm-up
        barrier.wait()
        for _ in range(count):
            fn()
        connections.close_all()

    shares = [n // clients + (1 if k < n % clients else 0) for k in range(clients)]
    procs = [context.Process(target=work, args=(share,)) for share in shares]
    for proc in procs:
        proc.start()
    barrier.wait()
    start = time.perf_counter()
    for proc in procs:
        proc.join()
    seconds = time.perf_counter() - start
    if any(proc.exitcode != 0 for proc in procs):
        raise AssertionError(f"{name}: a client process failed")
    return Figure(name, n, seconds)


def run(
    orders: int,
    *,
    preload: int,
    scale: float,
    clients: int = 2,
    batch: int = 100,
    warmup: int = 20,
    out: Callable[[str], None] = print,
) -> dict[str, Figure]:
    """Prepare the current database and measure every way in; returns the figures by name."""
    from django.db import connection

    ctx = prepare(scale=scale, preload=preload, out=out)
    figures: dict[str, Figure] = {}
    figures["service_inline"], _ids = _timed(
        "service: create + submit, delivered inline",
        orders,
        lambda: register_service(ctx, two_step=True),
        warmup,
    )
    queued: list[int] = []
    with delivery_queued(queued):
        figures["service"], two_step_ids = _timed(
            "service: create + submit", orders, lambda: register_service(ctx, two_step=True), warmup
        )
        figures["service_one_call"], _ids = _timed(
            "service: create(submit=True)", orders, lambda: register_service(ctx, two_step=False), warmup
        )
        client = api_client(ctx)
        figures["api"], _ids = _timed(
            "HTTP API: POST /api/v1/orders", orders, lambda: register_api(ctx, client), warmup
        )
        if batch:
            figures["service_batch"] = _timed_batches(
                f"service: order_create_batch, {batch} a call",
                orders,
                batch,
                lambda: register_batch(ctx, batch),
            )
            figures["api_batch"] = _timed_batches(
                f"HTTP API: POST /orders/batch, {batch} a call",
                orders,
                batch,
                lambda: register_api_batch(ctx, client, batch),
            )
        if clients > 1:
            figures["service_parallel"] = _parallel(
                f"service: create(submit=True), {clients} clients",
                orders,
                clients,
                lambda: register_service(ctx, two_step=False),
            )
    events = len(queued)
    figures["worker"] = Figure("worker: deliver the outbox rows", events, deliver_queued(queued))
    rows = read_rows(two_step_ids, prefix="R")
    per_order = insert_raw(rows, per_order=True)
    figures["raw"] = Figure("raw SQL, a transaction per order", len(rows), per_order, _raw_queries(rows[0]))
    bulk = insert_raw(read_rows(two_step_ids, prefix="B"), per_order=False)
    figures["raw_bulk"] = Figure("raw SQL, one transaction", len(rows), bulk)
    raw_rate = figures["raw"].per_second
    out(f"  {'way in':<44} {'orders/s':>9} {'ms/order':>9} {'queries':>8} {'raw/this':>9}")
    for fig in figures.values():
        if not fig.count:
            out(f"  {fig.name:<44} {'-':>9}")
            continue
        ratio = raw_rate / fig.per_second
        queries = "" if fig.queries is None else f"{fig.queries}{fig.per}"
        out(
            f"  {fig.name:<44} {fig.per_second:>9.1f} {1000 / fig.per_second:>9.2f} {queries:>8} {ratio:>8.1f}x"
        )
    rows_per_order = statistics.mean(1 + len(r.events) + sum(len(n) for n in r.notifications) for r in rows)
    out(
        f"  {orders} registrations per line; rows per registration {rows_per_order:.1f}; the worker line "
        f"is per event delivered; load average {os.getloadavg()[0]:.1f}"
    )
    if connection.vendor == "postgresql":
        for key in ("service_one_call", "service_parallel", "service_batch"):
            if key in figures:
                fig = figures[key]
                verdict = "met" if fig.per_second >= FLOOR else "NOT met"
                out(f"  floor ≥ {FLOOR:.0f} orders/s through the service layer ({fig.name}): {verdict}")
    out(f"  database: {connection.vendor}")
    return figures


def _raw_queries(raw: RawOrder) -> int:
    # BEGIN/COMMIT are not counted, as in the captured service queries (SAVEPOINTs are)
    return 1 + len(raw.events) + sum(1 for n in raw.notifications if n)


def _run_here(orders: int, preload: int, scale: float, clients: int, batch: int) -> None:
    """Set up Django on a temporary database (SQLite under var/bench/, or ``<name>_orders``)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minhu.settings_test")
    os.environ.setdefault("MINHU_ALLOW_DEV_KEY", "1")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    logging.getLogger("huey").setLevel(logging.WARNING)
    setup_test_environment()
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        path = Path(BENCH_DIR / "bench_orders.sqlite3")
        test_settings["NAME"] = str(path)
    else:
        test_settings["NAME"] = f"{connection.settings_dict['NAME']}_orders"
    old_name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, keepdb=False, serialize=False
    )
    try:
        print(f"[{connection.vendor}] {orders} registrations per way in, after {preload:,} preloaded orders")
        run(orders, preload=preload, scale=scale, clients=clients, batch=batch)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=500, help="registrations per way in")
    parser.add_argument("--clients", type=int, default=2, help="processes for the parallel line (1: none)")
    parser.add_argument("--batch", type=int, default=100, help="orders per batch call (0: no batch lines)")
    parser.add_argument("--preload", type=int, default=20_000, help="seeded orders before measuring")
    parser.add_argument("--scale", type=float, default=0.2, help="demo city scale")
    parser.add_argument(
        "--target",
        choices=["all", "sqlite", "postgres"],
        default="all",
        help="all = SQLite, and PostgreSQL too when DATABASE_URL is set (each in its own process)",
    )
    args = parser.parse_args(argv)
    if args.target != "all":
        _run_here(args.orders, args.preload, args.scale, args.clients, args.batch)
        return 0
    base = [
        sys.executable,
        "-m",
        "bench.bench_orders",
        *("--orders", str(args.orders), "--preload", str(args.preload), "--scale", str(args.scale)),
        *("--clients", str(args.clients), "--batch", str(args.batch)),
    ]
    sqlite_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    status = subprocess.call([*base, "--target", "sqlite"], env=sqlite_env)  # noqa: S603
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        status |= subprocess.call([*base, "--target", "postgres"])  # noqa: S603
    return status


if __name__ == "__main__":
    raise SystemExit(main())
