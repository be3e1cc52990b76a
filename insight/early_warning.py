"""Early warning 预警: a problem (catalog item) spiking in an area (street) today.

The rule (Poisson control limit on the area's usual level):

- **counts**: orders registered per day (Asia/Shanghai) by item × street (the street that holds
  the order's grid); withdrawn orders are not counted, merged duplicates are (a wave of repeat
  reports is exactly the signal);
- **usual level**: ``expected`` = the mean daily count of the same item in the same street over
  the ``BASELINE_DAYS`` (28) days before, floored at ``MIN_EXPECTED`` (0.2 a day) so a first-ever
  report is not a spike;
- **limit**: today's count ``k`` is warned when ``k ≥ MIN_COUNT`` (3) and the Poisson upper tail
  ``P(X ≥ k | expected)`` is below ``YELLOW_P`` (0.001, about one false alarm per item and street
  in three years of ordinary days); ``ORANGE_P`` (1e-4) and ``RED_P`` (1e-6) raise the level;
- **episode**: consecutive days above the limit are one episode, keyed by the day it started
  (``poisson:<street>:<item>:<start>``). ``assessment.services.early_warning_record`` stores a
  warning once per key, so every sweep of the day and the following days of the same wave
  record nothing new (a higher level updates the one warning); a wave after a calm day is a new
  episode.

``early_warning_sweep(now)`` runs from ``insight.tasks`` (hourly); it is safe to run twice.
Each new (or raised) warning is announced by email to the supervisors of its street (a
supervisor membership at the street or above), exactly once: the right to announce is claimed
with ``assessment.services.early_warning_claim_notification`` before sending.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.mail import EmailMessage
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _
from scipy.stats import poisson

from core.workcalendar import SHANGHAI
from orders.choices import OrderStatus
from orders.models import Order
from orgs.choices import Role, UnitKind
from orgs.models import Membership, Unit, UnitClosure

BASELINE_DAYS = 28
MIN_EXPECTED = 0.2
MIN_COUNT = 3
YELLOW_P = 1e-3
ORANGE_P = 1e-4
RED_P = 1e-6
MAX_EPISODE_DAYS = 14
RULE = "poisson_p<0.001_28d"

Key = tuple[int, int]  # (street id, item id)


@dataclass(frozen=True)
class Spike:
    area_id: int
    item_id: int
    day: dt.date
    observed: int
    expected: float
    p_value: float
    level: str
    episode_start: dt.date

    @property
    def episode_key(self) -> str:
        return f"poisson:{self.area_id}:{self.item_id}:{self.episode_start.isoformat()}"


def tail_p(observed: int, expected: float) -> float:
    """P(X ≥ observed) for X ~ Poisson(expected)."""
    return float(poisson.sf(observed - 1, max(expected, MIN_EXPECTED)))


def level_for(observed: int, expected: float) -> str | None:
    """The warning level of a day's count against its usual level, or None (within limits)."""
    if observed < MIN_COUNT:
        return None
    p = tail_p(observed, expected)
    if p < RED_P:
        return "red"
    if p < ORANGE_P:
        return "orange"
    if p < YELLOW_P:
        return "yellow"
    return None


def expected_for(series: Mapping[dt.date, int], day: dt.date, days: int = BASELINE_DAYS) -> float:
    """The mean daily count over the ``days`` days before ``day`` (missing days count 0)."""
    total = sum(series.get(day - dt.timedelta(days=i), 0) for i in range(1, days + 1))
    return max(total / days, MIN_EXPECTED)


def spike_on(series: Mapping[dt.date, int], day: dt.date, key: Key) -> Spike | None:
    """Today's spike of one item × area series, with the day its episode started."""
    observed = series.get(day, 0)
    expected = expected_for(series, day)
    level = level_for(observed, expected)
    if level is None:
        return None
    start = day
    for _step in range(MAX_EPISODE_DAYS):
        before = start - dt.timedelta(days=1)
        if level_for(series.get(before, 0), expected_for(series, before)) is None:
            break
        start = before
    return Spike(
        area_id=key[0],
        item_id=key[1],
        day=day,
        observed=observed,
        expected=round(expected, 3),
        p_value=tail_p(observed, expected),
        level=level,
        episode_start=start,
    )


def street_of_grids(grid_ids: Iterable[int]) -> dict[int, int]:
    """grid id → id of the street above it (grids outside a street are left out)."""
    rows = UnitClosure.objects.filter(
        descendant_id__in=list(grid_ids), ancestor__kind=UnitKind.STREET
    ).values_list("descendant_id", "ancestor_id")
    return {int(g): int(s) for g, s in rows}


def daily_counts(*, first: dt.date, last: dt.date) -> dict[Key, dict[dt.date, int]]:
    """Orders registered per day, by (street, item), for ``first`` … ``last`` (Shanghai days)."""
    start = dt.datetime.combine(first, dt.time.min, tzinfo=SHANGHAI)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
    rows = list(
        Order.objects.filter(
            created_at__gte=start, created_at__lt=end, item__isnull=False, grid__isnull=False
        )
        .exclude(status=OrderStatus.WITHDRAWN)
        .annotate(day=TruncDate("created_at", tzinfo=SHANGHAI))
        .values("grid_id", "item_id", "day")
        .annotate(n=Count("id"))
    )
    streets = street_of_grids({int(r["grid_id"]) for r in rows})
    counts: dict[Key, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        street = streets.get(int(r["grid_id"]))
        if street is not None:
            counts[(street, int(r["item_id"]))][r["day"]] += int(r["n"])
    return counts


def spikes_for(day: dt.date) -> list[Spike]:
    first = day - dt.timedelta(days=BASELINE_DAYS + MAX_EPISODE_DAYS + 1)
    counts = daily_counts(first=first, last=day)
    found = [spike_on(series, day, key) for key, series in counts.items() if series.get(day, 0) >= MIN_COUNT]
    return sorted((s for s in found if s is not None), key=lambda s: (s.area_id, s.item_id))


def early_warning_sweep(*, now: dt.datetime) -> list[Spike]:
    """Record today's spikes as early warnings, once per episode; returns the new or raised ones."""
    from assessment.services import early_warning_record
    from catalog.models import CatalogItem

    day = now.astimezone(SHANGHAI).date()
    spikes = spikes_for(day)
    if not spikes:
        return []
    areas = Unit.objects.in_bulk({s.area_id for s in spikes})
    items = CatalogItem.objects.in_bulk({s.item_id for s in spikes})
    recorded: list[Spike] = []
    for spike in spikes:
        warning, changed = early_warning_record(
            area=areas[spike.area_id],
            item=items[spike.item_id],
            day=spike.episode_start,
            level=spike.level,
            observed=float(spike.observed),
            expected=spike.expected,
            rule=RULE,
            episode_key=spike.episode_key,
            now=now,
        )
        if changed:
            recorded.append(spike)
            early_warning_notify(warning=warning, area=areas[spike.area_id], item=items[spike.item_id])
    return recorded


def supervisor_addresses(area: Unit) -> list[str]:
    """E-mail addresses of the active supervisors at ``area`` or above it."""
    above = UnitClosure.objects.filter(descendant_id=area.pk).values("ancestor_id")
    rows = Membership.objects.filter(
        unit_id__in=above, role=Role.SUPERVISOR, unit__is_active=True, user__is_active=True
    ).values_list("user__email", flat=True)
    return sorted({e for e in rows if e})


def early_warning_notify(*, warning: Any, area: Unit, item: Any) -> bool:
    """Announce a warning to the area's supervisors once (claimed before sending)."""
    from assessment.services import early_warning_claim_notification

    if not early_warning_claim_notification(warning_id=warning.pk):
        return False
    to = supervisor_addresses(area)
    if not to:
        return True
    subject = _("【预警】%(area)s「%(item)s」诉求激增") % {"area": area.name, "item": item.name}
    body = _("%(day)s起，%(area)s「%(item)s」类诉求当日%(n)d件，常态水平约每日%(e).1f件（%(level)s）。") % {
        "day": warning.day.isoformat(),
        "area": area.name,
        "item": item.name,
        "n": int(warning.observed),
        "e": warning.expected,
        "level": warning.get_level_display(),
    }
    EmailMessage(
        subject=subject,
        body=body,
        to=to,
        headers={"Message-ID": f"<minhu-early-warning-{warning.pk}-{warning.level}@minhu.invalid>"},
    ).send(fail_silently=False)
    return True
