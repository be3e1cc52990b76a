"""The assessment API over HTTP: rankings, unit rates, appeals (create, rule, list), warnings,
factors, evaluations and the briefing download — success, Chinese errors, 403/404/409/422."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from assessment.briefing import briefing_issue
from assessment.metrics import Period
from assessment.models import Appeal
from assessment.rollups import rollup_catch_up
from assessment.services import early_warning_record
from assessment.tests.factories import HOUR, handled_order
from core.models import AuditEvent
from orders.choices import Satisfaction
from orders.models import Callback
from orgs.tests.factories import UserFactory

BASE = "/api/v1/assessment"


@pytest.fixture
def history(cast, now):
    """September: one satisfied order in 东华, one dissatisfied in 西长; rolled up."""
    good = handled_order(cast, now)
    bad = handled_order(
        cast,
        now,
        grid=cast.tree.other_grid,
        satisfaction=Satisfaction.DISSATISFIED,
        resolved=False,
        close=True,
    )
    rollup_catch_up(now=now)
    return good, bad


def test_rankings_of_streets_for_a_leader(cast, api, history, city_leader):
    r = api(city_leader).get(f"{BASE}/rankings", scope=cast.tree.city.pk, kind="street", month="2025-09")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["period"]["label"] == "2025年9月" and body["previous_period"]["month"] == "2025-08"
    assert [(row["unit"]["name"], row["rank"]) for row in body["rows"]] == [("东华街道", 1), ("西长街道", 2)]
    assert body["rows"][0]["rates"]["satisfaction"] == 1.0
    assert body["rows"][0]["rank_change"] is None  # nothing last month


def test_department_rankings_carry_the_score_parts(cast, api, history, city_leader):
    r = api(city_leader).get(f"{BASE}/rankings", scope=cast.tree.city.pk, kind="department", month="2025-09")
    assert r.status_code == 200
    assert r.json()["rows"][0]["department"]["rating_weight"] == pytest.approx(1 / 3, abs=1e-6)


def test_rankings_are_refused_outside_the_callers_units(cast, api, history):
    r = api(cast.outsider).get(f"{BASE}/rankings", scope=cast.tree.district.pk)
    assert r.status_code == 403
    assert r.json() == {"detail": "您无权查看该范围的考评排名。", "code": "permission_denied"}
    loner = UserFactory.create(username="loner")
    assert api(loner).get(f"{BASE}/rankings", scope=cast.tree.city.pk).status_code == 403


def test_a_bad_month_is_a_chinese_422(cast, api, city_leader):
    r = api(city_leader).get(f"{BASE}/rankings", scope=cast.tree.city.pk, month="2025-13")
    assert r.status_code == 422
    assert "月份格式" in r.json()["detail"]
    r = api(city_leader).get(f"{BASE}/rankings", scope=cast.tree.city.pk, kind="province")
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


def test_unit_rates_for_the_street_secretary(cast, api, history, street_secretary):
    r = api(street_secretary).get(f"{BASE}/units/{cast.tree.street.pk}/rates", month="2025-09")
    assert r.status_code == 200
    body = r.json()
    assert body["territorial"]["score"] == 100.0 and body["territorial"]["valid"] == 1
    assert body["factors"]["basically_factor"] == 0.9
    r = api(street_secretary).get(f"{BASE}/units/{cast.tree.other_street.pk}/rates", month="2025-09")
    assert r.status_code == 403 and r.json()["detail"] == "您无权查看该单位的考评数据。"


# --- appeals ---------------------------------------------------------------------------------------------


def _appeal_body(cast, order, **extra):
    body = {
        "callback_id": Callback.objects.get(order=order).pk,
        "unit_id": cast.tree.other_district.pk,
        "reason": "cannot_satisfy_by_law",
        "text": "诉求人要求的补偿无法律依据",
    }
    body.update(extra)
    return body


def test_appeal_create_rule_and_list(cast, api, history, now, time_machine):
    _good, bad = history
    time_machine.move_to(now + 8 * HOUR)
    created = api(cast.outsider).post(f"{BASE}/appeals", _appeal_body(cast, bad))
    assert created.status_code == 201, created.content
    appeal = created.json()
    assert appeal["status"] == "pending" and appeal["reason_label"] == "依法依规无法满足"
    listed = api(cast.outsider).get(f"{BASE}/appeals", status="pending")
    assert [a["id"] for a in listed.json()] == [appeal["id"]]
    assert api(cast.district_handler).get(f"{BASE}/appeals").json() == []  # not theirs
    ruled = api(cast.city_dispatcher).post(
        f"{BASE}/appeals/{appeal['id']}/rule", {"decision": "uphold", "ruling": "经核实属实", "version": 0}
    )
    assert ruled.status_code == 200 and ruled.json()["status"] == "upheld"
    again = api(cast.city_dispatcher).post(
        f"{BASE}/appeals/{appeal['id']}/rule", {"decision": "reject", "ruling": "改判", "version": 1}
    )
    assert again.status_code == 409 and "不能再次裁定" in again.json()["detail"]


def test_a_stale_ruling_is_409(cast, api, history, now, time_machine):
    _good, bad = history
    time_machine.move_to(now + 8 * HOUR)
    appeal = api(cast.outsider).post(f"{BASE}/appeals", _appeal_body(cast, bad)).json()
    Appeal.objects.filter(pk=appeal["id"]).update(version=3)
    r = api(cast.city_dispatcher).post(
        f"{BASE}/appeals/{appeal['id']}/rule", {"decision": "uphold", "ruling": "成立", "version": 0}
    )
    assert r.status_code == 409 and r.json()["code"] == "stale_transition"


def test_an_appeal_outside_the_callers_sight_is_404(cast, api, history, now, time_machine):
    _good, bad = history
    time_machine.move_to(now + 8 * HOUR)
    appeal = api(cast.outsider).post(f"{BASE}/appeals", _appeal_body(cast, bad)).json()
    r = api(cast.street_handler).post(
        f"{BASE}/appeals/{appeal['id']}/rule", {"decision": "uphold", "ruling": "成立", "version": 0}
    )
    assert r.status_code == 404


def test_appeal_errors_are_chinese(cast, api, history, now, time_machine):
    good, bad = history
    time_machine.move_to(now + 8 * HOUR)
    r = api(cast.outsider).post(f"{BASE}/appeals", _appeal_body(cast, good))  # 东华's order: not 西城's
    assert r.status_code == 422 and "不是该工单的考评对象" in r.json()["detail"]
    r = api(cast.street_handler).post(f"{BASE}/appeals", _appeal_body(cast, bad))
    assert r.status_code == 403 and r.json()["detail"] == "您没有以该单位名义申诉的权限。"
    r = api(cast.outsider).post(f"{BASE}/appeals", _appeal_body(cast, bad, reason="whatever", text=""))
    assert r.status_code == 422 and {e["loc"][-1] for e in r.json()["errors"]} == {"reason", "text"}


# --- warnings, factors, evaluations --------------------------------------------------------------------------


def test_early_warnings_of_the_scope(cast, api, now, city_leader):
    early_warning_record(
        area=cast.tree.street,
        item=cast.item,
        day=now.date(),
        level="orange",
        observed=9,
        expected=3,
        rule="spike",
        episode_key="e1",
        now=now,
    )
    r = api(city_leader).get(f"{BASE}/early-warnings", scope=cast.tree.city.pk)
    assert r.status_code == 200
    assert [(w["area"]["name"], w["level"], w["item_name"]) for w in r.json()] == [
        ("东华街道", "orange", "施工噪音")
    ]
    assert api(cast.outsider).get(f"{BASE}/early-warnings", scope=cast.tree.street.pk).status_code == 403


def test_factors_read_and_set(cast, api, city_business_admin, street_secretary):
    city = cast.tree.city.pk
    r = api(city_business_admin).get(f"{BASE}/config/{city}")
    assert r.status_code == 200 and r.json()["version"] is None
    r = api(city_business_admin).post(f"{BASE}/config/{city}", {"basically_factor": 0.8})
    assert r.status_code == 200 and r.json()["basically_factor"] == 0.8 and r.json()["version"] == 1
    r = api(city_business_admin).post(f"{BASE}/config/{city}", {"basically_factor": 0.7, "version": 0})
    assert r.status_code == 409
    r = api(city_business_admin).post(f"{BASE}/config/{city}", {"rating_weight_floor": 0.3})
    assert r.status_code == 403 and "系统管理员" in r.json()["detail"]
    r = api(street_secretary).post(f"{BASE}/config/{city}", {"basically_factor": 0.7})
    assert r.status_code == 403
    r = api(city_business_admin).post(f"{BASE}/config/{city}", {"response_weight": 0.5})
    assert r.status_code == 422 and "权重之和须为1" in r.json()["detail"]


def test_a_street_evaluates_a_department(cast, api, street_secretary):
    body = {
        "rater_unit_id": cast.tree.street.pk,
        "unit_id": cast.tree.department.pk,
        "month": "2025-09",
        "score": 88,
    }
    r = api(street_secretary).post(f"{BASE}/evaluations", body)
    assert r.status_code == 201 and r.json()["score"] == 88
    r = api(street_secretary).post(f"{BASE}/evaluations", body)
    assert r.status_code == 422 and r.json()["detail"] == "本月已评价过该部门。"


# --- the briefing ----------------------------------------------------------------------------------------------


def test_the_briefing_downloads_as_a_workbook_and_is_audited(
    cast, api, history, city_leader, now, time_machine
):
    _good, bad = history
    time_machine.move_to(now + 8 * HOUR)
    api(cast.outsider).post(f"{BASE}/appeals", _appeal_body(cast, bad))
    r = api(city_leader).get(f"{BASE}/briefing", scope=cast.tree.city.pk, month="2025-09")
    assert r.status_code == 200, r.content
    assert r["X-Minhu-Briefing"] == "live"
    assert "attachment; filename*=UTF-8''" in r["Content-Disposition"]
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["概况", "街道排名", "部门排名", "超期工单", "申诉", "高频问题", "计数规则"]
    streets = [row for row in book["街道排名"].iter_rows(min_row=2, values_only=True)]
    assert [(row[0], row[1]) for row in streets] == [(1, "东华街道"), (2, "西长街道")]
    appeals = [row for row in book["申诉"].iter_rows(min_row=2, values_only=True)]
    assert len(appeals) == 1 and appeals[0][1] == "西城区" and appeals[0][6] == "待裁定"
    assert AuditEvent.objects.filter(event_type="assessment.briefing_export", actor=city_leader).count() == 1
    briefing_issue(scope=cast.tree.city, period=Period.month(2025, 9), now=now)
    issued = api(city_leader).get(f"{BASE}/briefing", scope=cast.tree.city.pk, month="2025-09")
    assert issued["X-Minhu-Briefing"] == "issued"
    loner = UserFactory.create(username="loner")
    assert api(loner).get(f"{BASE}/briefing", scope=cast.tree.city.pk).status_code == 403
