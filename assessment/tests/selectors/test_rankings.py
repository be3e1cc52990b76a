"""Rankings of streets (territorial) and departments (handling, with the streets' ratings) per
month, with the change against the previous month; department score weighting and floor; the
one-query-per-widget budgets."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessment.metrics import Period
from assessment.rollups import rollup_catch_up
from assessment.selectors import ranking_for_period, unit_counts_for_period, unit_rates_for_period
from assessment.services import assessment_config_set, department_evaluation_submit
from assessment.tests.factories import handled_order
from core.workcalendar import SHANGHAI
from orders.choices import Satisfaction
from orders.tests.factories import person
from orgs.choices import Role, UnitKind
from orgs.services import unit_create
from whistles.services import RatingInput, summons_check_in, whistle_blow, whistle_close

AUGUST = Period.month(2025, 8)
SEPTEMBER = Period.month(2025, 9)


def at(month, day, hour=9):
    return dt.datetime(2025, month, day, hour, tzinfo=SHANGHAI)


def dissatisfied(cast, t, **kw):
    return handled_order(cast, t, satisfaction=Satisfaction.DISSATISFIED, resolved=False, close=True, **kw)


@pytest.fixture
def streets(cast):
    """August: 东华 one good, one bad; 西长 two good. September: 东华 two good; 西长 one good, one bad."""
    tree = cast.tree
    handled_order(cast, at(8, 12))
    dissatisfied(cast, at(8, 13))
    handled_order(cast, at(8, 12), grid=tree.other_grid)
    handled_order(cast, at(8, 14), grid=tree.other_grid)
    handled_order(cast, at(9, 2))
    handled_order(cast, at(9, 3))
    handled_order(cast, at(9, 2), grid=tree.other_grid)
    dissatisfied(cast, at(9, 4), grid=tree.other_grid)
    rollup_catch_up(now=at(9, 26))
    return tree


def test_streets_rank_by_composite_with_the_change_against_last_month(cast, streets):
    rows = ranking_for_period(scope=streets.city, kind="street", period=SEPTEMBER)
    assert [(r.name, r.rank, r.previous_rank, r.rank_change) for r in rows] == [
        ("东华街道", 1, 2, 1),
        ("西长街道", 2, 1, -1),
    ]
    top, second = rows
    assert top.score == pytest.approx(100.0)
    # 西长 in September: 2 valid, 2 contacted, 1 resolved, 1 satisfied → 0.1·1 + 0.5·0.5 + 0.4·0.5
    assert second.score == pytest.approx((0.1 * 1 + 0.5 * 0.5 + 0.4 * 0.5) * 100)
    assert second.previous_score == pytest.approx(100.0)
    assert second.score is not None
    assert second.score_change == pytest.approx(second.score - 100.0)
    assert top.rates.counts["valid"] == 2 and top.previous_rates.counts["valid"] == 2


def test_a_district_scope_ranks_only_its_streets(cast, streets):
    rows = ranking_for_period(scope=streets.district, kind="street", period=SEPTEMBER)
    assert [r.name for r in rows] == ["东华街道"]


def test_a_street_without_valid_callbacks_is_listed_unranked(cast, streets):
    rows = ranking_for_period(scope=streets.city, kind="street", period=Period.month(2025, 7))
    assert [(r.rank, r.score) for r in rows] == [(None, None), (None, None)]


def test_the_ranking_widget_reads_the_rollups_in_a_fixed_number_of_queries(cast, streets):
    with CaptureQueriesContext(connection) as ctx:
        ranking_for_period(scope=streets.city, kind="street", period=SEPTEMBER)
    # factors, ranked units, counts of both months per unit, the ranked ancestors of those units
    assert len(ctx.captured_queries) == 4


def test_a_unit_rates_widget_is_two_queries(cast, streets):
    with CaptureQueriesContext(connection) as ctx:
        r = unit_rates_for_period(unit=streets.street, period=SEPTEMBER)
    assert len(ctx.captured_queries) == 2  # factors, one conditional aggregate over the subtree
    assert r.territorial.score == pytest.approx(100.0)
    with CaptureQueriesContext(connection) as ctx:
        unit_counts_for_period(unit=streets.city, period=SEPTEMBER)
    assert len(ctx.captured_queries) == 1


# --- departments ------------------------------------------------------------------------------------------------


@pytest.fixture
def departments(cast, street_secretary):
    """市城管局 (D1) and 市住建委 (D2) each handle one problem in 东华 in September; D1's resident is
    satisfied, D2's dissatisfied. 东华 blows a whistle summoning both: D1 reports and gets 3/3/3,
    D2 never reports (rated 1/1/1); 东华 evaluates D1 at 90 and D2 at 100."""
    tree = cast.tree
    dept2 = unit_create(actor=None, code="D2", name="市住建委", kind=UnitKind.DEPARTMENT, parent=tree.city)
    cast.extra_handlers = {dept2.pk: person("dept2_handler", dept2, Role.HANDLER)}
    handled_order(cast, at(9, 2), lead=tree.department)
    dissatisfied(cast, at(9, 3), lead=dept2)
    whistle = whistle_blow(
        actor=street_secretary,
        unit=tree.street,
        type="urgent",
        title="燃气泄漏",
        description="东华路燃气泄漏，请立即到场",
        summon_unit_ids=[tree.department.pk, dept2.pk],
        now=at(9, 10),
        point=(116.4105, 39.9155),
    )
    s1 = whistle.summonses.get(unit=tree.department)
    s2 = whistle.summonses.get(unit=dept2)
    summons_check_in(
        summons=s1,
        actor=cast.dept_handler,
        now=at(9, 10, 10),
        attendees=["王队长"],
        point=(116.4105, 39.9155),
    )
    whistle_close(
        whistle=whistle,
        actor=street_secretary,
        now=at(9, 10, 15),
        result="已处置",
        ratings={s1.pk: RatingInput(3, 3, 3), s2.pk: RatingInput(1, 1, 1)},
    )
    department_evaluation_submit(
        actor=street_secretary,
        rater_unit=tree.street,
        unit=tree.department,
        period=SEPTEMBER,
        score=90,
        now=at(9, 26),
    )
    department_evaluation_submit(
        actor=street_secretary, rater_unit=tree.street, unit=dept2, period=SEPTEMBER, score=100, now=at(9, 26)
    )
    rollup_catch_up(now=at(9, 26))
    return tree.department, dept2


def test_department_scores_weigh_the_streets_ratings_one_third(cast, departments):
    d1, d2 = departments
    rows = {
        r.unit_id: r for r in ranking_for_period(scope=cast.tree.city, kind="department", period=SEPTEMBER)
    }
    one = rows[d1.pk].department
    assert one is not None
    assert one.order_score == pytest.approx(100.0)
    assert one.whistle_score == pytest.approx(60.0)  # 3/5 · 100, reported
    assert one.evaluation_score == pytest.approx(90.0)
    assert one.rating_score == pytest.approx(75.0)
    assert one.score == pytest.approx(100 * 2 / 3 + 75 / 3, abs=1e-6)
    two = rows[d2.pk].department
    assert two is not None
    assert two.whistle_score == pytest.approx(0.0)  # never reported
    assert two.order_score == pytest.approx(10.0)  # contacted only: 0.1 · 1
    assert two.score == pytest.approx(10 * 2 / 3 + 50 / 3, abs=1e-6)
    assert rows[d1.pk].rank == 1 and rows[d2.pk].rank == 2


def test_a_thirty_percent_city_with_its_floor_lowered(cast, departments, city_admin):
    d1, _d2 = departments
    assessment_config_set(
        actor=city_admin,
        city=cast.tree.city,
        now=at(9, 26),
        changes={"rating_weight_floor": "0.3", "rating_weight": "0.3"},
    )
    row = next(
        r
        for r in ranking_for_period(scope=cast.tree.city, kind="department", period=SEPTEMBER)
        if r.unit_id == d1.pk
    )
    assert row.department is not None
    assert row.department.rating_weight == pytest.approx(0.3)
    assert row.score == pytest.approx(0.7 * 100 + 0.3 * 75)


def test_the_floor_holds_whatever_weight_is_configured(cast, departments, settings):
    d1, _d2 = departments
    settings.ASSESSMENT_DEFAULTS = {
        "rating_weight": 0.2,
        "rating_weight_floor": 0.5,
    }  # a weight under its floor
    row = next(
        r
        for r in ranking_for_period(scope=cast.tree.city, kind="department", period=SEPTEMBER)
        if r.unit_id == d1.pk
    )
    assert row.department is not None
    assert row.department.rating_weight == pytest.approx(0.5)
    assert row.score == pytest.approx(0.5 * 100 + 0.5 * 75)


def test_the_database_refuses_a_stored_weight_below_its_floor(cast, departments, city_admin):
    from django.db import IntegrityError, transaction

    from assessment.models import AssessmentConfig

    assessment_config_set(
        actor=city_admin, city=cast.tree.city, now=at(9, 26), changes={"basically_factor": "0.9"}
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentConfig.objects.update(rating_weight_floor="0.5")


def test_the_department_ranking_widget_query_budget(cast, departments):
    with CaptureQueriesContext(connection) as ctx:
        ranking_for_period(scope=cast.tree.city, kind="department", period=SEPTEMBER)
    # factors, departments, counts per unit, their departments, department map, whistle ratings
    # ×2 months, evaluations
    assert len(ctx.captured_queries) == 8
