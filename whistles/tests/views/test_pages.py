"""The whistle pages: scope (a department sees only its summonses, outsiders get 403), every form
with its errors beside the fields and nothing typed lost, htmx answers in place."""

from __future__ import annotations

import re

import pytest

from whistles import services
from whistles.choices import SummonsStatus, TaskStatus, WhistleStatus
from whistles.models import DepartmentRating, Summons, Whistle, WhistleTask
from whistles.tests.conftest import HOUR
from whistles.tests.factories import SITE, blow, summons_of

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def whistle(cast, now):
    return blow(cast, now)


# --- board -----------------------------------------------------------------------------------------


def test_the_board_shows_the_streets_whistle_with_who_is_late(login, cast, now, whistle):
    response = login(cast.secretary).get("/whistles/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "东华路燃气管道泄漏" in html
    assert "市城管局" in html and "市住建委" in html
    assert "已报到 0 / 2" in html
    assert 'href="/whistles/new/"' in html


def test_the_board_of_an_outsider_does_not_list_it(login, cast, now, whistle):
    html = login(cast.outsider).get("/whistles/").content.decode()

    assert "东华路燃气管道泄漏" not in html
    assert "暂无吹哨" in html


def test_the_board_refreshes_as_a_fragment_for_htmx(login, cast, now, whistle):
    response = login(cast.secretary).get("/whistles/", **HTMX)

    html = response.content.decode()
    assert 'id="whistle-board"' in html
    assert "<html" not in html


def test_the_board_needs_a_login(client, whistle):
    response = client.get("/whistles/")

    assert response.status_code == 302
    assert "/login" in response["Location"]


# --- detail ----------------------------------------------------------------------------------------


def test_the_detail_shows_timeline_and_manager_forms(login, cast, now, whistle):
    html = login(cast.secretary).get(f"/whistles/{whistle.pk}/").content.decode()

    assert "时间线" in html and "吹哨" in html
    assert f'action="/whistles/{whistle.pk}/tasks/"' in html
    assert f'href="/whistles/{whistle.pk}/close/"' in html


def test_a_summoned_department_sees_its_own_card_on_the_detail(login, cast, now, whistle):
    html = login(cast.dept_handler).get(f"/whistles/{whistle.pk}/").content.decode()

    mine = summons_of(whistle, cast.dept)
    theirs = summons_of(whistle, cast.dept2)
    assert f'id="summons-{mine.pk}"' in html
    assert f'id="summons-{theirs.pk}"' not in html
    assert f"/whistles/{whistle.pk}/tasks/" not in html  # not the manager


@pytest.mark.parametrize("who", ["outsider", "other_secretary", "station_handler"])
def test_the_detail_is_403_outside_the_scope(login, cast, now, whistle, who):
    assert login(getattr(cast, who)).get(f"/whistles/{whistle.pk}/").status_code == 403


def test_a_missing_whistle_is_404(login, cast, now):
    assert login(cast.secretary).get("/whistles/999999/").status_code == 404


# --- inbox -----------------------------------------------------------------------------------------


def test_the_inbox_holds_only_the_departments_summons(login, cast, now, whistle):
    html = login(cast.dept_handler).get("/whistles/inbox/").content.decode()

    assert f'id="summons-{summons_of(whistle, cast.dept).pk}"' in html
    assert f'id="summons-{summons_of(whistle, cast.dept2).pk}"' not in html


def test_the_inbox_of_a_street_is_empty(login, cast, now, whistle):
    html = login(cast.secretary).get("/whistles/inbox/").content.decode()

    assert "暂无待报到的吹哨" in html


def test_acknowledge_over_htmx_swaps_the_card(login, cast, now, whistle):
    summons = summons_of(whistle, cast.dept)

    response = login(cast.dept_handler).post(
        f"/whistles/summons/{summons.pk}/acknowledge/", {f"ack{summons.pk}-note": "出发"}, **HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<article")
    assert "已响应" in html
    summons.refresh_from_db()
    assert summons.status == SummonsStatus.ACKNOWLEDGED


def test_acknowledge_without_htmx_redirects_back(login, cast, now, whistle):
    summons = summons_of(whistle, cast.dept)

    response = login(cast.dept_handler).post(
        f"/whistles/summons/{summons.pk}/acknowledge/", {"next": f"/whistles/{whistle.pk}/"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/whistles/{whistle.pk}/"


def test_acknowledging_for_another_department_is_403(login, cast, now, whistle):
    summons = summons_of(whistle, cast.dept)

    response = login(cast.dept2_handler).post(f"/whistles/summons/{summons.pk}/acknowledge/", {}, **HTMX)

    assert response.status_code == 403
    summons.refresh_from_db()
    assert summons.status == SummonsStatus.SUMMONED


def test_acknowledging_twice_says_why_on_the_card(login, cast, now, whistle):
    summons = summons_of(whistle, cast.dept)
    stale_page = login(cast.dept_handler)
    services.summons_acknowledge(summons=summons, actor=cast.dept_handler, now=now)

    response = stale_page.post(f"/whistles/summons/{summons.pk}/acknowledge/", {})

    assert response.status_code == 409
    assert "不能响应" in response.content.decode()


def test_a_check_in_without_names_keeps_what_was_typed(login, cast, now, whistle):
    summons = summons_of(whistle, cast.dept)
    p = f"in{summons.pk}"

    response = login(cast.dept_handler).post(
        f"/whistles/summons/{summons.pk}/check-in/",
        {f"{p}-attendees": " ", f"{p}-lon": str(SITE[0]), f"{p}-lat": str(SITE[1]), f"{p}-note": "已到东门"},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps the re-rendered card
    assert "请填写到场人员姓名" in html
    assert "已到东门" in html
    assert str(SITE[0]) in html
    summons.refresh_from_db()
    assert summons.status == SummonsStatus.SUMMONED


def test_a_check_in_without_a_place_shows_the_services_message_beside_lon(login, cast, now, whistle):
    summons = summons_of(whistle, cast.dept)
    p = f"in{summons.pk}"

    response = login(cast.dept_handler).post(
        f"/whistles/summons/{summons.pk}/check-in/", {f"{p}-attendees": "王局长、李科长"}
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="id_{p}-lon_error"' in html
    assert "现场报到须提供位置" in html
    assert "王局长、李科长" in html


def test_check_in_on_site(login, cast, now, whistle):
    summons = summons_of(whistle, cast.dept)
    p = f"in{summons.pk}"

    response = login(cast.dept_handler).post(
        f"/whistles/summons/{summons.pk}/check-in/",
        {f"{p}-attendees": "王局长，李科长", f"{p}-lon": str(SITE[0]), f"{p}-lat": str(SITE[1])},
        **HTMX,
    )

    assert response.status_code == 200
    summons.refresh_from_db()
    assert summons.status == SummonsStatus.CHECKED_IN
    assert summons.attendees == ["王局长", "李科长"]


def test_reply_to_a_task_from_the_inbox(login, cast, now, whistle):
    summons = summons_of(whistle, cast.dept)
    task = services.whistle_task_assign(
        summons=summons, actor=cast.secretary, now=now, description="封控现场", due_at=now + 2 * HOUR
    )
    client = login(cast.dept_handler)

    empty = client.post(f"/whistles/tasks/{task.pk}/reply/", {f"task{task.pk}-reply": ""}, **HTMX)
    assert "请填写答复" in empty.content.decode()
    done = client.post(f"/whistles/tasks/{task.pk}/reply/", {f"task{task.pk}-reply": "已封控"}, **HTMX)

    assert done.status_code == 200
    task.refresh_from_db()
    assert (task.status, task.reply) == (TaskStatus.REPLIED, "已封控")


def test_another_department_cannot_reply(login, cast, now, whistle):
    task = services.whistle_task_assign(
        summons=summons_of(whistle, cast.dept),
        actor=cast.secretary,
        now=now,
        description="x",
        due_at=now + HOUR,
    )

    response = login(cast.dept2_handler).post(
        f"/whistles/tasks/{task.pk}/reply/", {f"task{task.pk}-reply": "x"}
    )

    assert response.status_code == 403


# --- manager actions on the detail ----------------------------------------------------------------


def test_assign_a_task_from_the_detail(login, cast, now, whistle):
    summons = summons_of(whistle, cast.dept)

    response = login(cast.secretary).post(
        f"/whistles/{whistle.pk}/tasks/",
        {"summons": summons.pk, "description": "书面说明", "due_at": "2025-03-03T15:00"},
    )

    assert response.status_code == 302
    task = WhistleTask.objects.get()
    assert task.summons == summons
    assert task.due_at == now + 6 * HOUR  # 15:00 Asia/Shanghai


def test_a_task_due_in_the_past_keeps_the_form(login, cast, now, whistle):
    summons = summons_of(whistle, cast.dept)

    response = login(cast.secretary).post(
        f"/whistles/{whistle.pk}/tasks/",
        {"summons": summons.pk, "description": "书面说明", "due_at": "2025-03-03T08:00"},
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "完成时限须晚于当前时间" in html
    assert "书面说明" in html
    assert not WhistleTask.objects.exists()


def test_a_department_cannot_assign_tasks(login, cast, now, whistle):
    response = login(cast.dept_handler).post(
        f"/whistles/{whistle.pk}/tasks/", {"summons": summons_of(whistle, cast.dept).pk, "description": "x"}
    )

    assert response.status_code == 403


def test_cancel_from_the_detail(login, cast, now, whistle):
    client = login(cast.secretary)

    missing = client.post(f"/whistles/{whistle.pk}/cancel/", {"reason": ""})
    assert missing.status_code == 422
    done = client.post(f"/whistles/{whistle.pk}/cancel/", {"reason": "已由燃气公司处置"})

    assert done.status_code == 302
    whistle.refresh_from_db()
    assert whistle.status == WhistleStatus.CANCELLED


# --- blow ------------------------------------------------------------------------------------------


def blow_post(cast, **changes):
    data = {
        "unit": cast.tree.street.pk,
        "type": "urgent",
        "title": "东华路井盖缺失",
        "description": "东华路与北街路口井盖缺失，需城管、住建到场。",
        "address": "东华路与北街路口",
        "lon": "",
        "lat": "",
        "coord_system": "wgs84",
        "summon_units": [cast.dept.pk, cast.dept2.pk],
    }
    data.update(changes)
    return data


def test_the_blow_form_for_a_secretary(login, cast, now):
    response = login(cast.secretary).get("/whistles/new/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "市城管局" in html and "东城区市场监管局" in html
    assert "西城区市场监管局" not in html


def test_the_blow_form_is_403_for_a_department(login, cast, now):
    assert login(cast.dept_handler).get("/whistles/new/").status_code == 403


def test_blowing_from_the_form(login, cast, now):
    response = login(cast.secretary).post("/whistles/new/", blow_post(cast))

    whistle = Whistle.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/whistles/{whistle.pk}/"
    assert whistle.summonses.count() == 2


def test_a_missing_title_is_shown_beside_it_and_the_rest_is_kept(login, cast, now):
    response = login(cast.secretary).post("/whistles/new/", blow_post(cast, title=""))

    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_title_error"' in html
    assert "东华路与北街路口井盖缺失，需城管、住建到场。" in html
    assert "checked" in html
    assert not Whistle.objects.exists()


def test_a_long_whistle_without_meeting_says_so_beside_the_meeting(login, cast, now):
    response = login(cast.secretary).post("/whistles/new/", blow_post(cast, type="long"))

    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_meeting_at_error"' in html
    assert "长哨须填写会议时间" in html
    assert "东华路井盖缺失" in html


def test_the_blow_form_preselects_orders_from_the_query(login, cast, now):
    from orders.tests.factories import make_item, make_order

    order = make_order(actor=cast.agent, now=now - HOUR, grid=cast.tree.grid, item=make_item())

    html = login(cast.secretary).get(f"/whistles/new/?orders={order.pk}").content.decode()

    assert order.number in html
    assert re.search(rf'name="orders" value="{order.pk}"[^>]*checked', html)


# --- close and rate ----------------------------------------------------------------------------------


def close_post(whistle, **scores):
    data = {"result": "管道已修复，恢复供气"}
    for s in Summons.objects.filter(whistle=whistle):
        for key in ("timeliness", "effectiveness", "attitude"):
            data[f"{key}_{s.pk}"] = scores.get(key, "4")
        data[f"comment_{s.pk}"] = "配合良好"
    return data


def test_the_close_form_lists_every_department(login, cast, now, whistle):
    html = login(cast.secretary).get(f"/whistles/{whistle.pk}/close/").content.decode()

    for s in Summons.objects.filter(whistle=whistle):
        assert f'name="timeliness_{s.pk}"' in html
    assert "尚未报到" in html


def test_a_missing_score_keeps_the_result_and_marks_the_field(login, cast, now, whistle):
    data = close_post(whistle)
    missing = summons_of(whistle, cast.dept2)
    data[f"attitude_{missing.pk}"] = ""

    response = login(cast.secretary).post(f"/whistles/{whistle.pk}/close/", data)

    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="id_attitude_{missing.pk}_error"' in html
    assert "管道已修复，恢复供气" in html
    whistle.refresh_from_db()
    assert whistle.status == WhistleStatus.OPEN


def test_closing_from_the_form_rates_and_marks_not_reported(login, cast, now, whistle):
    response = login(cast.secretary).post(f"/whistles/{whistle.pk}/close/", close_post(whistle))

    assert response.status_code == 302
    whistle.refresh_from_db()
    assert whistle.status == WhistleStatus.CLOSED
    assert DepartmentRating.objects.count() == 2
    assert set(whistle.summonses.values_list("status", flat=True)) == {SummonsStatus.NOT_REPORTED}


def test_the_close_form_is_403_for_a_department(login, cast, now, whistle):
    assert login(cast.dept_handler).get(f"/whistles/{whistle.pk}/close/").status_code == 403
    assert login(cast.outsider).get(f"/whistles/{whistle.pk}/close/").status_code == 403
