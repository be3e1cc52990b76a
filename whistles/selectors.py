"""Every read of 吹哨报到 a page, the API or assessment needs (STYLE.md rule 2).

Each selector returns plain values or querysets with their joins already applied, so the pages
render without further queries; the query counts are pinned in tests:

- ``whistle_board``: 2 queries (whistles, their summonses with units);
- ``summons_inbox``: 2 queries (summonses with whistle and units, their tasks);
- ``whistle_detail``: 7 queries (whistle with visibility, summonses with units and ratings,
  tasks, timeline, orders, the two permission answers).

Scope: ``whistles_visible_to`` is the one scoping function — the territory the whistle lies in
(location roles), the units holding it (the blowing unit's subtree: holding roles), and the
departments it summons (``whistles.permissions.summons_unit_ids``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.choices import OPEN as ORDER_OPEN
from orders.models import Order
from orgs.models import Unit, UnitClosure
from orgs.selectors import _has_scope, holding_scope_q, location_scope_q
from whistles import permissions
from whistles.choices import SummonsStatus, TaskStatus, WhistleStatus
from whistles.errors import NotFound
from whistles.models import DepartmentRating, Summons, Whistle, WhistleEvent, WhistleTask

# --- scope -----------------------------------------------------------------------------------------


def whistles_visible_to(user: Any) -> QuerySet[Whistle]:
    """Every whistle ``user`` may see (one query when evaluated, subqueries inside)."""
    if not _has_scope(user):
        return Whistle.objects.none()
    summoned = Summons.objects.filter(unit_id__in=permissions.summons_unit_ids(user)).values("whistle_id")
    return Whistle.objects.filter(
        location_scope_q(user, "unit") | holding_scope_q(user, "unit") | Q(pk__in=summoned)
    )


def summons_of_user(user: Any) -> QuerySet[Summons]:
    """The summonses ``user`` answers for (their departments' and stations')."""
    if not _has_scope(user):
        return Summons.objects.none()
    return Summons.objects.filter(unit_id__in=permissions.summons_unit_ids(user))


# --- summons states for pages ---------------------------------------------------------------------


class Progress:
    """How a summons stands at ``now`` (for the board's "who reported, who is late")."""

    REPORTED = "reported"
    REPORTED_LATE = "reported_late"
    WAITING = "waiting"
    ACK_OVERDUE = "ack_overdue"
    ARRIVE_OVERDUE = "arrive_overdue"
    NOT_REPORTED = "not_reported"
    CANCELLED = "cancelled"

    LABELS = {
        REPORTED: gettext_lazy("已报到"),
        REPORTED_LATE: gettext_lazy("迟到报到"),
        WAITING: gettext_lazy("待报到"),
        ACK_OVERDUE: gettext_lazy("超时未响应"),
        ARRIVE_OVERDUE: gettext_lazy("超时未到场"),
        NOT_REPORTED: gettext_lazy("未报到"),
        CANCELLED: gettext_lazy("已撤销"),
    }
    LATE = frozenset({REPORTED_LATE, ACK_OVERDUE, ARRIVE_OVERDUE, NOT_REPORTED})


def summons_progress(summons: Summons, now: datetime) -> str:
    status = summons.status
    if status == SummonsStatus.CHECKED_IN:
        late = summons.checked_in_at is not None and summons.checked_in_at > summons.arrive_by
        return Progress.REPORTED_LATE if late else Progress.REPORTED
    if status == SummonsStatus.NOT_REPORTED:
        return Progress.NOT_REPORTED
    if status == SummonsStatus.CANCELLED:
        return Progress.CANCELLED
    if now > summons.arrive_by:
        return Progress.ARRIVE_OVERDUE
    if status == SummonsStatus.SUMMONED and now > summons.acknowledge_by:
        return Progress.ACK_OVERDUE
    return Progress.WAITING


def progress_label(progress: str) -> str:
    return str(Progress.LABELS[progress])


# --- the whistle board ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardSummons:
    summons: Summons
    progress: str
    label: str

    @property
    def is_late(self) -> bool:
        return self.progress in Progress.LATE


@dataclass(frozen=True)
class BoardRow:
    whistle: Whistle
    summonses: list[BoardSummons]
    open_tasks: int

    @property
    def reported(self) -> list[BoardSummons]:
        return [s for s in self.summonses if s.progress in (Progress.REPORTED, Progress.REPORTED_LATE)]

    @property
    def late(self) -> list[BoardSummons]:
        return [s for s in self.summonses if s.is_late]

    @property
    def waiting(self) -> list[BoardSummons]:
        return [s for s in self.summonses if s.progress == Progress.WAITING]


def whistle_board(
    user: Any, *, now: datetime, status: str | None = WhistleStatus.OPEN, limit: int = 200
) -> list[BoardRow]:
    """The whistles in ``user``'s scope (open ones by default), newest first, each with who has
    reported and who is late. Two queries."""
    qs = whistles_visible_to(user)
    if status:
        qs = qs.filter(status=status)
    whistles = list(
        qs.select_related("unit", "blown_by")
        .annotate(open_tasks=Count("tasks", filter=Q(tasks__status=TaskStatus.OPEN)))
        .prefetch_related(
            Prefetch(
                "summonses", queryset=Summons.objects.select_related("unit").order_by("unit__code", "pk")
            )
        )
        .order_by("-blown_at", "-pk")[:limit]
    )
    rows: list[BoardRow] = []
    for whistle in whistles:
        items = []
        for s in whistle.summonses.all():
            progress = summons_progress(s, now)
            items.append(BoardSummons(summons=s, progress=progress, label=progress_label(progress)))
        rows.append(BoardRow(whistle=whistle, summonses=items, open_tasks=getattr(whistle, "open_tasks", 0)))
    return rows


# --- the department's summons inbox -----------------------------------------------------------------


@dataclass(frozen=True)
class InboxItem:
    summons: Summons
    progress: str
    label: str
    tasks: list[WhistleTask]

    @property
    def open_tasks(self) -> list[WhistleTask]:
        return [t for t in self.tasks if t.status == TaskStatus.OPEN]

    @property
    def can_acknowledge(self) -> bool:
        return self.summons.status == SummonsStatus.SUMMONED and self.summons.whistle.is_open

    @property
    def can_check_in(self) -> bool:
        return self.summons.is_waiting and self.summons.whistle.is_open


def summons_inbox(
    user: Any, *, now: datetime, open_only: bool = True, limit: int = 200, summons_id: int | None = None
) -> list[InboxItem]:
    """The summonses of ``user``'s departments (or just ``summons_id``): those still to act on
    first (earliest deadline first), then the rest newest first. Two queries."""
    qs = summons_of_user(user)
    if open_only:
        qs = qs.filter(whistle__status=WhistleStatus.OPEN)
    if summons_id is not None:
        qs = qs.filter(pk=summons_id)
    summonses = list(
        qs.select_related("whistle", "whistle__unit", "unit")
        .prefetch_related(Prefetch("tasks", queryset=WhistleTask.objects.order_by("due_at", "pk")))
        .order_by("-whistle__blown_at", "pk")[:limit]
    )
    items = []
    for s in summonses:
        progress = summons_progress(s, now)
        items.append(
            InboxItem(summons=s, progress=progress, label=progress_label(progress), tasks=list(s.tasks.all()))
        )
    waiting = sorted(
        (i for i in items if i.summons.is_waiting or i.open_tasks),
        key=lambda i: i.summons.arrive_by if i.summons.is_waiting else i.open_tasks[0].due_at,
    )
    rest = [i for i in items if not (i.summons.is_waiting or i.open_tasks)]
    return waiting + rest


# --- the whistle detail ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLink:
    pk: int
    number: str
    title: str
    status: str
    status_label: str


@dataclass
class WhistleDetail:
    whistle: Whistle
    summonses: list[BoardSummons]
    tasks: list[WhistleTask]
    events: list[WhistleEvent]
    orders: list[OrderLink]
    can_manage: bool
    acting_summons_ids: set[int] = field(default_factory=set)

    def tasks_of(self, summons_id: int) -> list[WhistleTask]:
        return [t for t in self.tasks if t.summons_id == summons_id]

    @property
    def ratable(self) -> list[BoardSummons]:
        return [s for s in self.summonses if s.summons.status != SummonsStatus.CANCELLED]


def whistle_get_for_user(user: Any, pk: int) -> Whistle:
    """One whistle for ``user``: ``NotFound`` when there is none, ``PermissionDenied`` when it
    lies outside their scope (one query)."""
    visible = whistles_visible_to(user).filter(pk=OuterRef("pk"))
    whistle = (
        Whistle.objects.filter(pk=pk)
        .select_related("unit", "blown_by", "closed_by")
        .annotate(visible=Exists(visible))
        .first()
    )
    if whistle is None:
        raise NotFound(_("吹哨不存在。"))
    if not getattr(whistle, "visible", False):
        raise PermissionDenied(_("您无权查看该吹哨。"))
    return whistle


def whistle_detail(user: Any, pk: int, *, now: datetime) -> WhistleDetail:
    """The whistle with its summonses, tasks, ratings, timeline and orders, plus what ``user``
    may do on it. Seven queries."""
    whistle = whistle_get_for_user(user, pk)
    summonses = list(
        Summons.objects.filter(whistle_id=whistle.pk)
        .select_related("unit", "rating", "acknowledged_by", "checked_in_by")
        .order_by("unit__code", "pk")
    )
    for s in summonses:
        s.whistle = whistle  # the detail's whistle: no query when a card asks for it
    tasks = list(WhistleTask.objects.filter(whistle_id=whistle.pk).order_by("assigned_at", "pk"))
    events = list(
        WhistleEvent.objects.filter(whistle_id=whistle.pk)
        .select_related("actor", "actor_unit", "summons__unit")
        .order_by("seq")
    )
    orders = [
        OrderLink(
            pk=o.pk, number=o.number, title=o.title, status=o.status, status_label=str(o.get_status_display())
        )
        for o in Order.objects.filter(whistles=whistle).only("pk", "number", "title", "status").order_by("pk")
    ]
    can_manage = permissions.can_manage(user, whistle)
    acting = set(summons_of_user(user).filter(whistle_id=whistle.pk).values_list("pk", flat=True))
    items = []
    for s in summonses:
        progress = summons_progress(s, now)
        items.append(BoardSummons(summons=s, progress=progress, label=progress_label(progress)))
    return WhistleDetail(
        whistle=whistle,
        summonses=items,
        tasks=tasks,
        events=events,
        orders=orders,
        can_manage=can_manage,
        acting_summons_ids=acting,
    )


def summons_get_for_user(user: Any, pk: int) -> Summons:
    """A summons ``user`` answers for (``NotFound`` / ``PermissionDenied``). One query."""
    summons = (
        Summons.objects.filter(pk=pk)
        .select_related("whistle", "unit")
        .annotate(mine=Exists(summons_of_user(user).filter(pk=OuterRef("pk"))))
        .first()
    )
    if summons is None:
        raise NotFound(_("召集记录不存在。"))
    if not getattr(summons, "mine", False):
        raise PermissionDenied(_("您无权处理该召集。"))
    return summons


def task_get_for_user(user: Any, pk: int) -> WhistleTask:
    """A task of a summons ``user`` answers for (``NotFound`` / ``PermissionDenied``)."""
    task = (
        WhistleTask.objects.filter(pk=pk)
        .select_related("summons", "summons__unit", "whistle")
        .annotate(mine=Exists(summons_of_user(user).filter(pk=OuterRef("summons_id"))))
        .first()
    )
    if task is None:
        raise NotFound(_("任务不存在。"))
    if not getattr(task, "mine", False):
        raise PermissionDenied(_("您无权处理该任务。"))
    return task


# --- for the blow form ---------------------------------------------------------------------------


def summonable_units_for(unit: Unit | int) -> QuerySet[Unit]:
    """The departments and stations a whistle of ``unit`` may summon: those hanging under the
    city or district above it (stations under those departments)."""
    pk = unit if isinstance(unit, int) else unit.pk
    ancestors = UnitClosure.objects.filter(descendant_id=pk).values("ancestor_id")
    return (
        Unit.objects.filter(is_active=True)
        .filter(
            Q(kind="department", parent_id__in=ancestors) | Q(kind="station", parent__parent_id__in=ancestors)
        )
        .order_by("code")
    )


def open_orders_for_whistle(unit: Unit | int, *, limit: int = 50) -> list[Order]:
    """Recent open orders located in ``unit``'s territory (candidates to raise a whistle from)."""
    pk = unit if isinstance(unit, int) else unit.pk
    subtree = UnitClosure.objects.filter(ancestor_id=pk).values("descendant_id")
    return list(
        Order.objects.filter(status__in=sorted(ORDER_OPEN), grid_id__in=subtree)
        .only("pk", "number", "title", "status", "created_at")
        .order_by("-created_at", "-pk")[:limit]
    )


# --- for assessment ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingSummary:
    """A department's whistle ratings over a period (each score 1–5)."""

    unit_id: int
    count: int
    reported: int
    timeliness: float
    effectiveness: float
    attitude: float

    @property
    def not_reported(self) -> int:
        return self.count - self.reported

    @property
    def average(self) -> float:
        """Mean of the three scores, 1–5."""
        return (self.timeliness + self.effectiveness + self.attitude) / 3

    @property
    def score_100(self) -> float:
        """The average on a 0–100 scale (5 → 100, 1 → 20)."""
        return self.average / 5 * 100


def department_rating_summary(
    *, start: datetime, end: datetime, unit_ids: Iterable[int] | None = None
) -> dict[int, RatingSummary]:
    """Per rated department, its ratings given in ``[start, end)`` (by ``rated_at``, i.e. the
    whistle's close). One query. Assessment weighs these into department scores."""
    qs = DepartmentRating.objects.filter(rated_at__gte=start, rated_at__lt=end)
    if unit_ids is not None:
        qs = qs.filter(unit_id__in=list(unit_ids))
    rows = qs.values("unit_id").annotate(
        n=Count("pk"),
        reported_n=Count("pk", filter=Q(reported=True)),
        t=Avg("timeliness"),
        e=Avg("effectiveness"),
        a=Avg("attitude"),
    )
    return {
        row["unit_id"]: RatingSummary(
            unit_id=row["unit_id"],
            count=row["n"],
            reported=row["reported_n"],
            timeliness=float(row["t"]),
            effectiveness=float(row["e"]),
            attitude=float(row["a"]),
        )
        for row in rows.order_by("unit_id")
    }
