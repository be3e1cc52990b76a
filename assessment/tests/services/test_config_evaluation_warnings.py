"""The city factors (audited, compare-and-set, floor), the streets' evaluation of departments, and
the early-warning slot's writer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from assessment.choices import WarningLevel
from assessment.metrics import Period
from assessment.models import AssessmentConfig, DepartmentEvaluation, EarlyWarning
from assessment.selectors import factors_for
from assessment.services import (
    assessment_config_set,
    department_evaluation_submit,
    early_warning_claim_notification,
    early_warning_record,
)
from core.models import AuditEvent
from orders.errors import InvalidInput, StaleTransition

# --- factors -------------------------------------------------------------------------------------------


def test_without_a_row_a_city_uses_the_defaults(cast):
    f = factors_for(cast.tree.street)
    assert (f.response_weight, f.resolution_weight, f.satisfaction_weight, f.basically_factor) == (
        0.1,
        0.5,
        0.4,
        0.9,
    )
    assert f.rating_weight == pytest.approx(1 / 3)


def test_settings_override_the_code_defaults(cast, settings):
    settings.ASSESSMENT_DEFAULTS = {"basically_factor": 0.8}
    assert factors_for(cast.tree.grid).basically_factor == pytest.approx(0.8)


def test_a_business_administrator_sets_the_weights_of_the_city_and_the_change_is_audited(
    cast, now, city_business_admin
):
    row = assessment_config_set(
        actor=city_business_admin,
        city=cast.tree.city,
        now=now,
        changes={"response_weight": "0.2", "resolution_weight": "0.4", "satisfaction_weight": "0.4"},
    )
    assert row.version == 1 and row.response_weight == Decimal("0.2")
    f = factors_for(cast.tree.community)  # every unit of the city
    assert (f.response_weight, f.resolution_weight) == (0.2, 0.4)
    audit = AuditEvent.objects.filter(event_type="assessment.config_change").latest("seq")
    assert audit.before is not None and audit.after is not None
    assert audit.before["response_weight"] == "0.100000" and audit.after["response_weight"] == "0.200000"
    assert audit.actor == city_business_admin


def test_the_weights_must_add_up_to_one(cast, now, city_business_admin):
    with pytest.raises(InvalidInput, match="权重之和须为1"):
        assessment_config_set(
            actor=city_business_admin, city=cast.tree.city, now=now, changes={"response_weight": "0.3"}
        )
    assert not AssessmentConfig.objects.exists()  # nothing written: the whole call rolled back


def test_the_rating_weight_cannot_go_below_the_floor(cast, now, city_business_admin):
    with pytest.raises(InvalidInput, match="不能低于下限"):
        assessment_config_set(
            actor=city_business_admin, city=cast.tree.city, now=now, changes={"rating_weight": "0.3"}
        )


def test_only_the_system_administrator_moves_the_floor(cast, now, city_admin, city_business_admin):
    with pytest.raises(PermissionDenied):
        assessment_config_set(
            actor=city_business_admin, city=cast.tree.city, now=now, changes={"rating_weight_floor": "0.3"}
        )
    assessment_config_set(
        actor=city_admin,
        city=cast.tree.city,
        now=now,
        changes={"rating_weight_floor": "0.3", "rating_weight": "0.3"},
    )
    assert factors_for(cast.tree.city).effective_rating_weight == pytest.approx(0.3)


def test_others_cannot_configure(cast, now, street_secretary):
    with pytest.raises(PermissionDenied):
        assessment_config_set(
            actor=street_secretary, city=cast.tree.city, now=now, changes={"basically_factor": "0.8"}
        )
    with pytest.raises(PermissionDenied):
        assessment_config_set(
            actor=cast.city_dispatcher, city=cast.tree.city, now=now, changes={"basically_factor": "0.8"}
        )


def test_a_stale_version_is_refused(cast, now, city_admin):
    assessment_config_set(actor=city_admin, city=cast.tree.city, now=now, changes={"basically_factor": "0.8"})
    with pytest.raises(StaleTransition):
        assessment_config_set(
            actor=city_admin, city=cast.tree.city, now=now, changes={"basically_factor": "0.7"}, version=0
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"basically_factor": "1.5"}, "0到1之间"),
        ({"basically_factor": "abc"}, "须为数字"),
        ({"appeal_window_days": 0}, "申诉期限"),
        ({"bonus": 1}, "未知的考评参数"),
    ],
)
def test_bad_factors_are_refused(cast, now, city_admin, changes, message):
    with pytest.raises(InvalidInput, match=message):
        assessment_config_set(actor=city_admin, city=cast.tree.city, now=now, changes=changes)


def test_factors_are_set_per_city_not_per_district(cast, now, city_admin):
    with pytest.raises(InvalidInput, match="按城市设置"):
        assessment_config_set(
            actor=city_admin, city=cast.tree.district, now=now, changes={"basically_factor": "0.8"}
        )


# --- the streets' evaluation of departments ---------------------------------------------------------------


def test_a_street_secretary_evaluates_a_department_once_a_month(cast, now, street_secretary):
    period = Period.month(2025, 9)
    row = department_evaluation_submit(
        actor=street_secretary,
        rater_unit=cast.tree.street,
        unit=cast.tree.department,
        period=period,
        score=85,
        now=now,
        comment="响应及时",
    )
    assert row.period == dt.date(2025, 9, 1) and row.score == 85
    assert (
        AuditEvent.objects.filter(
            event_type="assessment.department_evaluation", object_id=str(row.pk)
        ).count()
        == 1
    )
    with pytest.raises(InvalidInput, match="本月已评价"):
        department_evaluation_submit(
            actor=street_secretary,
            rater_unit=cast.tree.street,
            unit=cast.tree.department,
            period=period,
            score=90,
            now=now,
        )
    assert DepartmentEvaluation.objects.count() == 1


def test_only_the_streets_secretary_or_leader_evaluates(cast, now):
    with pytest.raises(PermissionDenied):
        department_evaluation_submit(
            actor=cast.street_handler,
            rater_unit=cast.tree.street,
            unit=cast.tree.department,
            period=Period.month(2025, 9),
            score=80,
            now=now,
        )


@pytest.mark.parametrize(
    ("score", "unit_name", "message"), [(101, "department", "0至100"), (80, "district", "只能评价部门")]
)
def test_bad_evaluations_are_refused(cast, now, street_secretary, score, unit_name, message):
    with pytest.raises(InvalidInput, match=message):
        department_evaluation_submit(
            actor=street_secretary,
            rater_unit=cast.tree.street,
            unit=getattr(cast.tree, unit_name),
            period=Period.month(2025, 9),
            score=score,
            now=now,
        )


def test_a_future_month_cannot_be_evaluated(cast, now, street_secretary):
    with pytest.raises(InvalidInput, match="尚未开始"):
        department_evaluation_submit(
            actor=street_secretary,
            rater_unit=cast.tree.street,
            unit=cast.tree.department,
            period=Period.month(2025, 11),
            score=80,
            now=now,
        )


# --- early warnings ------------------------------------------------------------------------------------------


def _record(cast, now, level=WarningLevel.YELLOW, observed=12.0):
    return early_warning_record(
        area=cast.tree.street,
        item=cast.item,
        day=now.date(),
        level=level,
        observed=observed,
        expected=4.0,
        rule="spike_3x",
        episode_key=f"spike:{cast.tree.street.pk}:{cast.item.pk}:2025-09-26",
        now=now,
    )


def test_a_warning_is_recorded_once_per_episode(cast, now):
    first, created = _record(cast, now)
    again, changed = _record(cast, now)
    assert created and not changed and first.pk == again.pk
    assert EarlyWarning.objects.count() == 1


def test_a_higher_level_in_the_same_episode_raises_it_and_is_announced_again(cast, now):
    warning, _ = _record(cast, now)
    assert early_warning_claim_notification(warning_id=warning.pk) is True
    assert early_warning_claim_notification(warning_id=warning.pk) is False  # exactly once
    raised, changed = _record(cast, now, level=WarningLevel.RED, observed=30.0)
    assert changed and raised.level == WarningLevel.RED and raised.notified is False
    lower, changed = _record(cast, now, level=WarningLevel.ORANGE)
    assert not changed and lower.level == WarningLevel.RED


def test_bad_warnings_are_refused(cast, now):
    with pytest.raises(InvalidInput):
        early_warning_record(
            area=cast.tree.street,
            day=now.date(),
            level="purple",
            observed=1,
            expected=1,
            rule="r",
            episode_key="k",
            now=now,
        )
    with pytest.raises(InvalidInput):
        early_warning_record(
            area=cast.tree.street,
            day=now.date(),
            level="red",
            observed=float("nan"),
            expected=1,
            rule="r",
            episode_key="k",
            now=now,
        )
