"""The daily rollups (STYLE.md rule 15): per-order facts read from the orders timeline, and
``UnitDailyCount`` rebuilt a day at a time from them.

- ``rollup_orders(order_ids=…)`` recomputes those orders' facts from the raw tables
  (``metrics.order_fact``) and adds, for each fact that changed, the difference between its new
  and its old cells (``metrics.fact_delta``) to ``UnitDailyCount`` — so a late callback, a reopen
  or a ruled appeal moves exactly the cells of the days it touches, at a cost in proportion to the
  orders that changed, not to the size of their days;
- ``rollup_days(days=…)`` rebuilds ``UnitDailyCount`` for whole days from ``OrderFact`` (a few
  GROUP BY queries for any number of days): the full rebuild, and the repair of a day whose delta
  did not fit; ``rollup_months(months=…)`` does the same for ``UnitMonthCount``, a month at a time.
  Both tables take the same deltas (``metrics.fact_rows`` and ``metrics.fact_month_rows``).
- ``rollup_catch_up(now=…)`` reads the orders timeline after ``FillState("timeline").cursor``,
  with a look-back window for transactions that committed out of id order, and recomputes the
  orders whose fact is older than their timeline (``source_seq != last_seq``).
- ``rollup_rebuild(now=…)`` is the full recomputation; a test proves it equals the incremental
  result.

- ``live_counts_refresh(now=…)`` takes the per-grid snapshot of the dashboard's live counters
  (open, overdue, registered and closed today: ``GridLiveCount``), every minute.

All are safe to run twice (a second run finds nothing changed). Writers serialise on the
``FillState("lock")`` row (``select_for_update``; SQLite serialises writers anyway). Orders are
never imported the other way: ``orders`` knows nothing of this module (STYLE.md §10).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.db.models import Max, Sum

from assessment import metrics
from assessment.choices import AppealStatus
from assessment.metrics import (
    ALL_MEASURES,
    ASSESSED_MEASURES,
    FACT_EVENT_TYPES,
    HANDLING,
    TERRITORIAL,
    VOLUME_MEASURES,
    CallbackRow,
    EventRow,
    Fact,
    LeadRow,
    OrderRow,
    metric_name,
    month_start,
)
from assessment.models import Appeal, FillState, GridLiveCount, OrderFact, UnitDailyCount, UnitMonthCount
from orders.choices import AssignmentRole
from orders.models import Assignment, Callback, Order, OrderEvent
from orgs.choices import UnitKind
from orgs.models import UnitClosure

LOCK = "lock"
TIMELINE = "timeline"
REBUILD = "rebuild"
BATCH = 2000  # orders per load (keeps ``IN`` lists small on SQLite)
EVENT_BATCH = 20_000
LOOKBACK = 10_000  # event ids re-read below the cursor (late commits); cheap: only stale orders recompute
DAY_BATCH = 62

T = TypeVar("T")


def _chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


FACT_COLUMNS: tuple[str, ...] = (
    "order_id",
    "source_seq",
    "item_id",
    "channel",
    "loc_unit_id",
    "area_unit_id",
    "hdl_unit_id",
    "created_day",
    "count_day",
    *ALL_MEASURES,
    "computed_at",
)


@dataclass(frozen=True)
class CountTable:
    """One of the two rollup tables: its model, the name of its date column and the cells a fact
    adds to it (the key's date is a day, or the first of a month)."""

    model: type[models.Model]
    date_field: str
    cells_of: metrics.CellsOf

    @property
    def columns(self) -> tuple[str, ...]:
        return ("unit_id", self.date_field, "item_id", "channel", "metric", "value")


DAILY = CountTable(UnitDailyCount, "day", metrics.fact_rows)
MONTHLY = CountTable(UnitMonthCount, "month", metrics.fact_month_rows)


def _insert(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Plain ``INSERT … VALUES`` with ``executemany``: the rollups write tens of thousands of
    narrow rows, where building a model instance per row (``bulk_create``) costs more than the
    database's own work. Values are adapted by the database driver."""
    if not rows:
        return
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES ({placeholders})"  # noqa: S608 -- our own table and column names
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH * 5):
            cursor.executemany(sql, [list(r) for r in rows[start : start + BATCH * 5]])


def _day(value: dt.date | None) -> object:
    return connection.ops.adapt_datefield_value(value)


def _fact_values(fact: Fact, stamp: object) -> tuple[object, ...]:
    """A fact as the row ``_insert`` writes (``stamp``: the adapted ``computed_at``)."""
    return (
        fact.order_id,
        fact.source_seq,
        fact.item_id,
        fact.channel,
        fact.loc_unit_id,
        fact.area_unit_id,
        fact.hdl_unit_id,
        _day(fact.created_day),
        _day(fact.count_day),
        *(fact.value(m) for m in ALL_MEASURES),
        stamp,
    )


def _state(name: str) -> FillState:
    """The ``FillState`` row ``name``, created if missing and locked for this transaction."""
    row, _created = FillState.objects.get_or_create(name=name)
    return FillState.objects.select_for_update().get(pk=row.pk)


# --- reading the raw tables ---------------------------------------------------------------------------


def compute_facts(order_ids: Sequence[int]) -> dict[int, Fact]:
    """The current facts of ``order_ids`` from the raw tables: five queries per ``BATCH`` orders."""
    facts: dict[int, Fact] = {}
    for chunk in _chunks(sorted(set(order_ids)), BATCH):
        ids = list(chunk)
        leads: dict[int, list[LeadRow]] = {}
        lead_rows = Assignment.objects.filter(
            order_id__in=ids, role=AssignmentRole.LEAD, parent__isnull=True
        ).values_list(
            "order_id",
            "pk",
            "unit_id",
            "round",
            "dispatched_at",
            "accept_by",
            "accepted_at",
            "reply_by",
            "replied_at",
        )
        for (
            order_id,
            pk,
            unit_id,
            round_no,
            dispatched_at,
            accept_by,
            accepted_at,
            reply_by,
            replied_at,
        ) in lead_rows:
            leads.setdefault(order_id, []).append(
                LeadRow(pk, unit_id, round_no, dispatched_at, accept_by, accepted_at, reply_by, replied_at)
            )
        callbacks: dict[int, list[CallbackRow]] = {}
        callback_rows = Callback.objects.filter(order_id__in=ids).values_list(
            "order_id", "pk", "created_at", "reached", "unit_contacted", "resolved", "satisfaction"
        )
        for order_id, pk, created_at, reached, contacted, resolved, satisfaction in callback_rows:
            callbacks.setdefault(order_id, []).append(
                CallbackRow(pk, created_at, reached, contacted, resolved, satisfaction)
            )
        events: dict[int, list[EventRow]] = {}
        event_rows = (
            OrderEvent.objects.filter(order_id__in=ids, type__in=FACT_EVENT_TYPES)
            .order_by()
            .values_list("order_id", "type", "occurred_at", "assignment_id")
        )
        for order_id, event_type, occurred_at, assignment_id in event_rows:
            events.setdefault(order_id, []).append(EventRow(event_type, occurred_at, assignment_id))
        upheld = set(
            Appeal.objects.filter(order_id__in=ids, status=AppealStatus.UPHELD).values_list(
                "order_id", flat=True
            )
        )
        community_of = dict(
            UnitClosure.objects.filter(
                descendant_id__in=Order.objects.filter(pk__in=ids, grid__isnull=False).values("grid_id"),
                ancestor__kind=UnitKind.COMMUNITY,
            )
            .order_by()
            .values_list("descendant_id", "ancestor_id")
        )
        for row in Order.objects.filter(pk__in=ids).values_list(
            "pk",
            "status",
            "parent_id",
            "channel",
            "item_id",
            "grid_id",
            "dispatch_unit_id",
            "created_at",
            "closed_at",
            "last_seq",
            "rework_count",
            "reopen_count",
        ):
            grid_id = row[5]
            order = OrderRow(*row, area_id=community_of.get(grid_id) if grid_id is not None else None)
            facts[order.pk] = metrics.order_fact(
                order,
                leads=leads.get(order.pk, []),
                callbacks=callbacks.get(order.pk, []),
                events=events.get(order.pk, []),
                upheld_appeal=order.pk in upheld,
            )
    return facts


def _from_row(row: OrderFact) -> Fact:
    return Fact(
        order_id=row.order_id,
        source_seq=row.source_seq,
        item_id=row.item_id,
        channel=row.channel,
        loc_unit_id=row.loc_unit_id,
        area_unit_id=row.area_unit_id,
        hdl_unit_id=row.hdl_unit_id,
        created_day=row.created_day,
        count_day=row.count_day,
        values={m: getattr(row, m) for m in ALL_MEASURES if getattr(row, m)},
    )


# --- the writers ----------------------------------------------------------------------------------------


@dataclass
class RollupResult:
    orders: int = 0  # orders whose fact changed
    days: set[dt.date] = field(default_factory=set)  # days whose cells changed
    rows: int = 0  # UnitDailyCount rows created, changed or deleted
    repaired: set[dt.date] = field(default_factory=set)  # days (months) rebuilt: a delta did not fit


def _apply_delta(
    delta: dict[metrics.RollupKey, int], table: CountTable = DAILY
) -> tuple[int, set[dt.date], set[dt.date]]:
    """Add ``delta`` to ``table``: update or create each cell, delete cells that reach zero.
    A delta that does not fit (a cell would go negative) means the table drifted from the facts:
    that day (month) is rebuilt from them instead. Returns (rows touched, dates, dates repaired)."""
    by_day: dict[dt.date, dict[metrics.RollupKey, int]] = {}
    for key, value in delta.items():
        if value:
            by_day.setdefault(key[1], {})[key] = value
    creates: list[metrics.RollupKey] = []
    create_values: dict[metrics.RollupKey, int] = {}
    updates: list[tuple[int, int]] = []
    deletes: list[int] = []
    broken: set[dt.date] = set()
    manager = table.model._default_manager
    for day, cells in by_day.items():
        units = sorted({key[0] for key in cells})
        existing: dict[metrics.RollupKey, tuple[int, int]] = {}
        for chunk in _chunks(units, BATCH):
            rows = manager.filter(**{table.date_field: day}, unit_id__in=list(chunk)).values_list(
                "pk", "unit_id", "item_id", "channel", "metric", "value"
            )
            for pk, unit_id, item_id, channel, metric, value in rows:
                existing[(unit_id, day, item_id, channel, metric)] = (pk, value)
        for key, change in cells.items():
            found = existing.get(key)
            total = change + (found[1] if found is not None else 0)
            if total < 0:
                broken.add(day)
            elif found is None:
                creates.append(key)
                create_values[key] = change
            elif total == 0:
                deletes.append(found[0])
            else:
                updates.append((change, found[0]))
    creates = [key for key in creates if key[1] not in broken]
    _insert(
        table.model._meta.db_table,
        table.columns,
        [(key[0], _day(key[1]), key[2], key[3], key[4], create_values[key]) for key in creates],
    )
    if updates:
        name = connection.ops.quote_name(table.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f'UPDATE {name} SET "value" = "value" + %s WHERE "id" = %s',  # noqa: S608 -- the model's own table name
                updates,
            )
    for chunk in _chunks(deletes, BATCH):
        manager.filter(pk__in=list(chunk)).delete()
    if broken:
        if table is MONTHLY:
            rollup_months(months=broken)
        else:
            rollup_days(days=broken)
    return len(creates) + len(updates) + len(deletes), set(by_day), broken


@transaction.atomic
def rollup_orders(*, order_ids: Iterable[int], now: dt.datetime) -> RollupResult:
    """Recompute the facts of ``order_ids`` and add what changed to the daily rows (work in
    proportion to the orders that changed, whatever the size of their days)."""
    ids = sorted(set(order_ids))
    result = RollupResult()
    if not ids:
        return result
    _state(LOCK)
    delta: dict[metrics.RollupKey, int] = {}
    month_delta: dict[metrics.RollupKey, int] = {}
    for chunk in _chunks(ids, BATCH):
        old = {row.order_id: row for row in OrderFact.objects.filter(order_id__in=list(chunk))}
        new = compute_facts(chunk)
        replace: list[Fact] = []
        reseq: list[OrderFact] = []
        for pk in chunk:
            fact = new.get(pk)
            if fact is None:  # orders are never deleted; nothing to attribute
                continue
            stored = old.get(pk)
            previous = _from_row(stored) if stored is not None else None
            if previous is not None and previous.key() == fact.key():
                if stored is not None and stored.source_seq != fact.source_seq:
                    stored.source_seq = fact.source_seq
                    stored.computed_at = now
                    reseq.append(stored)
                continue
            for key, value in metrics.fact_delta(previous, fact).items():
                delta[key] = delta.get(key, 0) + value
            for key, value in metrics.fact_delta(previous, fact, MONTHLY.cells_of).items():
                month_delta[key] = month_delta.get(key, 0) + value
            replace.append(fact)
        if replace:
            OrderFact.objects.filter(order_id__in=[f.order_id for f in replace]).delete()
            stamp = connection.ops.adapt_datetimefield_value(now)
            _insert(OrderFact._meta.db_table, FACT_COLUMNS, [_fact_values(f, stamp) for f in replace])
            result.orders += len(replace)
        if reseq:
            OrderFact.objects.bulk_update(reseq, ["source_seq", "computed_at"], batch_size=BATCH)
    result.rows, result.days, result.repaired = _apply_delta(delta)
    month_rows, _months, repaired_months = _apply_delta(month_delta, MONTHLY)
    result.rows += month_rows
    result.repaired |= repaired_months
    return result


def _cells_for_days(days: Sequence[dt.date]) -> Iterator[tuple[object, ...]]:
    """The ``UnitDailyCount`` rows of ``days`` (the columns of ``DAILY``), aggregated from ``OrderFact`` by
    the database."""
    volume = OrderFact.objects.filter(created_day__in=days).order_by()
    detail = volume.values("created_day", "loc_unit_id", "item_id", "channel").annotate(
        **{m: Sum(m) for m in VOLUME_MEASURES}
    )
    for row in detail:
        for measure in VOLUME_MEASURES:
            if row[measure]:
                yield (
                    row["loc_unit_id"],
                    _day(row["created_day"]),
                    row["item_id"],
                    row["channel"],
                    metric_name(metrics.DETAIL, measure),
                    row[measure],
                )
    grids = volume.values("created_day", "loc_unit_id").annotate(**{m: Sum(m) for m in VOLUME_MEASURES})
    for row in grids:
        for measure in VOLUME_MEASURES:
            if row[measure]:
                yield (
                    row["loc_unit_id"],
                    _day(row["created_day"]),
                    metrics.NO_ITEM,
                    metrics.NO_CHANNEL,
                    metric_name(metrics.GRID_TOTAL, measure),
                    row[measure],
                )
    totals = volume.values("created_day", "area_unit_id").annotate(**{m: Sum(m) for m in VOLUME_MEASURES})
    for row in totals:
        for measure in VOLUME_MEASURES:
            if row[measure]:
                yield (
                    row["area_unit_id"],
                    _day(row["created_day"]),
                    metrics.NO_ITEM,
                    metrics.NO_CHANNEL,
                    metric_name(TERRITORIAL, measure),
                    row[measure],
                )
    assessed = OrderFact.objects.filter(count_day__in=days).order_by()
    for axis, unit_field, qs in (
        (TERRITORIAL, "area_unit_id", assessed),
        (HANDLING, "hdl_unit_id", assessed.filter(hdl_unit__isnull=False)),
    ):
        grouped = qs.values("count_day", unit_field).annotate(**{m: Sum(m) for m in ASSESSED_MEASURES})
        for row in grouped:
            for measure in ASSESSED_MEASURES:
                if row[measure]:
                    yield (
                        row[unit_field],
                        _day(row["count_day"]),
                        metrics.NO_ITEM,
                        metrics.NO_CHANNEL,
                        metric_name(axis, measure),
                        row[measure],
                    )


@transaction.atomic
def rollup_days(*, days: Iterable[dt.date]) -> int:
    """Rebuild ``UnitDailyCount`` for ``days`` from the facts; returns the rows written."""
    wanted = sorted(set(days))
    if not wanted:
        return 0
    _state(LOCK)
    written = 0
    for chunk in _chunks(wanted, DAY_BATCH):
        group = list(chunk)
        UnitDailyCount.objects.filter(day__in=group).delete()
        cells = list(_cells_for_days(group))
        _insert(UnitDailyCount._meta.db_table, DAILY.columns, cells)
        written += len(cells)
    return written


def _month_end(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def _cells_for_month(month: dt.date) -> Iterator[tuple[object, ...]]:
    """The ``UnitMonthCount`` rows of ``month`` (the columns of ``MONTHLY``), aggregated from
    ``OrderFact`` by the database: the cells of ``metrics.fact_month_rows``, five GROUP BYs."""
    first = _day(month)
    end = _month_end(month)
    volume = OrderFact.objects.filter(created_day__gte=month, created_day__lt=end).order_by()
    sums = {m: Sum(m) for m in VOLUME_MEASURES}
    splits: tuple[tuple[str, tuple[str, ...]], ...] = (
        (metrics.BY_ITEM, ("area_unit_id", "item_id")),
        (metrics.BY_CHANNEL, ("area_unit_id", "channel")),
        (TERRITORIAL, ("area_unit_id",)),
    )
    for axis, group in splits:
        for row in volume.values(*group).annotate(**sums):
            for measure in VOLUME_MEASURES:
                if row[measure]:
                    yield (
                        row["area_unit_id"],
                        first,
                        row.get("item_id", metrics.NO_ITEM),
                        row.get("channel", metrics.NO_CHANNEL),
                        metric_name(axis, measure),
                        row[measure],
                    )
    assessed = OrderFact.objects.filter(count_day__gte=month, count_day__lt=end).order_by()
    for axis, unit_field, qs in (
        (TERRITORIAL, "area_unit_id", assessed),
        (HANDLING, "hdl_unit_id", assessed.filter(hdl_unit__isnull=False)),
    ):
        for row in qs.values(unit_field).annotate(**{m: Sum(m) for m in ASSESSED_MEASURES}):
            for measure in ASSESSED_MEASURES:
                if row[measure]:
                    yield (
                        row[unit_field],
                        first,
                        metrics.NO_ITEM,
                        metrics.NO_CHANNEL,
                        metric_name(axis, measure),
                        row[measure],
                    )


@transaction.atomic
def rollup_months(*, months: Iterable[dt.date]) -> int:
    """Rebuild ``UnitMonthCount`` for the months of ``months`` (any day of a month names it)
    from the facts; returns the rows written."""
    wanted = sorted({month_start(day) for day in months})
    if not wanted:
        return 0
    _state(LOCK)
    written = 0
    for month in wanted:
        UnitMonthCount.objects.filter(month=month).delete()
        cells = list(_cells_for_month(month))
        _insert(UnitMonthCount._meta.db_table, MONTHLY.columns, cells)
        written += len(cells)
    return written


def _stale(order_ids: Iterable[int]) -> list[int]:
    """Of ``order_ids``, those whose fact is missing or older than their timeline."""
    ids = sorted(set(order_ids))
    stale: list[int] = []
    for chunk in _chunks(ids, BATCH):
        seqs = dict(Order.objects.filter(pk__in=list(chunk)).values_list("pk", "last_seq"))
        facts = dict(OrderFact.objects.filter(order_id__in=list(chunk)).values_list("order_id", "source_seq"))
        stale.extend(pk for pk, seq in seqs.items() if facts.get(pk) != seq)
    return stale


def stale_after(event_id: int, *, limit: int = 1_000_000) -> int:
    """How many orders with an event after ``event_id`` have a stale or missing fact (read only)."""
    ids = set(
        OrderEvent.objects.filter(pk__gt=event_id).order_by("pk").values_list("order_id", flat=True)[:limit]
    )
    return len(_stale(ids))


@dataclass
class CatchUpResult:
    events: int = 0
    orders: int = 0
    days: set[dt.date] = field(default_factory=set)
    cursor: int = 0


def rollup_catch_up(*, now: dt.datetime, batch: int = EVENT_BATCH, lookback: int = LOOKBACK) -> CatchUpResult:
    """Read the orders timeline after the cursor and bring the facts and days up to date.

    Each chunk of events is one transaction holding the ``timeline`` row, so concurrent runs take
    turns; the first chunk starts ``lookback`` ids below the cursor (an event whose transaction
    committed after a later id was read is still seen) — its orders recompute only if stale."""
    result = CatchUpResult()
    first = True
    while True:
        with transaction.atomic():
            state = _state(TIMELINE)
            start = max(0, state.cursor - lookback) if first else state.cursor
            first = False
            chunk = list(
                OrderEvent.objects.filter(pk__gt=start).order_by("pk").values_list("pk", "order_id")[:batch]
            )
            if chunk:
                stale = _stale({order_id for _pk, order_id in chunk})
                if stale:
                    done = rollup_orders(order_ids=stale, now=now)
                    result.orders += done.orders
                    result.days |= done.days
                result.events += len(chunk)
                state.cursor = max(state.cursor, chunk[-1][0])
            state.until = now
            state.updated_at = now
            state.save(update_fields=["cursor", "until", "updated_at"])
            result.cursor = state.cursor
        if len(chunk) < batch:
            return result


@dataclass
class RebuildResult:
    orders: int = 0
    days: int = 0
    rows: int = 0  # daily rows
    month_rows: int = 0


@transaction.atomic
def rollup_rebuild(*, now: dt.datetime) -> RebuildResult:
    """The full recomputation: every fact from the raw tables, every day from the facts. The
    timeline cursor moves to the last event seen at the start (later ones are caught up)."""
    _state(LOCK)
    timeline = _state(TIMELINE)
    last_event = OrderEvent.objects.aggregate(m=Max("pk"))["m"] or 0
    UnitDailyCount.objects.all().delete()
    UnitMonthCount.objects.all().delete()
    OrderFact.objects.all().delete()
    result = RebuildResult()
    ids = list(Order.objects.order_by("pk").values_list("pk", flat=True))
    for chunk in _chunks(ids, BATCH):
        facts = compute_facts(chunk)
        stamp = connection.ops.adapt_datetimefield_value(now)
        _insert(OrderFact._meta.db_table, FACT_COLUMNS, [_fact_values(f, stamp) for f in facts.values()])
        result.orders += len(facts)
    days: set[dt.date] = set(OrderFact.objects.values_list("created_day", flat=True).distinct())
    days |= {d for d in OrderFact.objects.values_list("count_day", flat=True).distinct() if d is not None}
    result.days = len(days)
    result.rows = rollup_days(days=days)
    result.month_rows = rollup_months(months=days)
    timeline.cursor = max(timeline.cursor, last_event)
    timeline.until = now
    timeline.updated_at = now
    timeline.save(update_fields=["cursor", "until", "updated_at"])
    state = _state(REBUILD)
    state.cursor = last_event
    state.until = now
    state.updated_at = now
    state.save(update_fields=["cursor", "until", "updated_at"])
    return result


# --- the live counters' snapshot ------------------------------------------------------------------------


@dataclass
class LiveCountsResult:
    grids: int = 0  # grids with a count
    rows: int = 0  # GridLiveCount rows created, changed or deleted


@transaction.atomic
def live_counts_refresh(*, now: dt.datetime) -> LiveCountsResult:
    """Take the snapshot of the dashboard's live counters per grid (``GridLiveCount``) as of
    ``now``: three GROUP BYs over the orders (``selectors.live_counts_by_grid``), then only the
    rows that changed are written, and ``FillState("live").until`` says when it was taken.
    Refreshers serialise on that row; safe to run twice."""
    from assessment.selectors import LIVE_SNAPSHOT, live_counts_by_grid

    state = _state(LIVE_SNAPSHOT)
    fresh = live_counts_by_grid(now=now)
    stored = {
        row[0]: tuple(row[1:])
        for row in GridLiveCount.objects.values_list("unit_id", "open", "overdue", "new", "closed")
    }
    creates = [
        GridLiveCount(unit_id=grid, open=c[0], overdue=c[1], new=c[2], closed=c[3])
        for grid, c in fresh.items()
        if grid not in stored
    ]
    changed = [(*c, grid) for grid, c in fresh.items() if grid in stored and stored[grid] != c]
    gone = [grid for grid in stored if grid not in fresh]
    GridLiveCount.objects.bulk_create(creates, batch_size=BATCH)
    if changed:
        name = connection.ops.quote_name(GridLiveCount._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f'UPDATE {name} SET "open" = %s, "overdue" = %s, "new" = %s, "closed" = %s WHERE "unit_id" = %s',  # noqa: S608 -- the model's own table name
                changed,
            )
    for chunk in _chunks(gone, BATCH):
        GridLiveCount.objects.filter(unit_id__in=list(chunk)).delete()
    state.until = now
    state.updated_at = now
    state.save(update_fields=["until", "updated_at"])
    return LiveCountsResult(grids=len(fresh), rows=len(creates) + len(changed) + len(gone))
