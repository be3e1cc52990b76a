"""The whistle API over HTTP: lists, detail, every action, and the Chinese error mapping."""

from __future__ import annotations

import datetime as dt

import pytest

from whistles.choices import SummonsStatus, TaskStatus, WhistleStatus
from whistles.models import DepartmentRating, Summons, Whistle
from whistles.tests.conftest import HOUR
from whistles.tests.factories import SITE, blow, summons_of

BASE = "/api/v1/whistles"


def blow_body(cast, **changes):
    body = {
        "unit_id": cast.tree.street.pk,
        "type": "urgent",
        "title": "东华路燃气管道泄漏",
        "description": "需城管、住建部门负责人立即到场。",
        "summon_unit_ids": [cast.dept.pk, cast.dept2.pk],
        "address": "东华路12号",
        "lon": SITE[0],
        "lat": SITE[1],
    }
    body.update(changes)
    return body


# --- auth --------------------------------------------------------------------------------------


def test_without_a_token_the_api_answers_401(client, cast, now):
    assert client.get(f"{BASE}/").status_code == 401


# --- blow ----------------------------------------------------------------------------------------


def test_blow_returns_the_detail(api, cast, now):
    response = api(cast.secretary).post(f"{BASE}/", blow_body(cast))

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["type_label"] == "急哨"
    assert data["status"] == "open"
    assert data["point"] == {"lon": SITE[0], "lat": SITE[1], "crs": "WGS-84"}
    assert {s["unit"]["name"] for s in data["summonses"]} == {"市城管局", "市住建委"}
    assert dt.datetime.fromisoformat(data["summonses"][0]["acknowledge_by"]) == now + dt.timedelta(minutes=30)
    assert [e["type"] for e in data["events"]] == ["blow"]
    assert data["can_manage"] is True


def test_blow_converts_gcj02_to_wgs84(api, cast, now):
    from orgs.geo import from_wgs84

    lon, lat = from_wgs84(SITE[0], SITE[1], "gcj02")
    response = api(cast.secretary).post(f"{BASE}/", blow_body(cast, lon=lon, lat=lat, coord_system="gcj02"))

    whistle = Whistle.objects.get(pk=response.json()["id"])
    assert whistle.lon == pytest.approx(SITE[0], abs=1e-6)
    assert whistle.lat == pytest.approx(SITE[1], abs=1e-6)


def test_blow_by_a_department_is_403_in_chinese(api, cast, now):
    response = api(cast.dept_handler).post(f"{BASE}/", blow_body(cast))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "无权" in response.json()["detail"]


def test_a_long_whistle_without_meeting_is_422_with_its_field(api, cast, now):
    response = api(cast.secretary).post(f"{BASE}/", blow_body(cast, type="long"))

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["detail"] == "长哨须填写会议时间。"
    assert body["errors"][0]["loc"] == ["body", "meeting_at"]


def test_a_naive_meeting_time_is_refused(api, cast, now):
    response = api(cast.secretary).post(
        f"{BASE}/", blow_body(cast, type="long", meeting_at="2025-03-04T09:00:00", meeting_place="会议室")
    )

    assert response.status_code == 422
    assert Whistle.objects.count() == 0


def test_a_long_whistle_with_meeting(api, cast, now):
    response = api(cast.secretary).post(
        f"{BASE}/",
        blow_body(cast, type="long", meeting_at="2025-03-04T09:00:00+08:00", meeting_place="街道会议室"),
    )

    assert response.status_code == 201
    arrive_by = dt.datetime.fromisoformat(response.json()["summonses"][0]["arrive_by"])
    assert arrive_by == now + dt.timedelta(days=1)


# --- reads -----------------------------------------------------------------------------------------


def test_the_board_lists_open_whistles_in_scope(api, cast, now):
    whistle = blow(cast, now)
    west = blow(cast, now, actor=cast.other_secretary, unit=cast.tree.other_street, units=[cast.dept])

    mine = api(cast.secretary).get(f"{BASE}/").json()
    west_district = api(cast.outsider).get(f"{BASE}/").json()  # a handler of 西城区 holds its streets
    summoned = api(cast.dept_handler).get(f"{BASE}/").json()

    assert [w["id"] for w in mine] == [whistle.pk]
    assert mine[0]["late"] == 0 and mine[0]["reported"] == 0
    assert [w["id"] for w in west_district] == [west.pk]
    assert {w["id"] for w in summoned} == {whistle.pk, west.pk}


def test_the_inbox_lists_the_departments_summonses(api, cast, now):
    whistle = blow(cast, now)

    items = api(cast.dept_handler).get(f"{BASE}/summons").json()

    assert [(i["whistle"]["id"], i["unit"]["name"]) for i in items] == [(whistle.pk, "市城管局")]


def test_the_detail_of_a_foreign_whistle_is_403(api, cast, now):
    whistle = blow(cast, now)

    response = api(cast.outsider).get(f"{BASE}/{whistle.pk}")
    assert response.status_code == 403
    assert response.json()["detail"] == "您无权查看该吹哨。"
    assert api(cast.secretary).get(f"{BASE}/999999").status_code == 404


def test_options_name_the_units_one_may_blow_for(api, cast, now):
    options = api(cast.secretary).get(f"{BASE}/options").json()

    assert [o["unit"]["name"] for o in options] == ["东华街道"]
    names = {u["name"] for u in options[0]["summonable"]}
    assert {"市城管局", "市住建委", "东城区市场监管局", "城管东华执法队"} <= names
    assert "西城区市场监管局" not in names


# --- actions ---------------------------------------------------------------------------------------


def test_acknowledge_and_check_in(api, cast, now):
    summons = summons_of(blow(cast, now), cast.dept)
    client = api(cast.dept_handler)

    ack = client.post(f"{BASE}/summons/{summons.pk}/acknowledge", {"note": "出发"})
    assert ack.status_code == 200, ack.content
    assert ack.json()["event"]["type_label"] == "响应"
    again = client.post(f"{BASE}/summons/{summons.pk}/acknowledge", {})
    assert again.status_code == 409
    assert again.json()["code"] == "transition_not_allowed"

    checked = client.post(
        f"{BASE}/summons/{summons.pk}/check-in", {"attendees": ["王局长"], "lon": SITE[0], "lat": SITE[1]}
    )
    assert checked.status_code == 200, checked.content
    summons.refresh_from_db()
    assert summons.status == SummonsStatus.CHECKED_IN


def test_a_stale_version_is_409(api, cast, now):
    summons = summons_of(blow(cast, now), cast.dept)

    response = api(cast.dept_handler).post(f"{BASE}/summons/{summons.pk}/acknowledge", {"version": 3})

    assert response.status_code == 409
    assert response.json()["code"] == "stale_transition"


def test_another_department_cannot_acknowledge(api, cast, now):
    summons = summons_of(blow(cast, now), cast.dept)

    response = api(cast.dept2_handler).post(f"{BASE}/summons/{summons.pk}/acknowledge", {})

    assert response.status_code == 403
    assert response.json()["detail"] == "您无权处理该召集。"


def test_check_in_with_half_a_point_is_422(api, cast, now):
    summons = summons_of(blow(cast, now), cast.dept)

    response = api(cast.dept_handler).post(
        f"{BASE}/summons/{summons.pk}/check-in", {"attendees": ["王"], "lon": SITE[0]}
    )

    assert response.status_code == 422
    assert response.json()["detail"] == "经度和纬度须同时提供。"


def test_assign_and_reply_to_a_task(api, cast, now):
    whistle = blow(cast, now)
    summons = summons_of(whistle, cast.dept)
    due = (now + 3 * HOUR).isoformat()

    assigned = api(cast.secretary).post(
        f"{BASE}/{whistle.pk}/tasks", {"summons_id": summons.pk, "description": "封控现场", "due_at": due}
    )
    assert assigned.status_code == 201, assigned.content
    task_id = assigned.json()["task"]["id"]

    denied = api(cast.dept2_handler).post(f"{BASE}/tasks/{task_id}/reply", {"reply": "x"})
    assert denied.status_code == 403
    replied = api(cast.dept_handler).post(f"{BASE}/tasks/{task_id}/reply", {"reply": "已封控"})
    assert replied.status_code == 200
    assert summons.tasks.get().status == TaskStatus.REPLIED


def test_a_task_for_a_unit_not_summoned_is_422(api, cast, now):
    whistle = blow(cast, now)
    other = summons_of(blow(cast, now, units=[cast.district_dept]), cast.district_dept)

    response = api(cast.secretary).post(
        f"{BASE}/{whistle.pk}/tasks",
        {"summons_id": other.pk, "description": "x", "due_at": (now + HOUR).isoformat()},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "summons_id"]


def test_close_with_ratings(api, cast, now):
    whistle = blow(cast, now)
    ratings = [
        {"summons_id": s.pk, "timeliness": 4, "effectiveness": 4, "attitude": 5, "comment": "配合"}
        for s in Summons.objects.filter(whistle=whistle)
    ]

    missing = api(cast.secretary).post(
        f"{BASE}/{whistle.pk}/close", {"result": "已处置", "ratings": ratings[:1]}
    )
    assert missing.status_code == 422
    assert "请为每个被召集部门评价" in missing.json()["detail"]
    out_of_range = api(cast.secretary).post(
        f"{BASE}/{whistle.pk}/close",
        {"result": "已处置", "ratings": [{**ratings[0], "timeliness": 6}, ratings[1]]},
    )
    assert out_of_range.status_code == 422

    closed = api(cast.secretary).post(f"{BASE}/{whistle.pk}/close", {"result": "已处置", "ratings": ratings})
    assert closed.status_code == 200, closed.content
    whistle.refresh_from_db()
    assert whistle.status == WhistleStatus.CLOSED
    assert DepartmentRating.objects.count() == 2
    detail = api(cast.secretary).get(f"{BASE}/{whistle.pk}").json()
    assert {s["status"] for s in detail["summonses"]} == {"not_reported"}
    assert detail["summonses"][0]["rating"]["attitude"] == 5


def test_close_by_a_department_is_403(api, cast, now):
    whistle = blow(cast, now)

    response = api(cast.dept_handler).post(f"{BASE}/{whistle.pk}/close", {"result": "x", "ratings": []})

    assert response.status_code == 403


def test_cancel(api, cast, now):
    whistle = blow(cast, now)

    stale = api(cast.secretary).post(f"{BASE}/{whistle.pk}/cancel", {"reason": "误报", "version": 7})
    assert stale.status_code == 409
    response = api(cast.secretary).post(f"{BASE}/{whistle.pk}/cancel", {"reason": "误报"})
    assert response.status_code == 200
    assert response.json()["event"]["type"] == "cancel"
    assert api(cast.secretary).post(f"{BASE}/{whistle.pk}/cancel", {"reason": "误报"}).status_code == 409


def test_the_openapi_schema_lists_the_whistle_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    assert {f"{BASE}/", f"{BASE}/summons", f"{BASE}/{{whistle_id}}/close"} <= set(paths)
