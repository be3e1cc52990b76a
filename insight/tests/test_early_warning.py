"""Early warning: the Poisson control limit (its false-alarm rate on simulated history), episodes,
and a spike in the database warned once, not on every sweep."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core import mail

from assessment.models import EarlyWarning
from core.workcalendar import SHANGHAI
from insight.early_warning import (
    BASELINE_DAYS,
    MIN_COUNT,
    YELLOW_P,
    early_warning_sweep,
    level_for,
    spike_on,
    spikes_for,
)
from orders.tests.factories import make_item, make_order, person
from orgs.choices import Role, UnitKind

DAY0 = dt.date(2025, 1, 1)
KEY = (1, 2)


def _series(counts):
    return {DAY0 + dt.timedelta(days=i): int(n) for i, n in enumerate(counts)}


@pytest.mark.parametrize("rate", [0.3, 1.0, 3.0, 8.0])
def test_the_false_alarm_rate_on_ordinary_history_is_below_the_limit(rate):
    """Three years of ordinary days (Poisson at a steady rate, fixed seed): the share of days
    warned is at most about the tail probability of the yellow limit."""
    rng = np.random.default_rng(0)
    series = _series(rng.poisson(rate, size=3 * 365 + BASELINE_DAYS))
    days = sorted(series)[BASELINE_DAYS:]
    alarms = sum(spike_on(series, day, KEY) is not None for day in days)
    rate_observed = alarms / len(days)
    print(f"rate={rate}: {alarms} alarms in {len(days)} days ({rate_observed:.4%})")
    assert rate_observed <= 2 * YELLOW_P


@pytest.mark.parametrize("rate", [0.3, 1.0, 3.0, 8.0])
def test_a_spike_of_several_times_the_usual_level_is_caught(rate):
    rng = np.random.default_rng(1)
    counts = list(rng.poisson(rate, size=BASELINE_DAYS + 1))
    counts[-1] = int(4 * rate + 6)
    series = _series(counts)
    spike = spike_on(series, max(series), KEY)
    assert spike is not None and spike.observed == counts[-1] and spike.level in {"yellow", "orange", "red"}


def test_levels_rise_with_the_count_and_small_counts_never_warn():
    assert level_for(MIN_COUNT - 1, 0.2) is None
    assert level_for(3, 1.0) is None
    levels = [level_for(k, 1.0) for k in (6, 8, 10)]
    assert levels == ["yellow", "orange", "red"]


def test_consecutive_days_above_the_limit_are_one_episode_and_a_calm_day_ends_it():
    counts = [1] * BASELINE_DAYS + [9, 10, 1, 12]
    series = _series(counts)
    days = sorted(series)
    first, second, calm, again = days[-4:]
    a, b, c, d = (spike_on(series, day, KEY) for day in (first, second, calm, again))
    assert a is not None and b is not None and d is not None and c is None
    assert a.episode_key == b.episode_key and a.episode_start == first
    assert d.episode_start == again and d.episode_key != a.episode_key


@pytest.fixture
def city(tree):
    return {
        "agent": person("agent", tree.city, Role.AGENT),
        "noise": make_item(name="夜间施工噪音", lead_kind=UnitKind.STREET),
        "lights": make_item(name="路灯不亮", lead_kind=UnitKind.STREET),
    }


def _report(city, tree, at, item="noise", grid=None, n=1):
    for _ in range(n):
        make_order(actor=city["agent"], now=at, grid=grid or tree.grid, item=city[item])


@pytest.mark.django_db
def test_a_spike_is_warned_once_not_on_every_sweep(tree, city):
    person("street_supervisor", tree.street, Role.SUPERVISOR, email="jd@example.invalid")
    person("other_supervisor", tree.other_street, Role.SUPERVISOR, email="xc@example.invalid")
    today = dt.datetime(2025, 3, 3, 15, 0, tzinfo=SHANGHAI)
    for i in range(1, BASELINE_DAYS + 1):  # the usual level: one noise report a day
        _report(city, tree, today - dt.timedelta(days=i))
    _report(city, tree, today - dt.timedelta(days=2), item="lights")
    _report(city, tree, today.replace(hour=9), n=9)  # today's wave
    _report(city, tree, today.replace(hour=9), item="lights")  # ordinary

    first = early_warning_sweep(now=today)
    assert len(first) == 1
    warning = EarlyWarning.objects.get()
    assert (warning.area, warning.item, warning.day) == (tree.street, city["noise"], today.date())
    assert warning.observed == 9 and warning.expected == pytest.approx(1.0)
    assert warning.level in {"orange", "red"}
    assert [m.to for m in mail.outbox] == [["jd@example.invalid"]]  # the street's supervisor only
    assert "夜间施工噪音" in mail.outbox[0].subject

    # the next sweeps of the day, and the next day of the same wave, add nothing
    assert early_warning_sweep(now=today + dt.timedelta(hours=1)) == []
    tomorrow = today + dt.timedelta(days=1)
    _report(city, tree, tomorrow.replace(hour=9), n=9)
    assert [s.episode_start for s in spikes_for(tomorrow.date())] == [today.date()]
    early_warning_sweep(now=tomorrow)
    assert EarlyWarning.objects.count() == 1
    assert len(mail.outbox) == 1  # announced once per episode


@pytest.mark.django_db
def test_an_ordinary_day_and_another_street_are_not_warned(tree, city):
    today = dt.datetime(2025, 3, 3, 15, 0, tzinfo=SHANGHAI)
    for i in range(1, BASELINE_DAYS + 1):
        _report(city, tree, today - dt.timedelta(days=i), n=2)
    _report(city, tree, today.replace(hour=9), n=3)  # usual level 2 a day: 3 is ordinary
    _report(city, tree, today.replace(hour=9), grid=tree.other_grid, n=2)  # below the minimum
    assert early_warning_sweep(now=today) == []
    assert not EarlyWarning.objects.exists()
