"""End to end through the pages: 东华街道 blows an urgent whistle from two orders; 市城管局 and
市住建委 are summoned; 城管 acknowledges, checks in on site, gets a task and replies; 住建委
never reports (the sweep warns it, yellow then red); the street closes and rates both; the
timeline, the statuses and the ratings are what happened."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from core.tests.identity_helpers import login_verified
from orders.tests.factories import make_item, make_order
from whistles.choices import DeadlineKind, EventType, SummonsStatus, TaskStatus, WarningLevel, WhistleStatus
from whistles.models import DepartmentRating, Whistle, WhistleEvent, WhistleWarning
from whistles.selectors import department_rating_summary, whistle_board
from whistles.tasks import whistle_sweep_task
from whistles.tests.conftest import NOW
from whistles.tests.factories import SITE, summons_of

MIN = dt.timedelta(minutes=1)


def client_for(user):
    client = Client()
    login_verified(client, user)
    return client


@pytest.mark.django_db
def test_an_urgent_whistle_from_two_orders_to_close_and_rating(cast):
    item = make_item(name="燃气泄漏")
    orders = [
        make_order(
            actor=cast.agent, now=NOW - 30 * MIN, grid=cast.tree.grid, item=item, title=f"闻到燃气味{n}"
        )
        for n in (1, 2)
    ]
    street, chengguan, zhujian = (
        client_for(u) for u in (cast.secretary, cast.dept_handler, cast.dept2_handler)
    )

    # 09:00 the street blows an urgent whistle from both orders
    with time_machine.travel(NOW, tick=False):
        response = street.post(
            "/whistles/new/",
            {
                "unit": cast.tree.street.pk,
                "type": "urgent",
                "title": "东华路燃气泄漏",
                "description": "两位居民反映燃气味浓，需城管、住建负责人立即到场。",
                "address": "东华路12号",
                "lon": str(SITE[0]),
                "lat": str(SITE[1]),
                "coord_system": "wgs84",
                "summon_units": [cast.dept.pk, cast.dept2.pk],
                "orders": [o.pk for o in orders],
            },
        )
    assert response.status_code == 302, response.content.decode()
    whistle = Whistle.objects.get()
    assert set(whistle.orders.all()) == set(orders)
    cg, zj = summons_of(whistle, cast.dept), summons_of(whistle, cast.dept2)

    # 09:10 城管 acknowledges from its inbox
    with time_machine.travel(NOW + 10 * MIN, tick=False):
        assert f'id="summons-{cg.pk}"' in chengguan.get("/whistles/inbox/").content.decode()
        assert (
            chengguan.post(
                f"/whistles/summons/{cg.pk}/acknowledge/", {f"ack{cg.pk}-note": "马上出发"}
            ).status_code
            == 302
        )

    # 09:23 the sweep: 住建委 has not acknowledged (yellow falls at 09:22:30)
    with time_machine.travel(NOW + 23 * MIN, tick=False):
        whistle_sweep_task.call_local()
    # 09:45 城管 checks in on site with two people
    with time_machine.travel(NOW + 45 * MIN, tick=False):
        p = f"in{cg.pk}"
        response = chengguan.post(
            f"/whistles/summons/{cg.pk}/check-in/",
            {f"{p}-attendees": "王局长、李科长", f"{p}-lon": str(SITE[0] + 0.0005), f"{p}-lat": str(SITE[1])},
        )
        assert response.status_code == 302
        whistle_sweep_task.call_local()  # 住建委 missed its acknowledgement (09:30): red

    # 10:00 the street gives 城管 a task due 12:00; 10:50 城管 replies
    with time_machine.travel(NOW + 60 * MIN, tick=False):
        response = street.post(
            f"/whistles/{whistle.pk}/tasks/",
            {"summons": cg.pk, "description": "关阀断气并设置警戒", "due_at": "2025-03-03T12:00"},
        )
        assert response.status_code == 302
        board = whistle_board(cast.secretary, now=NOW + 60 * MIN)[0]
        assert [s.summons.unit.name for s in board.reported] == ["市城管局"]
        assert [s.summons.unit.name for s in board.late] == ["市住建委"]
    task = cg.tasks.get()
    with time_machine.travel(NOW + 110 * MIN, tick=False):
        response = chengguan.post(
            f"/whistles/tasks/{task.pk}/reply/", {f"task{task.pk}-reply": "已关阀，警戒已设置"}
        )
        assert response.status_code == 302

    # 11:05 the sweep: 住建委 missed its arrival (11:00); then the street closes and rates
    with time_machine.travel(NOW + 125 * MIN, tick=False):
        whistle_sweep_task.call_local()
        whistle_sweep_task.call_local()  # twice: nothing more
        data = {"result": "泄漏点已封堵，恢复供气"}
        for s, scores in ((cg, ("5", "5", "4")), (zj, ("1", "1", "2"))):
            for key, value in zip(("timeliness", "effectiveness", "attitude"), scores, strict=True):
                data[f"{key}_{s.pk}"] = value
            data[f"comment_{s.pk}"] = "到场及时" if s == cg else "未到场"
        response = street.post(f"/whistles/{whistle.pk}/close/", data)
        assert response.status_code == 302

    whistle.refresh_from_db()
    cg.refresh_from_db()
    zj.refresh_from_db()
    task.refresh_from_db()
    assert whistle.status == WhistleStatus.CLOSED
    assert whistle.result == "泄漏点已封堵，恢复供气"
    assert cg.status == SummonsStatus.CHECKED_IN
    assert cg.attendees == ["王局长", "李科长"]
    assert cg.distance_m is not None and 40 < cg.distance_m < 45
    assert cg.overdue_at is None
    assert zj.status == SummonsStatus.NOT_REPORTED
    assert zj.overdue_at == zj.acknowledge_by
    assert task.status == TaskStatus.REPLIED

    timeline = [
        (e.type, e.summons.unit.name if e.summons else "", e.actor.username if e.actor else "")
        for e in WhistleEvent.objects.filter(whistle=whistle)
        .select_related("summons__unit", "actor")
        .order_by("seq")
    ]
    assert timeline == [
        (EventType.BLOWN, "", "secretary"),
        (EventType.ACKNOWLEDGED, "市城管局", "dept_handler"),
        (EventType.DEADLINE_WARNING, "市住建委", ""),  # acknowledge, yellow
        (EventType.CHECKED_IN, "市城管局", "dept_handler"),
        (EventType.DEADLINE_WARNING, "市住建委", ""),  # acknowledge, red
        (EventType.TASK_ASSIGNED, "市城管局", "secretary"),
        (EventType.TASK_REPLIED, "市城管局", "dept_handler"),
        (EventType.DEADLINE_WARNING, "市住建委", ""),  # arrive, red (no sweep saw its yellow window)
        (EventType.NOT_REPORTED, "市住建委", "secretary"),
        (EventType.CLOSED, "", "secretary"),
    ]
    assert set(WhistleWarning.objects.values_list("summons__unit__name", "kind", "level")) == {
        ("市住建委", DeadlineKind.ACKNOWLEDGE, WarningLevel.YELLOW),
        ("市住建委", DeadlineKind.ACKNOWLEDGE, WarningLevel.RED),
        ("市住建委", DeadlineKind.ARRIVE, WarningLevel.RED),
    }

    ratings = {r.unit.name: r for r in DepartmentRating.objects.select_related("unit")}
    assert (
        ratings["市城管局"].timeliness,
        ratings["市城管局"].effectiveness,
        ratings["市城管局"].attitude,
    ) == (5, 5, 4)
    assert ratings["市城管局"].reported is True
    assert (ratings["市住建委"].timeliness, ratings["市住建委"].reported, ratings["市住建委"].comment) == (
        1,
        False,
        "未到场",
    )
    summary = department_rating_summary(start=NOW, end=NOW + dt.timedelta(days=1))
    assert summary[cast.dept.pk].average == pytest.approx(14 / 3)
    assert summary[cast.dept2.pk].not_reported == 1

    detail = street.get(f"/whistles/{whistle.pk}/").content.decode()
    assert "未报到" in detail and "及时 5 · 实效 5 · 态度 4" in detail
