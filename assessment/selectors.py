"""Every read of the assessment: factors, a unit's rates per period, rankings with change,
department scores, appeals, the briefing's lists and the dashboard widgets.

Dashboards read the pre-aggregated counts (STYLE.md rules 14–15): one query per widget,
conditional aggregates (``Sum("value", filter=Q(metric=…))``) grouped through ``orgs.UnitClosure``
for subtree totals. A calendar month (every period the pages and the API offer) is read from
``UnitMonthCount``, one row per unit and cell for the whole month; any other range of days from
``UnitDailyCount``. The rates themselves are computed from the summed counts by
``assessment.metrics``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Avg, Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncDate

from assessment import metrics, permissions
from assessment.choices import AppealStatus, RankingKind, WarningLevel
from assessment.metrics import (
    ALL_MEASURES,
    ASSESSED_MEASURES,
    AXES,
    HANDLING,
    TERRITORIAL,
    Counts,
    DepartmentScore,
    Factors,
    Period,
    Rates,
    metric_name,
)
from assessment.models import (
    Appeal,
    AssessmentConfig,
    DepartmentEvaluation,
    EarlyWarning,
    FillState,
    GridLiveCount,
    OrderFact,
    UnitDailyCount,
    UnitMonthCount,
)
from catalog.models import CatalogItem
from core.workcalendar import SHANGHAI
from orders.choices import OPEN, AssignmentRole, OrderStatus
from orders.models import Assignment, Order
from orgs.choices import UnitKind
from orgs.models import Unit, UnitClosure
from orgs.selectors import holding_scope_q, unit_subtree_ids
from whistles.selectors import department_rating_summary

# --- factors ------------------------------------------------------------------------------------------


def default_factors() -> Factors:
    """The code defaults, overridden by ``settings.ASSESSMENT_DEFAULTS`` (a dict) when set."""
    return metrics.factors_from(getattr(settings, "ASSESSMENT_DEFAULTS", None))


def factors_for(unit: Unit | int) -> Factors:
    """The factors of the city ``unit`` belongs to (its root), else the defaults. One query."""
    pk = unit if isinstance(unit, int) else unit.pk
    row = (
        AssessmentConfig.objects.filter(
            city_id__in=UnitClosure.objects.filter(descendant_id=pk).values("ancestor_id")
        )
        .values(*metrics.FACTOR_NAMES)
        .first()
    )
    return metrics.factors_from(row, defaults=default_factors())


def config_for_city(city: Unit) -> AssessmentConfig | None:
    return AssessmentConfig.objects.filter(city=city).first()


# --- a unit's figures ------------------------------------------------------------------------------------


def _counts(row: Mapping[str, Any], axis: str, *, prefix: str = "") -> Counts:
    values = {m: int(row.get(f"{prefix}{axis}__{m}") or 0) for m in ALL_MEASURES}
    return Counts(values={k: v for k, v in values.items() if v})


def _monthly(period: Period) -> bool:
    """Whether ``UnitMonthCount`` answers ``period`` (a whole calendar month)."""
    return period.is_month


def _period_cells(period: Period) -> QuerySet[Any]:
    """The rollup rows of ``period``: the month's rows of ``UnitMonthCount`` for a calendar month,
    else the days' rows of ``UnitDailyCount`` (both have the unit, item, channel, metric and value
    columns and the same territorial and handling metrics)."""
    if _monthly(period):
        return UnitMonthCount.objects.filter(month=period.start)
    return UnitDailyCount.objects.filter(day__gte=period.start, day__lt=period.end)


@dataclass(frozen=True)
class UnitRates:
    unit_id: int
    period: Period
    factors: Factors
    territorial: Rates  # orders whose problem lies in the unit's territory
    handling: Rates  # orders the unit (or a unit below it) held the final lead of


def unit_counts_for_period(*, unit: Unit | int, period: Period) -> dict[str, Counts]:
    """Counts on both axes over ``unit``'s subtree and ``period`` — one query, summed per metric."""
    wanted = [metric_name(TERRITORIAL, m) for m in ALL_MEASURES] + [
        metric_name(HANDLING, m) for m in ASSESSED_MEASURES
    ]
    rows = (
        _period_cells(period)
        .filter(unit_id__in=unit_subtree_ids(unit), metric__in=wanted)
        .order_by()
        .values_list("metric")
        .annotate(total=Sum("value"))
    )
    values: dict[str, dict[str, int]] = {axis: {} for axis in AXES}
    for metric, total in rows:
        axis, _dot, measure = metric.partition(".")
        if total:
            values[axis][measure] = int(total)
    return {axis: Counts(values=values[axis]) for axis in AXES}


def unit_rates_for_period(*, unit: Unit, period: Period, factors: Factors | None = None) -> UnitRates:
    """The rates and time measures of ``unit`` (its subtree) in ``period``: two queries (the
    city's factors, the counts)."""
    f = factors or factors_for(unit)
    counts = unit_counts_for_period(unit=unit, period=period)
    return UnitRates(
        unit_id=unit.pk,
        period=period,
        factors=f,
        territorial=metrics.rates(counts[TERRITORIAL], f),
        handling=metrics.rates(counts[HANDLING], f),
    )


def assessed_unit_ids(order: Order) -> set[int]:
    """The units an order is assessed against: every unit that held one of its lead assignments
    (any round, delegated ones too) and the street and community where the problem is."""
    units = set(
        Assignment.objects.filter(order_id=order.pk, role=AssignmentRole.LEAD).values_list(
            "unit_id", flat=True
        )
    )
    if order.grid_id is not None:
        units |= set(
            UnitClosure.objects.filter(
                descendant_id=order.grid_id, ancestor__kind__in=[UnitKind.STREET, UnitKind.COMMUNITY]
            ).values_list("ancestor_id", flat=True)
        )
    return units


# --- rankings ---------------------------------------------------------------------------------------------

# What a ranking row shows: the rates and the overdue count (the full time measures are the unit
# rates' widget); fewer measures keep the ranking one light query over the closure table.
RANK_MEASURES: tuple[str, ...] = metrics.RATE_MEASURES + ("overdue",)
RANKED_KIND = {RankingKind.STREET: UnitKind.STREET, RankingKind.DEPARTMENT: UnitKind.DEPARTMENT}
RANKED_AXIS = {RankingKind.STREET: TERRITORIAL, RankingKind.DEPARTMENT: HANDLING}


@dataclass(frozen=True)
class RankingRow:
    unit_id: int
    code: str
    name: str
    rank: int | None
    previous_rank: int | None
    score: float | None
    previous_score: float | None
    rates: Rates
    previous_rates: Rates
    department: DepartmentScore | None = None
    previous_department: DepartmentScore | None = None

    @property
    def rank_change(self) -> int | None:
        """Places moved up since the previous period (negative: down)."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank

    @property
    def score_change(self) -> float | None:
        if self.score is None or self.previous_score is None:
            return None
        return self.score - self.previous_score


def _period_counts(
    *, scope: Unit, kind: str, axis: str, period: Period, previous: Period
) -> dict[int, tuple[Counts, Counts]]:
    """Per ranked unit (kind ``kind`` inside ``scope``), its counts in ``period`` and ``previous``
    on ``axis``. Two queries: the rollup rows of both periods summed per unit of ``scope``'s
    subtree (two months' rows of the monthly table, or the days of both ranges), then the ranked
    ancestors of the units that have rows (the closure table); each unit's sums are added to its
    ranked ancestors here. Joining the closure table first would probe the rollup index for
    every unit under every street — grids included, which never have a row of these metrics."""
    wanted = [metric_name(axis, m) for m in RANK_MEASURES]
    cells: QuerySet[Any]
    if _monthly(period) and _monthly(previous):
        cells = UnitMonthCount.objects.filter(month__in=[previous.start, period.start])
        current, before = Q(month=period.start), Q(month=previous.start)
    else:
        cells = UnitDailyCount.objects.filter(day__gte=previous.start, day__lt=period.end)
        current, before = Q(day__gte=period.start), Q(day__lt=period.start)
    cells = cells.filter(unit_id__in=unit_subtree_ids(scope), metric__in=wanted).order_by()
    sums: dict[str, Sum] = {}
    for m in RANK_MEASURES:
        sums[f"cur{axis}__{m}"] = Sum("value", filter=Q(metric=metric_name(axis, m)) & current)
        sums[f"pre{axis}__{m}"] = Sum("value", filter=Q(metric=metric_name(axis, m)) & before)
    per_unit = {row.pop("unit_id"): row for row in cells.values("unit_id").annotate(**sums)}
    if not per_unit:
        return {}
    ranked_of = (
        UnitClosure.objects.filter(
            ancestor__kind=kind,
            ancestor_id__in=unit_subtree_ids(scope),
            descendant_id__in=sorted(per_unit),  # a few hundred ids: probes of (descendant, ancestor)
        )
        .order_by()
        .values_list("descendant_id", "ancestor_id")
    )
    totals: dict[int, dict[str, int]] = {}
    for unit, ranked in ranked_of:
        total = totals.setdefault(ranked, {})
        for name, value in per_unit.get(unit, {}).items():
            if value:
                total[name] = total.get(name, 0) + int(value)
    return {
        ranked: (_counts(row, axis, prefix="cur"), _counts(row, axis, prefix="pre"))
        for ranked, row in totals.items()
    }


def _department_of(scope: Unit) -> dict[int, int]:
    """unit id → its department (itself for a department, the parent for a station)."""
    return dict(
        UnitClosure.objects.filter(
            ancestor__kind=UnitKind.DEPARTMENT, ancestor_id__in=unit_subtree_ids(scope)
        )
        .order_by()
        .values_list("descendant_id", "ancestor_id")
    )


def _whistle_scores(departments: Mapping[int, int], period: Period) -> dict[int, float]:
    """Per department, ``metrics.whistle_score`` over its own and its stations' whistle ratings."""
    summary = department_rating_summary(
        start=_day_start(period.start), end=_day_start(period.end), unit_ids=list(departments)
    )
    totals: dict[int, list[float]] = {}
    for unit_id, s in summary.items():
        dept = departments[unit_id]
        total = totals.setdefault(dept, [0.0, 0.0, 0.0])  # count, reported, Σ average × count
        total[0] += s.count
        total[1] += s.reported
        total[2] += s.average * s.count
    scores: dict[int, float] = {}
    for dept, (count, reported, weighted) in totals.items():
        score = metrics.whistle_score(average=weighted / count, count=int(count), reported=int(reported))
        if score is not None:
            scores[dept] = score
    return scores


def _evaluation_scores(
    departments: Mapping[int, int], periods: Sequence[Period]
) -> dict[tuple[dt.date, int], float]:
    """(period start, department) → mean of the streets' evaluations (0–100), one query."""
    rows = (
        DepartmentEvaluation.objects.filter(
            period__in=[p.start for p in periods], unit_id__in=list(departments)
        )
        .order_by()
        .values("period", "unit_id")
        .annotate(n=Count("pk"), avg=Avg("score"))
    )
    totals: dict[tuple[dt.date, int], list[float]] = {}
    for row in rows:
        key = (row["period"], departments[row["unit_id"]])
        total = totals.setdefault(key, [0.0, 0.0])
        total[0] += row["n"]
        total[1] += float(row["avg"]) * row["n"]
    return {key: weighted / n for key, (n, weighted) in totals.items() if n}


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def _sort_and_rank(entries: list[tuple[Unit, float | None, int]]) -> dict[int, int | None]:
    """Ranks by score (best first), then valid callbacks (more first), then code."""
    ordered = sorted(entries, key=lambda e: (e[1] is None, -(e[1] or 0), -e[2], e[0].code))
    ranks = metrics.competition_ranks([e[1] for e in ordered])
    return {e[0].pk: r for e, r in zip(ordered, ranks, strict=True)}


def ranking_for_period(*, scope: Unit, kind: str, period: Period) -> list[RankingRow]:
    """The ranking of streets (territorial: where problems are) or departments (handling: what
    they held, with the streets' ratings weighed in) inside ``scope`` for ``period``, each with
    its rank and score in the previous period. Best first; units without a valid callback last."""
    ranking = RankingKind(kind)
    unit_kind = RANKED_KIND[ranking]
    axis = RANKED_AXIS[ranking]
    previous = period.previous()
    f = factors_for(scope)
    units = list(
        Unit.objects.filter(kind=unit_kind, is_active=True, pk__in=unit_subtree_ids(scope)).order_by("code")
    )
    counts = _period_counts(scope=scope, kind=unit_kind, axis=axis, period=period, previous=previous)
    empty = Counts()
    dept_scores: dict[int, tuple[DepartmentScore, DepartmentScore]] = {}
    if ranking == RankingKind.DEPARTMENT:
        departments = _department_of(scope)
        whistle_now = _whistle_scores(departments, period)
        whistle_before = _whistle_scores(departments, previous)
        evaluations = _evaluation_scores(departments, [period, previous])
        for unit in units:
            cur, pre = counts.get(unit.pk, (empty, empty))
            dept_scores[unit.pk] = (
                metrics.department_score(
                    order_score=metrics.rates(cur, f).score,
                    whistle=whistle_now.get(unit.pk),
                    evaluation=evaluations.get((period.start, unit.pk)),
                    f=f,
                ),
                metrics.department_score(
                    order_score=metrics.rates(pre, f).score,
                    whistle=whistle_before.get(unit.pk),
                    evaluation=evaluations.get((previous.start, unit.pk)),
                    f=f,
                ),
            )
    current: list[tuple[Unit, float | None, int]] = []
    before: list[tuple[Unit, float | None, int]] = []
    built: dict[int, tuple[Rates, Rates]] = {}
    for unit in units:
        cur, pre = counts.get(unit.pk, (empty, empty))
        r_cur, r_pre = metrics.rates(cur, f), metrics.rates(pre, f)
        built[unit.pk] = (r_cur, r_pre)
        if ranking == RankingKind.DEPARTMENT:
            s_cur, s_pre = dept_scores[unit.pk][0].score, dept_scores[unit.pk][1].score
        else:
            s_cur, s_pre = r_cur.score, r_pre.score
        current.append((unit, s_cur, cur["valid"]))
        before.append((unit, s_pre, pre["valid"]))
    rank_now = _sort_and_rank(current)
    rank_before = _sort_and_rank(before)
    scores_now = {u.pk: s for u, s, _v in current}
    scores_before = {u.pk: s for u, s, _v in before}
    rows = [
        RankingRow(
            unit_id=unit.pk,
            code=unit.code,
            name=unit.name,
            rank=rank_now[unit.pk],
            previous_rank=rank_before[unit.pk],
            score=scores_now[unit.pk],
            previous_score=scores_before[unit.pk],
            rates=built[unit.pk][0],
            previous_rates=built[unit.pk][1],
            department=dept_scores[unit.pk][0] if unit.pk in dept_scores else None,
            previous_department=dept_scores[unit.pk][1] if unit.pk in dept_scores else None,
        )
        for unit in units
    ]
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.code))
    return rows


# --- appeals ------------------------------------------------------------------------------------------------


def appeals_visible_to(actor: Any) -> QuerySet[Appeal]:
    """Appeals the actor may see: their units' own (holding axis), and every appeal on orders
    dispatched at a level where they are the centre. System administrators see all."""
    qs = Appeal.objects.select_related("order", "unit", "submitted_by", "ruled_by").order_by(
        "-submitted_at", "-pk"
    )
    if permissions.is_system_admin(actor):
        return qs
    return qs.filter(
        holding_scope_q(actor, "unit", permissions.APPEAL_ROLES | permissions.ADMIN_ROLES)
        | holding_scope_q(actor, "order__dispatch_unit", permissions.RULING_ROLES)
    )


def appeal_get_for_user(actor: Any, pk: int) -> Appeal:
    """One appeal if the actor may see it (``Appeal.DoesNotExist`` otherwise — 404, never 403)."""
    return appeals_visible_to(actor).get(pk=pk)


def appeals_for_period(*, scope: Unit, period: Period) -> list[Appeal]:
    """Every appeal submitted in ``period`` whose unit, or whose order's grid, is inside
    ``scope`` — for the briefing (all of them, whatever their outcome)."""
    inside = unit_subtree_ids(scope)
    return list(
        Appeal.objects.filter(
            Q(unit_id__in=inside) | Q(order__grid_id__in=inside),
            submitted_at__gte=_day_start(period.start),
            submitted_at__lt=_day_start(period.end),
        )
        .select_related("order", "unit", "submitted_by", "ruled_by")
        .order_by("submitted_at", "pk")
    )


def pending_appeal_count(actor: Any) -> int:
    return appeals_visible_to(actor).filter(status=AppealStatus.PENDING).count()


# --- the briefing's lists and the dashboard widgets -----------------------------------------------------------


def overdue_orders_for_period(*, scope: Unit, period: Period, limit: int = 500) -> list[dict[str, Any]]:
    """Orders counted in ``period`` that were replied after their deadline, in ``scope``
    (territorially or by the handling unit), worst first."""
    inside = unit_subtree_ids(scope)
    rows = (
        OrderFact.objects.filter(
            Q(loc_unit_id__in=inside) | Q(hdl_unit_id__in=inside),
            count_day__gte=period.start,
            count_day__lt=period.end,
            overdue__gt=0,
        )
        .order_by("-overdue_multiple_milli", "order_id")
        .values(
            "order_id",
            "order__number",
            "order__title",
            "hdl_unit__name",
            "loc_unit__name",
            "count_day",
            "overdue_multiple_milli",
        )[:limit]
    )
    return [dict(row) for row in rows]


def _volume_split(scope: Unit, period: Period, axis: str) -> QuerySet[Any]:
    """The month's registrations of ``scope``'s territory split by item (``axis`` ``BY_ITEM``) or
    by channel (``BY_CHANNEL``): the monthly table's community rows for a calendar month, else the
    daily grid × item × channel rows. A grid's own figures are only in the daily table."""
    if _monthly(period) and scope.kind != UnitKind.GRID:
        return UnitMonthCount.objects.filter(
            unit_id__in=unit_subtree_ids(scope), month=period.start, metric=metric_name(axis, "received")
        )
    return UnitDailyCount.objects.filter(
        unit_id__in=unit_subtree_ids(scope),
        day__gte=period.start,
        day__lt=period.end,
        metric=metric_name(metrics.DETAIL, "received"),
    )


def _items_by_pk(item_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """item id → (code, name) of a few catalog items, one query."""
    return {
        pk: (code, name)
        for pk, code, name in CatalogItem.objects.filter(pk__in=sorted(set(item_ids))).values_list(
            "pk", "code", "name"
        )
    }


def top_problems(*, scope: Unit, period: Period, limit: int = 10) -> list[dict[str, Any]]:
    """The most reported catalog items in ``scope`` and ``period`` (volume), most first, ties by
    item code (unclassified last among equals). Two queries: the rollup rows summed per item id
    alone (no join before the grouping: a city's month is ~100k community × item rows), then the
    code and name of the few hundred items at most that it returns."""
    sums = [
        (item, int(n))
        for item, n in _volume_split(scope, period, metrics.BY_ITEM)
        .order_by()
        .values_list("item_id")
        .annotate(n=Sum("value"))
    ]
    items = _items_by_pk(item for item, _n in sums if item is not None)
    no_item = (None, None)
    ranked = sorted(
        sums,
        key=lambda row: (-row[1], row[0] is None, items.get(row[0], no_item)[0] or "", row[0] or 0),
    )[:limit]
    return [
        {
            "item_id": item,
            "item__name": items.get(item, no_item)[1],
            "item__code": items.get(item, no_item)[0],
            "n": n,
        }
        for item, n in ranked
    ]


def volume_by_day(*, scope: Unit, period: Period) -> list[tuple[dt.date, int, int]]:
    """(day, received, closed) for the trend chart: one query over the territorial daily rows."""
    received, closed = metric_name(TERRITORIAL, "received"), metric_name(TERRITORIAL, "closed")
    rows = (
        UnitDailyCount.objects.filter(
            unit_id__in=unit_subtree_ids(scope),
            day__gte=period.start,
            day__lt=period.end,
            metric__in=[received, closed],
        )
        .order_by()
        .values("day")
        .annotate(
            received=Sum("value", filter=Q(metric=received)),
            closed=Sum("value", filter=Q(metric=closed)),
        )
        .order_by("day")
    )
    return [(r["day"], int(r["received"] or 0), int(r["closed"] or 0)) for r in rows]


def volume_by_channel(*, scope: Unit, period: Period) -> list[tuple[str, int]]:
    """(channel, received) for the breakdown chart: one query."""
    rows = (
        _volume_split(scope, period, metrics.BY_CHANNEL)
        .order_by()
        .values("channel")
        .annotate(n=Sum("value"))
        .order_by("-n", "channel")
    )
    return [(r["channel"], int(r["n"] or 0)) for r in rows]


@dataclass(frozen=True)
class TodayCounters:
    new: int
    open: int
    overdue: int
    closed: int
    as_of: dt.datetime | None = None  # the snapshot's instant; None: counted live from the orders


# The live counters come from the per-grid snapshot (``GridLiveCount``, refreshed every minute by
# ``assessment.tasks.live_counts_task``) while it is at most this old and of the same day;
# otherwise (the worker stopped, just after midnight, a fresh install) they are counted live.
LIVE_SNAPSHOT = "live"
LIVE_MAX_AGE = dt.timedelta(minutes=5)


def _open_orders() -> QuerySet[Order]:
    """Open orders (an open status implies no parent: merged children are closed as ``merged``),
    answered by the partial index ``order_open_grid_due``."""
    return Order.objects.filter(status__in=sorted(OPEN))


def _registered_since(start: dt.datetime) -> QuerySet[Order]:
    return Order.objects.filter(parent__isnull=True, created_at__gte=start)


def _closed_since(start: dt.datetime) -> QuerySet[Order]:
    return Order.objects.filter(status=OrderStatus.CLOSED, closed_at__gte=start)


def _open_by_grid(inside: Any | None, now: dt.datetime) -> dict[int, tuple[int, int]]:
    """grid → (open orders, open past their reply deadline at ``now``) for the grids ``inside``
    (an ``__in`` value; None: every grid): one GROUP BY, an index-only scan of
    ``order_open_grid_due``."""
    where = Q(grid__isnull=False) if inside is None else Q(grid_id__in=inside)
    rows = (
        _open_orders()
        .filter(where)
        .order_by()
        .values_list("grid_id")
        # COUNT(*) and due_at: the index alone answers (an index-only scan)
        .annotate(n=Count("*"), overdue=Count("due_at", filter=Q(due_at__lt=now)))
    )
    return {int(grid): (int(n), int(overdue)) for grid, n, overdue in rows}


def live_counts_by_grid(*, now: dt.datetime) -> dict[int, tuple[int, int, int, int]]:
    """Every grid's (open, overdue, new, closed) at ``now`` — the four counters of
    ``today_counters`` per grid, counted from the orders (grids with no count left out): three
    GROUP BYs, each on its own index. What ``rollups.live_counts_refresh`` stores."""
    start = _day_start(now.astimezone(SHANGHAI).date())
    counts: dict[int, list[int]] = {}
    for grid, (n, overdue) in _open_by_grid(None, now).items():
        counts.setdefault(grid, [0, 0, 0, 0])[:2] = [n, overdue]
    for column, qs in ((2, _registered_since(start)), (3, _closed_since(start))):
        for grid, n in qs.filter(grid__isnull=False).order_by().values_list("grid_id").annotate(n=Count("*")):
            counts.setdefault(int(grid), [0, 0, 0, 0])[column] = int(n)
    return {grid: (c[0], c[1], c[2], c[3]) for grid, c in counts.items() if any(c)}


def live_snapshot_time(now: dt.datetime) -> dt.datetime | None:
    """The instant of the per-grid snapshot when it may stand for ``now`` (at most
    ``LIVE_MAX_AGE`` old and of the same Shanghai day), else None. One query."""
    until = FillState.objects.filter(name=LIVE_SNAPSHOT).values_list("until", flat=True).first()
    if until is None or until < now - LIVE_MAX_AGE:
        return None
    if until.astimezone(SHANGHAI).date() != now.astimezone(SHANGHAI).date():
        return None
    return until


def today_counters(*, scope: Unit, now: dt.datetime, live: bool = False) -> TodayCounters:
    """Live counters of the territory (orders by grid): registered today, open, open past their
    reply deadline, closed today. From the per-grid snapshot when it is fresh (two queries, a sum
    over the territory's grids whatever the number of open orders; ``as_of`` says when it was
    taken), else counted from the orders in three queries, each on its own index: today's
    registrations (``order_created``), the open orders (the partial ``order_open_grid_due``)
    and today's closings (``order_closed``); ``live``: always counted from the orders."""
    inside = unit_subtree_ids(scope)
    as_of = None if live else live_snapshot_time(now)
    if as_of is not None:
        row = GridLiveCount.objects.filter(unit_id__in=inside).aggregate(
            new=Sum("new"), open=Sum("open"), overdue=Sum("overdue"), closed=Sum("closed")
        )
        return TodayCounters(
            new=int(row["new"] or 0),
            open=int(row["open"] or 0),
            overdue=int(row["overdue"] or 0),
            closed=int(row["closed"] or 0),
            as_of=as_of,
        )
    start = _day_start(now.astimezone(SHANGHAI).date())
    new = _registered_since(start).filter(grid_id__in=inside).count()
    open_row = (
        _open_orders()
        .filter(grid_id__in=inside)
        .aggregate(open=Count("*"), overdue=Count("due_at", filter=Q(due_at__lt=now)))
    )
    closed = _closed_since(start).filter(grid_id__in=inside).count()
    return TodayCounters(new=new, open=open_row["open"], overdue=open_row["overdue"], closed=closed)


LEVEL_RANK = Case(
    When(level=WarningLevel.RED, then=Value(3)),
    When(level=WarningLevel.ORANGE, then=Value(2)),
    default=Value(1),
    output_field=IntegerField(),
)


def early_warnings_for_dashboard(*, scope: Unit, since: dt.date, limit: int = 20) -> list[EarlyWarning]:
    """The dashboard's early-warning slot: warnings in ``scope`` from ``since``, most severe and
    most recent first (one query)."""
    return list(
        EarlyWarning.objects.filter(area_id__in=unit_subtree_ids(scope), day__gte=since)
        .select_related("area", "item")
        .annotate(severity=LEVEL_RANK)
        .order_by("-day", "-severity", "pk")[:limit]
    )


def fill_status() -> dict[str, Any]:
    """How fresh the rollups are (for the dashboard's footnote)."""
    return {row.name: {"cursor": row.cursor, "until": row.until} for row in FillState.objects.all()}


# --- the command-centre dashboard ---------------------------------------------------------------------------


def dashboard_scopes(actor: Any) -> list[Unit]:
    """The units whose dashboard ``actor`` may open, highest first: the territory they oversee
    (location roles) and the units they act for (handlers, dispatchers, business administrators).
    One query."""
    from orgs.selectors import units_held_by, units_overseen_by

    return list(
        Unit.objects.filter(
            Q(pk__in=units_overseen_by(actor).values("pk"))
            | Q(pk__in=units_held_by(actor, permissions.VIEW_HOLDING_ROLES).values("pk"))
        ).order_by("level", "code")
    )


@dataclass(frozen=True)
class Dashboard:
    scope: Unit
    period: Period
    counters: TodayCounters
    rates: UnitRates
    streets: list[RankingRow]
    departments: list[RankingRow]
    trend: list[tuple[dt.date, int, int]]
    channels: list[tuple[str, int]]
    problems: list[dict[str, Any]]
    warnings: list[EarlyWarning]
    open_whistles: int
    monthly_problems: list[StreetProblem]


def dashboard_for(*, actor: Any, scope: Unit, period: Period, now: dt.datetime) -> Dashboard:
    """Every widget of the leader's dashboard for ``scope``: one query per widget (the rankings
    a few), whatever the number of orders — the counts come from the rollups (``UnitMonthCount``
    for a month, ``UnitDailyCount`` for the trend) and today's counters from the per-grid
    snapshot (``GridLiveCount``, at most a few minutes old)."""
    from whistles.choices import WhistleStatus
    from whistles.selectors import whistles_visible_to

    f = factors_for(scope)
    has_streets = scope.kind in (UnitKind.CITY, UnitKind.DISTRICT)
    return Dashboard(
        scope=scope,
        period=period,
        counters=today_counters(scope=scope, now=now),
        rates=unit_rates_for_period(unit=scope, period=period, factors=f),
        streets=ranking_for_period(scope=scope, kind=RankingKind.STREET, period=period)
        if has_streets
        else [],
        departments=ranking_for_period(scope=scope, kind=RankingKind.DEPARTMENT, period=period)
        if has_streets
        else [],
        trend=volume_by_day(scope=scope, period=period),
        channels=volume_by_channel(scope=scope, period=period),
        problems=top_problems(scope=scope, period=period),
        warnings=early_warnings_for_dashboard(
            scope=scope, since=now.astimezone(SHANGHAI).date() - dt.timedelta(days=WARNING_WINDOW_DAYS - 1)
        ),
        open_whistles=whistles_visible_to(actor).filter(status=WhistleStatus.OPEN).count(),
        monthly_problems=monthly_problem_by_street(scope=scope, period=period),
    )


# --- the grid map 网格地图 and the problem of the month 每月一题 ---------------------------------------------

# A grid is a hot spot when an active early warning of its area has orders of the warned item in
# it, or when its orders registered today are far above its usual level — the early warning's
# rule on one grid: ``today ≥ HOT_MIN_COUNT`` and ``P(X ≥ today | usual) < HOT_P`` for X ~ Poisson
# of the grid's mean daily registrations over the ``HOT_BASELINE_DAYS`` before today (floored at
# ``HOT_MIN_EXPECTED``). "Active" warnings are those of the dashboard's slot: the last 7 days.
WARNING_WINDOW_DAYS = 7
HOT_BASELINE_DAYS = 28
HOT_MIN_COUNT = 3
HOT_MIN_EXPECTED = 0.2
HOT_P = 1e-3


def poisson_tail(observed: int, expected: float) -> float:
    """P(X ≥ observed) for X ~ Poisson(expected), without floating-point overflow."""
    if observed <= 0:
        return 1.0
    term = math.exp(-expected)  # P(X = 0)
    below = term
    for k in range(1, observed):
        term *= expected / k
        below += term
    return max(0.0, 1.0 - below)


def is_unusually_high(today: int, usual: float) -> bool:
    return today >= HOT_MIN_COUNT and poisson_tail(today, max(usual, HOT_MIN_EXPECTED)) < HOT_P


def open_orders_by_grid(*, scope: Unit | int, now: dt.datetime) -> dict[int, int]:
    """Open orders per grid of ``scope``'s territory: from the per-grid snapshot when it is fresh
    (``live_snapshot_time``), else one GROUP BY over the open orders, an index-only scan of the
    partial ``order_open_grid_due`` index."""
    inside = unit_subtree_ids(scope)
    if live_snapshot_time(now) is not None:
        return dict(
            GridLiveCount.objects.filter(unit_id__in=inside, open__gt=0).values_list("unit_id", "open")
        )
    return {grid: n for grid, (n, _overdue) in _open_by_grid(inside, now).items()}


def registered_today_by_grid(*, scope: Unit | int, now: dt.datetime) -> dict[int, int]:
    """Orders registered today (Shanghai) per grid of ``scope`` (withdrawn ones left out), one query."""
    start = _day_start(now.astimezone(SHANGHAI).date())
    rows = (
        Order.objects.filter(grid_id__in=unit_subtree_ids(scope), created_at__gte=start)
        .exclude(status=OrderStatus.WITHDRAWN)
        .order_by()
        .values_list("grid_id")
        .annotate(n=Count("pk"))
    )
    return {int(grid): int(n) for grid, n in rows}


def usual_daily_by_grid(
    *, scope: Unit | int, today: dt.date, days: int = HOT_BASELINE_DAYS
) -> dict[int, float]:
    """Each grid's mean daily registrations over the ``days`` days before ``today``, from the
    grid totals of the volume rollup (``g.received`` and ``g.merged`` — duplicates are reports
    too), one query."""
    rows = (
        UnitDailyCount.objects.filter(
            unit_id__in=unit_subtree_ids(scope),
            metric__in=[
                metric_name(metrics.GRID_TOTAL, "received"),
                metric_name(metrics.GRID_TOTAL, "merged"),
            ],
            day__gte=today - dt.timedelta(days=days),
            day__lt=today,
        )
        .order_by()
        .values_list("unit_id")
        .annotate(n=Sum("value"))
    )
    return {int(unit): int(n or 0) / days for unit, n in rows}


@dataclass(frozen=True)
class WarnedGrid:
    """An active early warning touching a grid: the warning and the grid's orders of its item
    registered since the warning's (episode's) first day."""

    warning: EarlyWarning
    orders: int


@dataclass(frozen=True)
class GridCell:
    unit_id: int
    code: str
    name: str
    boundary: dict[str, Any] | None
    open: int
    today: int
    usual: float
    warnings: tuple[WarnedGrid, ...]

    @property
    def spike(self) -> bool:
        return is_unusually_high(self.today, self.usual)

    @property
    def hot(self) -> bool:
        return bool(self.warnings) or self.spike


def _warned_grids(*, scope: Unit, now: dt.datetime) -> dict[int, list[WarnedGrid]]:
    """grid id → the active warnings of ``scope``'s territory with orders of their item in that
    grid since the warning began (a warning on the grid itself marks it whatever its orders).
    One query for the warnings and, when there are any, one over their orders and one over the
    closure table."""
    today = now.astimezone(SHANGHAI).date()
    warnings = list(
        EarlyWarning.objects.filter(
            area_id__in=unit_subtree_ids(scope), day__gte=today - dt.timedelta(days=WARNING_WINDOW_DAYS - 1)
        )
        .select_related("area", "item")
        .annotate(severity=LEVEL_RANK)
        .order_by("-severity", "-day", "pk")
    )
    if not warnings:
        return {}
    first = min(w.day for w in warnings)
    counts: dict[tuple[int, int], dict[dt.date, int]] = {}
    rows = (
        Order.objects.filter(
            grid_id__in=unit_subtree_ids(scope),
            item_id__in={w.item_id for w in warnings if w.item_id is not None},
            created_at__gte=_day_start(first),
        )
        .exclude(status=OrderStatus.WITHDRAWN)
        .annotate(day=TruncDate("created_at", tzinfo=SHANGHAI))
        .order_by()
        .values_list("grid_id", "item_id", "day")
        .annotate(n=Count("pk"))
    )
    for grid, item, day, n in rows:
        counts.setdefault((int(grid), int(item)), {})[day] = int(n)
    under: dict[int, list[int]] = {}
    for area, grid in UnitClosure.objects.filter(
        ancestor_id__in={w.area_id for w in warnings},
        descendant__kind=UnitKind.GRID,
        descendant__is_active=True,
    ).values_list("ancestor_id", "descendant_id"):
        under.setdefault(int(area), []).append(int(grid))
    found: dict[int, list[WarnedGrid]] = {}
    for w in warnings:
        for grid in under.get(w.area_id, []):
            by_day = counts.get((grid, w.item_id), {}) if w.item_id is not None else {}
            n = sum(v for day, v in by_day.items() if day >= w.day)
            if n or grid == w.area_id:
                found.setdefault(grid, []).append(WarnedGrid(warning=w, orders=n))
    return found


def grid_map_for(*, scope: Unit, now: dt.datetime, boundaries: bool = True) -> list[GridCell]:
    """The dashboard's grid map of ``scope``'s territory: every active grid in it with its open
    orders, today's registrations against its usual level, and the active early warnings that
    touch it (``boundaries=False``: without the polygons, for the map's refresh). A fixed number
    of queries (5, plus 2 when warnings are active), whatever the number of orders."""
    grids = list(
        Unit.objects.filter(kind=UnitKind.GRID, is_active=True, pk__in=unit_subtree_ids(scope))
        .order_by("code")
        .values_list("pk", "code", "name", "boundary" if boundaries else "code")
    )
    open_counts = open_orders_by_grid(scope=scope, now=now)
    today_counts = registered_today_by_grid(scope=scope, now=now)
    usual = usual_daily_by_grid(scope=scope, today=now.astimezone(SHANGHAI).date())
    warned = _warned_grids(scope=scope, now=now)
    return [
        GridCell(
            unit_id=pk,
            code=code,
            name=name,
            boundary=boundary if boundaries else None,
            open=open_counts.get(pk, 0),
            today=today_counts.get(pk, 0),
            usual=usual.get(pk, 0.0),
            warnings=tuple(warned.get(pk, ())),
        )
        for pk, code, name, boundary in grids
    ]


@dataclass(frozen=True)
class StreetProblem:
    """每月一题: a street's most reported catalog item in a month."""

    unit_id: int
    name: str
    item_id: int | None
    item_name: str
    count: int
    total: int  # every order registered in the street that month (classified or not)

    @property
    def share(self) -> float | None:
        return self.count / self.total if self.total and self.item_id is not None else None


def monthly_problem_by_street(*, scope: Unit, period: Period) -> list[StreetProblem]:
    """Each street of ``scope``'s territory (``scope`` itself when it is a street) with its most
    reported catalog item in ``period`` — the count and its share of the street's registrations.
    Registrations by registration day come from the volume rollup (for a calendar month the
    monthly ``vi.received`` on the community, else the daily ``v.received`` on the grid, per
    item), summed per street × item id through the closure table (no join to the catalog before
    the grouping): one aggregate query, one for the streets and one for the codes and names of
    the winning items. Ties go to the lower item code; a street without classified orders has
    no item."""
    streets = list(
        Unit.objects.filter(kind=UnitKind.STREET, is_active=True, pk__in=unit_subtree_ids(scope))
        .order_by("code")
        .values_list("pk", "name")
    )
    if not streets:
        return []
    if _monthly(period):
        rel = "descendant__month_counts__"
        cells = {f"{rel}metric": metric_name(metrics.BY_ITEM, "received"), f"{rel}month": period.start}
    else:
        rel = "descendant__daily_counts__"
        cells = {
            f"{rel}metric": metric_name(metrics.DETAIL, "received"),
            f"{rel}day__gte": period.start,
            f"{rel}day__lt": period.end,
        }
    rows = (
        UnitClosure.objects.filter(
            ancestor__kind=UnitKind.STREET, ancestor_id__in=unit_subtree_ids(scope), **cells
        )
        .order_by()
        .values_list("ancestor_id", f"{rel}item_id")
        .annotate(n=Sum(f"{rel}value"))
    )
    totals: dict[int, int] = {}
    most: dict[int, tuple[int, list[int]]] = {}  # street → (largest count, the items that have it)
    for street, item, n in rows:
        n = int(n or 0)
        totals[street] = totals.get(street, 0) + n
        if item is None or n <= 0:
            continue
        count, tied = most.get(street, (0, []))
        if n > count:
            most[street] = (n, [int(item)])
        elif n == count:
            tied.append(int(item))
    # only the winners (and the items tied with them) are looked up: one small query
    items = _items_by_pk(item for _n, tied in most.values() for item in tied)
    best: dict[int, tuple[int, str, int, str]] = {}  # street → (count, code, item id, name)
    for street, (n, tied) in most.items():
        item = min(tied, key=lambda pk: (items[pk][0], pk))
        best[street] = (n, items[item][0], item, items[item][1])
    result = []
    for pk, street_name in streets:
        top = best.get(pk)
        result.append(
            StreetProblem(
                unit_id=pk,
                name=street_name,
                item_id=top[2] if top else None,
                item_name=top[3] if top else "",
                count=top[0] if top else 0,
                total=totals.get(pk, 0),
            )
        )
    return result
