"""Golden tests of the definitions in ``assessment.metrics`` on hand-built counts."""

from __future__ import annotations

import datetime as dt

import pytest

from assessment import metrics
from assessment.metrics import Counts, Factors, Period


def test_the_three_rates_and_the_composite_on_ten_valid_callbacks():
    # 10 valid: 8 say the unit contacted them, 7 resolved, 6 satisfied and 2 basically satisfied
    c = Counts.of(valid=10, contacted=8, resolved=7, satisfied=6, basically=2)
    r = metrics.rates(c)
    assert r.response == pytest.approx(0.8)
    assert r.resolution == pytest.approx(0.7)
    assert r.satisfaction == pytest.approx((6 + 0.9 * 2) / 10)  # 0.78
    assert r.composite == pytest.approx(0.1 * 0.8 + 0.5 * 0.7 + 0.4 * 0.78)  # 0.742
    assert r.score == pytest.approx(74.2)


def test_every_factor_is_configurable():
    c = Counts.of(valid=4, contacted=4, resolved=2, satisfied=1, basically=2)
    f = Factors(
        response_weight=0.2,
        resolution_weight=0.4,
        satisfaction_weight=0.4,
        basically_factor=0.8,
        satisfied_factor=1.0,
    )
    r = metrics.rates(c, f)
    assert r.satisfaction == pytest.approx((1 + 0.8 * 2) / 4)
    assert r.composite == pytest.approx(0.2 * 1.0 + 0.4 * 0.5 + 0.4 * 0.65)


def test_rates_without_a_valid_callback_are_none_not_zero():
    r = metrics.rates(Counts.of(closed=3, unreached=3))
    assert (r.response, r.resolution, r.satisfaction, r.composite, r.score) == (None, None, None, None, None)


def test_dissatisfied_callbacks_count_in_the_denominator_only():
    r = metrics.rates(Counts.of(valid=2, satisfied=1))
    assert r.satisfaction == pytest.approx(0.5)


def test_time_measures():
    c = Counts.of(
        accept_total=4,
        accept_on_time=3,
        reply_total=4,
        reply_on_time=2,
        overdue=2,
        overdue_multiple_milli=1500 + 500,
        rework=1,
        reopen=2,
        suspensions=1,
        extensions=3,
    )
    r = metrics.rates(c)
    assert r.on_time_acceptance == pytest.approx(0.75)
    assert r.on_time_reply == pytest.approx(0.5)
    assert r.overdue == 2
    assert r.overdue_multiple == pytest.approx(1.0)  # mean of 1.5 and 0.5
    assert (r.rework, r.reopen, r.suspensions, r.extensions) == (1, 2, 1, 3)


def test_counts_refuse_unknown_measures():
    with pytest.raises(ValueError, match="unknown"):
        Counts.of(valid=1, happiness=3)


def test_factors_from_a_mapping_keep_defaults_for_missing_names():
    f = metrics.factors_from({"rating_weight": "0.3", "rating_weight_floor": 0.3, "appeal_window_days": 7})
    assert f.rating_weight == pytest.approx(0.3)
    assert f.appeal_window_days == 7
    assert f.response_weight == pytest.approx(0.1)


# --- department scores ------------------------------------------------------------------------------


def test_streets_ratings_weigh_one_third_by_default():
    s = metrics.department_score(order_score=90.0, whistle=60.0, evaluation=None)
    assert s.rating_weight == pytest.approx(1 / 3)
    assert s.score == pytest.approx(90 * 2 / 3 + 60 / 3)  # 80


def test_a_city_may_weigh_them_thirty_percent_when_the_floor_allows():
    f = Factors(rating_weight=0.3, rating_weight_floor=0.3)
    s = metrics.department_score(order_score=90.0, whistle=60.0, evaluation=None, f=f)
    assert s.score == pytest.approx(0.7 * 90 + 0.3 * 60)  # 81


def test_the_weight_never_drops_below_the_floor():
    f = Factors(rating_weight=0.2, rating_weight_floor=0.3)
    assert f.effective_rating_weight == pytest.approx(0.3)
    s = metrics.department_score(order_score=100.0, whistle=0.0, evaluation=None, f=f)
    assert s.score == pytest.approx(70.0)


def test_whistle_and_evaluation_share_the_rating_part():
    s = metrics.department_score(order_score=90.0, whistle=80.0, evaluation=50.0)
    assert s.rating_score == pytest.approx(65.0)
    assert s.score == pytest.approx(90 * 2 / 3 + 65 / 3)


def test_a_missing_part_leaves_the_other_alone():
    assert metrics.department_score(order_score=None, whistle=70.0, evaluation=None).score == pytest.approx(
        70.0
    )
    assert metrics.department_score(order_score=88.0, whistle=None, evaluation=None).score == pytest.approx(
        88.0
    )
    assert metrics.department_score(order_score=None, whistle=None, evaluation=None).score is None


def test_whistle_score_scales_to_100_and_punishes_not_reporting():
    assert metrics.whistle_score(average=5.0, count=2, reported=2) == pytest.approx(100.0)
    assert metrics.whistle_score(average=4.0, count=2, reported=1) == pytest.approx(40.0)
    assert metrics.whistle_score(average=4.0, count=0, reported=0) is None


# --- periods and ranks ------------------------------------------------------------------------------


def test_months_and_their_previous_ones():
    sep = Period.parse_month("2025-09")
    assert (sep.start, sep.end) == (dt.date(2025, 9, 1), dt.date(2025, 10, 1))
    assert Period.month(2025, 12).end == dt.date(2026, 1, 1)
    assert Period.month(2025, 1).previous() == Period.month(2024, 12)
    assert sep.label == "2025年9月"
    assert Period(dt.date(2025, 9, 10), dt.date(2025, 9, 17)).previous() == Period(
        dt.date(2025, 9, 3), dt.date(2025, 9, 10)
    )


@pytest.mark.parametrize("text", ["2025-13", "25-01", "2025/01", "", "abcd-ef"])
def test_bad_months_are_refused(text):
    with pytest.raises(ValueError):
        Period.parse_month(text)


def test_competition_ranks_share_places_and_leave_none_unranked():
    assert metrics.competition_ranks([90.0, 80.0, 80.0, 70.0, None]) == [1, 2, 2, 4, None]


def test_the_counting_rules_table_has_unique_keys():
    keys = [rule.key for rule in metrics.COUNTING_RULES]
    assert len(keys) == len(set(keys)) and len(keys) >= 10
    assert all(rule.rule and rule.how for rule in metrics.COUNTING_RULES)


def test_fact_model_columns_are_the_measures():
    from assessment.models import OrderFact

    columns = {f.name for f in OrderFact._meta.get_fields()}
    assert set(metrics.ALL_MEASURES) <= columns
