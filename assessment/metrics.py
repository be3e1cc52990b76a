"""The assessment's definitions — the ONE module that says what every figure means.

Everything that turns orders into numbers is here and nowhere else: the three rates 响应率 /
解决率 / 满意率 and the composite, the time measures, the counting rules (as a table), what one
order contributes to the daily rollups (``order_fact``), and how a department's score weighs the
streets' ratings. Selectors, rollups, the API and the briefing only sum counts and call these
functions. Pure Python: no queries.

Sources
=======
- **The rates.** The Beijing regulation on handling complaints on receipt (《北京市接诉即办工作
  条例》, 2021) makes 响应率、解决率、满意率 the main indicators of the assessment but gives no
  formulas. The default formulas are the ones public 12345 analytics use, as written in issue 5
  ("Assessment"), all **over valid callbacks** (回访有效件):

  - response rate 响应率 = callbacks in which the resident says the unit contacted them ÷ valid;
  - resolution rate 解决率 = callbacks in which the resident says the problem is resolved ÷ valid;
  - satisfaction rate 满意率 = (satisfied + 0.9 × basically satisfied) ÷ valid;
  - composite 综合成绩 = 0.1 × response + 0.5 × resolution + 0.4 × satisfaction.

  Every factor (the three weights, the 1.0 for satisfied and the 0.9 for basically satisfied) is
  configurable per city (``Factors``; stored in ``assessment.AssessmentConfig``).
- **The time measures** are those digital city-management (数字城管) platforms report beside the
  rates (issue 5): on-time acceptance 按时签收率, on-time reply 按时答复率, overdue count 超期件数 and
  overdue multiple 超期倍数 (overtime ÷ allowed time), rework 返工 (replies sent back in review,
  reopens 重办), suspensions 挂账 and extensions 延期.
- **Department scores**: the streets' ratings of departments weigh one third of a department's
  assessment by default (Beijing's 吹哨报到 rule, DESIGN.md "The whistle"; another seed city uses
  30 %), never less than an administrator-set floor.
- **The counting rules** are ``COUNTING_RULES`` below, each pinned by a test in
  ``assessment/tests/test_counting_rules.py``.

Days are calendar days in Asia/Shanghai; a period is a half-open range of days ``[start, end)``.
Rates are fractions in [0, 1] (``None`` when there is no valid callback); scores are 0–100.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from core.workcalendar import SHANGHAI
from orders.choices import EventType, OrderStatus, Satisfaction

# --- measures ---------------------------------------------------------------------------------------

# Counted on the day the order was registered, on the territorial axis only.
VOLUME_MEASURES: tuple[str, ...] = ("received", "direct_answer", "merged")
# Counted on the order's count day (its closing callback), on both axes.
RATE_MEASURES: tuple[str, ...] = (
    "closed",
    "valid",
    "contacted",
    "resolved",
    "satisfied",
    "basically",
    "excluded",
    "unreached",
)
TIME_MEASURES: tuple[str, ...] = (
    "accept_total",
    "accept_on_time",
    "reply_total",
    "reply_on_time",
    "overdue",
    "overdue_multiple_milli",
    "rework",
    "reopen",
    "suspensions",
    "extensions",
)
ASSESSED_MEASURES: tuple[str, ...] = RATE_MEASURES + TIME_MEASURES
ALL_MEASURES: tuple[str, ...] = VOLUME_MEASURES + ASSESSED_MEASURES

TERRITORIAL = "t"  # per unit and day: the grid's community
HANDLING = "h"  # per unit and day: the handling unit
DETAIL = "v"  # volume detail: the grid × catalog item × channel
GRID_TOTAL = "g"  # volume per grid and day, items and channels summed (the map's usual level)
BY_ITEM = "vi"  # monthly volume per community × catalog item (top problems, 每月一题)
BY_CHANNEL = "vc"  # monthly volume per community × channel (the channel breakdown)
AXES: tuple[str, ...] = (TERRITORIAL, HANDLING)


def metric_name(axis: str, measure: str) -> str:
    """The ``UnitDailyCount.metric`` of a measure on an axis: ``"t.valid"``, ``"h.overdue"``."""
    return f"{axis}.{measure}"


def local_day(instant: dt.datetime) -> dt.date:
    return instant.astimezone(SHANGHAI).date()


# --- the counting rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountingRule:
    key: str
    rule: str  # the rule as the centre states it (Chinese, shown in the briefing)
    how: str  # how ``order_fact`` applies it


COUNTING_RULES: tuple[CountingRule, ...] = (
    CountingRule(
        "territorial",
        "按问题发生地计入所在街道、社区（属地排名，即被反映街乡镇）",
        "Territorial rows ('t.*') sit on the community the order's grid lies in; a street's figure is the "
        "sum over its subtree (orgs.UnitClosure). Volume is also kept in detail ('v.*': the grid × item × "
        "channel). An order without a grid sits on its dispatch unit, so city and district totals stay "
        "whole while no street or community gets it.",
    ),
    CountingRule(
        "handling",
        "计入最终主办单位（承办排名）",
        "Handling rows ('h.*') sit on the unit of the final top-level lead assignment (the highest "
        "dispatch round); a delegation below it stays that unit's work. Never dispatched → no handling row.",
    ),
    CountingRule(
        "period",
        "按办结回访时间计入考评周期",
        "count_day = the Asia/Shanghai date of the closing callback: the last callback at or before "
        "closed_at and after the last reopen; without one, the date of closed_at. Volume counts "
        "(received, direct_answer, merged) use the registration date instead.",
    ),
    CountingRule(
        "late_callback",
        "迟到的回访重新计算当日统计",
        "A fact that changes (a callback recorded after its day was rolled up, an appeal ruled, a "
        "reopen) recomputes every day it left and every day it entered (assessment.rollups).",
    ),
    CountingRule(
        "reopen",
        "已办结工单重办的，以最终办结为准，原计入作废",
        "Only a closed order is assessed: a reopen takes it out of its old count day; its next close "
        "puts it in the day of the new closing callback. reopen counts the order's reopens.",
    ),
    CountingRule(
        "valid",
        "回访有效：群众已接通且工单未被免责",
        "valid = 1 when the closing callback reached the resident and no appeal on the order was "
        "upheld. Unreached or missing closing callback → unreached = 1. Rates divide by valid.",
    ),
    CountingRule(
        "appeal",
        "申诉成立的工单不计入三率，仍计入受理量、办结量和时效指标",
        "An upheld appeal on any of the order's callbacks sets excluded = 1 and valid = 0; closed and "
        "the time measures still count.",
    ),
    CountingRule(
        "merged",
        "合并的重复件只通过主件计一次",
        "A merged child (status merged) counts merged = 1 on its registration day and nothing else; "
        "its parent carries the problem in every figure.",
    ),
    CountingRule(
        "direct_consultation",
        "直接答复的咨询件只计入受理量",
        "An order closed by answer_directly counts received = 1 and direct_answer = 1 only: no "
        "handling unit, no count day, no rates or time measures.",
    ),
    CountingRule(
        "on_time",
        "在时限内（含时限当时）签收、答复的为按时",
        "accept_on_time when the handling unit's first dispatched top-level lead assignment was "
        "accepted at or before accept_by; reply_on_time when the final one replied at or before its "
        "reply_by (extensions and suspensions included); otherwise overdue = 1 with "
        "overdue_multiple = (replied_at − reply_by) ÷ (reply_by − dispatched_at), stored ×1000.",
    ),
    CountingRule(
        "rework",
        "返工：办结审核退回、回访后重办；挂账、延期按批准次数计",
        "rework = the order's lead replies sent back in review (rework_count); reopen = its reopens; "
        "suspensions / extensions = approved suspension / extension events on its timeline.",
    ),
)
COUNTING_RULE_KEYS: frozenset[str] = frozenset(rule.key for rule in COUNTING_RULES)


# --- what one order contributes ----------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRow:
    """The order's own columns; ``area_id`` is the community its grid lies in (looked up by the
    caller), the unit the assessed territorial measures sit on."""

    pk: int
    status: str
    parent_id: int | None
    channel: str
    item_id: int | None
    grid_id: int | None
    dispatch_unit_id: int
    created_at: dt.datetime
    closed_at: dt.datetime | None
    last_seq: int
    rework_count: int
    reopen_count: int
    area_id: int | None = None


@dataclass(frozen=True)
class LeadRow:
    """A top-level lead assignment (role lead, no parent) of the order, any round."""

    pk: int
    unit_id: int
    round: int
    dispatched_at: dt.datetime
    accept_by: dt.datetime | None
    accepted_at: dt.datetime | None
    reply_by: dt.datetime | None
    replied_at: dt.datetime | None


@dataclass(frozen=True)
class CallbackRow:
    pk: int
    created_at: dt.datetime
    reached: bool
    unit_contacted: bool | None
    resolved: bool | None
    satisfaction: str


@dataclass(frozen=True)
class EventRow:
    """The timeline events the facts need (``FACT_EVENT_TYPES``)."""

    type: str
    occurred_at: dt.datetime
    assignment_id: int | None


FACT_EVENT_TYPES: tuple[str, ...] = (
    EventType.ANSWERED_DIRECTLY,
    EventType.REOPENED,
    EventType.SUSPEND_APPROVED,
    EventType.EXTENSION_APPROVED,
)


@dataclass(frozen=True)
class Fact:
    """One order's contribution (mirrors ``assessment.OrderFact``)."""

    order_id: int
    source_seq: int
    item_id: int | None
    channel: str
    loc_unit_id: int  # the grid (else the dispatch unit): volume rows
    area_unit_id: int  # the grid's community (else ``loc_unit_id``): assessed territorial rows
    hdl_unit_id: int | None
    created_day: dt.date
    count_day: dt.date | None
    values: Mapping[str, int] = field(default_factory=dict)

    def value(self, measure: str) -> int:
        return int(self.values.get(measure, 0))

    def key(self) -> tuple[Any, ...]:
        """Everything that matters for the rollups (two facts with equal keys roll up equally)."""
        return (
            self.item_id,
            self.channel,
            self.loc_unit_id,
            self.area_unit_id,
            self.hdl_unit_id,
            self.created_day,
            self.count_day,
            tuple(self.value(m) for m in ALL_MEASURES),
        )


def final_lead(leads: Sequence[LeadRow]) -> LeadRow | None:
    """The final top-level lead assignment: highest round, then latest."""
    return max(leads, key=lambda a: (a.round, a.pk), default=None)


def closing_callback(
    order: OrderRow, callbacks: Iterable[CallbackRow], events: Iterable[EventRow]
) -> CallbackRow | None:
    """The callback an order is counted by: the last one at or before its close and after its last
    reopen (rule ``period``). None when the order is not closed or was closed without one."""
    if order.status != OrderStatus.CLOSED or order.closed_at is None:
        return None
    reopens = [e.occurred_at for e in events if e.type == EventType.REOPENED]
    last_reopen = max(reopens, default=None)
    closed_at = order.closed_at
    candidates = [
        c
        for c in callbacks
        if c.created_at <= closed_at and (last_reopen is None or c.created_at > last_reopen)
    ]
    return max(candidates, key=lambda c: (c.created_at, c.pk), default=None)


def order_fact(
    order: OrderRow,
    *,
    leads: Sequence[LeadRow],
    callbacks: Sequence[CallbackRow],
    events: Sequence[EventRow],
    upheld_appeal: bool,
) -> Fact:
    """What ``order`` contributes to the rollups, by ``COUNTING_RULES``."""
    values: dict[str, int] = {}
    loc = order.grid_id or order.dispatch_unit_id  # rule "territorial"
    base = Fact(
        order_id=order.pk,
        source_seq=order.last_seq,
        item_id=order.item_id,
        channel=order.channel,
        loc_unit_id=loc,
        area_unit_id=(order.area_id or loc) if order.grid_id else loc,
        hdl_unit_id=None,
        created_day=local_day(order.created_at),
        count_day=None,
        values=values,
    )
    if order.status == OrderStatus.MERGED or order.parent_id is not None:  # rule "merged"
        values["merged"] = 1
        return base
    values["received"] = 1
    if any(e.type == EventType.ANSWERED_DIRECTLY for e in events):  # rule "direct_consultation"
        values["direct_answer"] = 1
        return base
    last = final_lead(leads)
    hdl_unit_id = last.unit_id if last is not None else None  # rule "handling"
    if order.status != OrderStatus.CLOSED or order.closed_at is None:  # rule "reopen": only closed counts
        return replace(base, hdl_unit_id=hdl_unit_id)

    closing = closing_callback(order, callbacks, events)  # rule "period"
    count_day = local_day(closing.created_at if closing is not None else order.closed_at)
    values["closed"] = 1
    if upheld_appeal:  # rule "appeal"
        values["excluded"] = 1
    if closing is None or not closing.reached:  # rule "valid"
        values["unreached"] = 1
    elif not upheld_appeal:
        values["valid"] = 1
        values["contacted"] = int(closing.unit_contacted is True)
        values["resolved"] = int(closing.resolved is True)
        values["satisfied"] = int(closing.satisfaction == Satisfaction.SATISFIED)
        values["basically"] = int(closing.satisfaction == Satisfaction.BASICALLY)

    if last is not None:  # rule "on_time"
        reopened = {e.assignment_id for e in events if e.type == EventType.REOPENED}
        dispatched = [a for a in leads if a.unit_id == last.unit_id and a.pk not in reopened]
        first = min(dispatched, key=lambda a: (a.round, a.pk), default=None)
        if first is not None and first.accept_by is not None:
            values["accept_total"] = 1
            values["accept_on_time"] = int(
                first.accepted_at is not None and first.accepted_at <= first.accept_by
            )
        if last.reply_by is not None and last.replied_at is not None:
            values["reply_total"] = 1
            if last.replied_at <= last.reply_by:
                values["reply_on_time"] = 1
            else:
                values["overdue"] = 1
                allowed = (last.reply_by - last.dispatched_at).total_seconds()
                over = (last.replied_at - last.reply_by).total_seconds()
                values["overdue_multiple_milli"] = round(1000 * over / allowed) if allowed > 0 else 0
    # rule "rework"
    values["rework"] = order.rework_count
    values["reopen"] = order.reopen_count
    values["suspensions"] = sum(1 for e in events if e.type == EventType.SUSPEND_APPROVED)
    values["extensions"] = sum(1 for e in events if e.type == EventType.EXTENSION_APPROVED)
    for name in [m for m, v in values.items() if v == 0]:
        del values[name]
    return replace(base, hdl_unit_id=hdl_unit_id, count_day=count_day)


RollupKey = tuple[int, dt.date, int | None, str, str]  # unit, day, item, channel, metric

# Rows per unit and day (item None, channel ""), for the rates, rankings and totals: territorial on
# the grid's community, handling on the handling unit. The volume measures are also kept in detail
# ('v.*': grid × catalog item × channel) for top problems, the channel breakdown and the insight
# app's hotspots. Item × channel on the assessed measures would multiply a day's rows by ~20 with no
# reader.
NO_ITEM: None = None
NO_CHANNEL = ""


def fact_rows(fact: Fact) -> Iterator[tuple[RollupKey, int]]:
    """The ``UnitDailyCount`` cells one fact adds to (non-zero values only)."""
    for measure in VOLUME_MEASURES:
        if value := fact.value(measure):
            yield (
                (
                    fact.loc_unit_id,
                    fact.created_day,
                    fact.item_id,
                    fact.channel,
                    metric_name(DETAIL, measure),
                ),
                value,
            )
            yield (
                (fact.loc_unit_id, fact.created_day, NO_ITEM, NO_CHANNEL, metric_name(GRID_TOTAL, measure)),
                value,
            )
            yield (
                (fact.area_unit_id, fact.created_day, NO_ITEM, NO_CHANNEL, metric_name(TERRITORIAL, measure)),
                value,
            )
    if fact.count_day is None:
        return
    for measure in ASSESSED_MEASURES:
        if value := fact.value(measure):
            yield (
                (fact.area_unit_id, fact.count_day, NO_ITEM, NO_CHANNEL, metric_name(TERRITORIAL, measure)),
                value,
            )
            if fact.hdl_unit_id is not None:
                yield (
                    (fact.hdl_unit_id, fact.count_day, NO_ITEM, NO_CHANNEL, metric_name(HANDLING, measure)),
                    value,
                )


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def fact_month_rows(fact: Fact) -> Iterator[tuple[RollupKey, int]]:
    """The ``UnitMonthCount`` cells one fact adds to (the key's day is the first of the month).

    The monthly table holds what a month's dashboard sums across a city, so that a city's month is
    some ten thousand rows instead of millions: every territorial and handling row of
    ``fact_rows`` summed per month, and the volume split once by item (``vi.*``) and once by channel
    (``vc.*``) on the community (``UnitDailyCount`` splits it by grid × item × channel together)."""
    month = month_start(fact.created_day)
    for measure in VOLUME_MEASURES:
        if value := fact.value(measure):
            area = fact.area_unit_id
            yield (area, month, fact.item_id, NO_CHANNEL, metric_name(BY_ITEM, measure)), value
            yield (area, month, NO_ITEM, fact.channel, metric_name(BY_CHANNEL, measure)), value
            yield (area, month, NO_ITEM, NO_CHANNEL, metric_name(TERRITORIAL, measure)), value
    if fact.count_day is None:
        return
    month = month_start(fact.count_day)
    for measure in ASSESSED_MEASURES:
        if value := fact.value(measure):
            yield (fact.area_unit_id, month, NO_ITEM, NO_CHANNEL, metric_name(TERRITORIAL, measure)), value
            if fact.hdl_unit_id is not None:
                yield (fact.hdl_unit_id, month, NO_ITEM, NO_CHANNEL, metric_name(HANDLING, measure)), value


CellsOf = Callable[[Fact], Iterator[tuple[RollupKey, int]]]


def aggregate_facts(facts: Iterable[Fact], rows: CellsOf = fact_rows) -> dict[RollupKey, int]:
    """The rollup table (``rows``: ``fact_rows`` for the daily one, ``fact_month_rows`` for the
    monthly one) as a full recomputation would write it (the test oracle)."""
    cells: dict[RollupKey, int] = {}
    for fact in facts:
        for key, value in rows(fact):
            cells[key] = cells.get(key, 0) + value
    return cells


def fact_delta(old: Fact | None, new: Fact | None, rows: CellsOf = fact_rows) -> dict[RollupKey, int]:
    """What replacing ``old`` by ``new`` changes in a rollup table (zero entries dropped)."""
    delta: dict[RollupKey, int] = {}
    if new is not None:
        for key, value in rows(new):
            delta[key] = delta.get(key, 0) + value
    if old is not None:
        for key, value in rows(old):
            delta[key] = delta.get(key, 0) - value
    return {key: value for key, value in delta.items() if value}


# --- factors ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Factors:
    """The configurable factors (per city, ``assessment.AssessmentConfig``)."""

    response_weight: float = 0.1
    resolution_weight: float = 0.5
    satisfaction_weight: float = 0.4
    satisfied_factor: float = 1.0
    basically_factor: float = 0.9
    rating_weight: float = 1 / 3
    rating_weight_floor: float = 1 / 3
    whistle_share: float = 0.5
    appeal_window_days: int = 15

    @property
    def effective_rating_weight(self) -> float:
        """The weight the streets' ratings get: the configured one, never below the floor."""
        return max(self.rating_weight, self.rating_weight_floor)


DEFAULT_FACTORS = Factors()
FACTOR_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Factors))
WEIGHT_NAMES: tuple[str, ...] = ("response_weight", "resolution_weight", "satisfaction_weight")


def factors_from(values: Mapping[str, Any] | None, *, defaults: Factors = DEFAULT_FACTORS) -> Factors:
    """Factors from a mapping (a config row's values, settings overrides); missing names keep
    ``defaults``."""
    if not values:
        return defaults
    kwargs: dict[str, Any] = {}
    for name in FACTOR_NAMES:
        if name in values and values[name] is not None:
            kwargs[name] = int(values[name]) if name == "appeal_window_days" else float(values[name])
    return replace(defaults, **kwargs)


# --- rates from counts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Sums of the measures over some units and days, on one axis."""

    values: Mapping[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return int(self.values.get(name) or 0)

    @classmethod
    def of(cls, **values: int) -> Counts:
        unknown = set(values) - set(ALL_MEASURES)
        if unknown:
            raise ValueError(f"unknown measures: {sorted(unknown)}")
        return cls(values=dict(values))


def _ratio(part: float, whole: int) -> float | None:
    return part / whole if whole > 0 else None


def response_rate(c: Counts) -> float | None:
    """响应率 = residents who say the unit contacted them ÷ valid callbacks."""
    return _ratio(c["contacted"], c["valid"])


def resolution_rate(c: Counts) -> float | None:
    """解决率 = residents who say the problem is resolved ÷ valid callbacks."""
    return _ratio(c["resolved"], c["valid"])


def satisfaction_rate(c: Counts, f: Factors = DEFAULT_FACTORS) -> float | None:
    """满意率 = (1.0 × satisfied + 0.9 × basically satisfied) ÷ valid callbacks (factors per city)."""
    return _ratio(f.satisfied_factor * c["satisfied"] + f.basically_factor * c["basically"], c["valid"])


def composite(
    response: float | None, resolution: float | None, satisfaction: float | None, f: Factors = DEFAULT_FACTORS
) -> float | None:
    """综合成绩 = 0.1 × response + 0.5 × resolution + 0.4 × satisfaction (weights per city)."""
    if response is None or resolution is None or satisfaction is None:
        return None
    return (
        f.response_weight * response + f.resolution_weight * resolution + f.satisfaction_weight * satisfaction
    )


@dataclass(frozen=True)
class Rates:
    counts: Counts
    response: float | None
    resolution: float | None
    satisfaction: float | None
    composite: float | None
    on_time_acceptance: float | None
    on_time_reply: float | None
    overdue: int
    overdue_multiple: float | None  # mean over overdue orders of overtime ÷ allowed time
    rework: int
    reopen: int
    suspensions: int
    extensions: int

    @property
    def score(self) -> float | None:
        """The composite on a 0–100 scale."""
        return None if self.composite is None else self.composite * 100

    def as_dict(self) -> dict[str, Any]:
        return {
            "response": self.response,
            "resolution": self.resolution,
            "satisfaction": self.satisfaction,
            "composite": self.composite,
            "score": self.score,
            "on_time_acceptance": self.on_time_acceptance,
            "on_time_reply": self.on_time_reply,
            "overdue": self.overdue,
            "overdue_multiple": self.overdue_multiple,
            "rework": self.rework,
            "reopen": self.reopen,
            "suspensions": self.suspensions,
            "extensions": self.extensions,
            "received": self.counts["received"],
            "direct_answer": self.counts["direct_answer"],
            "closed": self.counts["closed"],
            "valid": self.counts["valid"],
            "excluded": self.counts["excluded"],
            "unreached": self.counts["unreached"],
        }


def rates(c: Counts, f: Factors = DEFAULT_FACTORS) -> Rates:
    """Every rate and time measure of ``c`` under factors ``f``."""
    response = response_rate(c)
    resolution = resolution_rate(c)
    satisfaction = satisfaction_rate(c, f)
    overdue = c["overdue"]
    return Rates(
        counts=c,
        response=response,
        resolution=resolution,
        satisfaction=satisfaction,
        composite=composite(response, resolution, satisfaction, f),
        on_time_acceptance=_ratio(c["accept_on_time"], c["accept_total"]),
        on_time_reply=_ratio(c["reply_on_time"], c["reply_total"]),
        overdue=overdue,
        overdue_multiple=_ratio(c["overdue_multiple_milli"] / 1000, overdue),
        rework=c["rework"],
        reopen=c["reopen"],
        suspensions=c["suspensions"],
        extensions=c["extensions"],
    )


# --- department scores -------------------------------------------------------------------------------------


def whistle_score(*, average: float, count: int, reported: int) -> float | None:
    """The whistle part of the streets' rating, 0–100: the mean of the three 1–5 scores scaled to
    100 (5 → 100), times the share of summonses the department reported to (a department that
    never came loses in proportion, DESIGN.md: "marked so, never dropped")."""
    if count <= 0:
        return None
    return average / 5 * 100 * reported / count


def rating_score(
    whistle: float | None, evaluation: float | None, f: Factors = DEFAULT_FACTORS
) -> float | None:
    """The streets' rating of a department, 0–100: whistle ratings and the periodic evaluation
    weighed ``whistle_share`` : 1 − ``whistle_share``; either alone when the other is missing."""
    if whistle is None:
        return evaluation
    if evaluation is None:
        return whistle
    return f.whistle_share * whistle + (1 - f.whistle_share) * evaluation


@dataclass(frozen=True)
class DepartmentScore:
    order_score: float | None  # composite × 100 on the handling axis
    whistle_score: float | None
    evaluation_score: float | None
    rating_score: float | None
    rating_weight: float
    score: float | None


def department_score(
    *,
    order_score: float | None,
    whistle: float | None,
    evaluation: float | None,
    f: Factors = DEFAULT_FACTORS,
) -> DepartmentScore:
    """score = (1 − w) × order score + w × the streets' rating, w = ``effective_rating_weight``
    (one third by default, never below the floor). A missing part leaves the other alone."""
    rating = rating_score(whistle, evaluation, f)
    w = f.effective_rating_weight
    if order_score is None:
        score = rating
    elif rating is None:
        score = order_score
    else:
        score = (1 - w) * order_score + w * rating
    return DepartmentScore(
        order_score=order_score,
        whistle_score=whistle,
        evaluation_score=evaluation,
        rating_score=rating,
        rating_weight=w,
        score=score,
    )


# --- periods and rankings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A half-open range of Asia/Shanghai days ``[start, end)``; usually a calendar month."""

    start: dt.date
    end: dt.date

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = dt.date(year, month, 1)
        end = dt.date(year + (month == 12), month % 12 + 1, 1)
        return cls(start, end)

    @classmethod
    def parse_month(cls, text: str) -> Period:
        """``"2025-09"`` → September 2025. Raises ``ValueError`` on anything else."""
        year_text, _, month_text = text.strip().partition("-")
        if not (year_text.isdigit() and month_text.isdigit() and len(year_text) == 4):
            raise ValueError(text)
        year, month = int(year_text), int(month_text)
        if not 1 <= month <= 12 or year < 2000:
            raise ValueError(text)
        return cls.month(year, month)

    @classmethod
    def containing(cls, day: dt.date) -> Period:
        return cls.month(day.year, day.month)

    def previous(self) -> Period:
        """The month before (for a month), else the equally long range just before."""
        if self.is_month:
            before = self.start - dt.timedelta(days=1)
            return Period.month(before.year, before.month)
        return Period(self.start - (self.end - self.start), self.start)

    @property
    def is_month(self) -> bool:
        """A whole calendar month (what ``UnitMonthCount`` answers in one row per cell)."""
        return self.start.day == 1 and self.end == Period.month(self.start.year, self.start.month).end

    @property
    def label(self) -> str:
        if self.is_month:
            return f"{self.start.year}年{self.start.month}月"
        return f"{self.start:%Y-%m-%d}至{self.end - dt.timedelta(days=1):%Y-%m-%d}"

    @property
    def key(self) -> str:
        return f"{self.start:%Y-%m}"


def competition_ranks(scores: Sequence[float | None]) -> list[int | None]:
    """Ranks for scores already sorted best first: equal scores share a rank (1, 2, 2, 4);
    ``None`` (no valid callback) is unranked."""
    ranks: list[int | None] = []
    previous: float | None = None
    rank = 0
    for position, score in enumerate(scores, start=1):
        if score is None:
            ranks.append(None)
            continue
        if previous is None or round(score, 6) != round(previous, 6):
            rank = position
        ranks.append(rank)
        previous = score
    return ranks
