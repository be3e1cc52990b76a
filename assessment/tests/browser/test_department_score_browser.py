"""In the browser: a short whistle blown from an order, two departments summoned — one reports,
one misses its limit — closed with ratings, and the effect on the departments' scores on the
command-centre dashboard (charts drawn, no CSP violation, no page error)."""

from __future__ import annotations

import datetime as dt

import pytest

from assessment.rollups import rollup_catch_up
from assessment.tests.factories import HOUR, dispatched_order, handled_order
from core.workcalendar import SHANGHAI
from orders import services as order_services
from orders.tests.factories import person
from orgs.choices import Role, UnitKind
from orgs.grid_services import grid_boundaries_import
from orgs.services import unit_create
from whistles.choices import SummonsStatus, WhistleType
from whistles.models import Summons
from whistles.services import RatingInput, summons_check_in, whistle_blow, whistle_close, whistle_sweep

pytestmark = [pytest.mark.once]

T0 = dt.datetime(2025, 9, 8, 9, 0, tzinfo=SHANGHAI)  # a Monday
SITE = (116.4105, 39.9155)


def department_row(page, name):
    return page.locator("table.dash-table tr", has_text=name)


def test_a_whistle_from_an_order_moves_the_department_scores(
    live_server, page, console, shots, cast, person_for, signed_in
):
    tree = cast.tree
    dept2 = unit_create(actor=None, code="D2", name="市住建委", kind=UnitKind.DEPARTMENT, parent=tree.city)
    cast.extra_handlers = {dept2.pk: person("dept2_handler", dept2, Role.HANDLER)}
    secretary = person("street_secretary", tree.street, Role.SECRETARY)
    leader = person("city_leader", tree.city, Role.LEADER)
    square = [[116.40, 39.91], [116.42, 39.91], [116.42, 39.92], [116.40, 39.92], [116.40, 39.91]]
    grid_boundaries_import(  # the dashboard's grid map draws 东华一网格
        actor=None,
        features={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": tree.grid.code},
                    "geometry": {"type": "Polygon", "coordinates": [square]},
                }
            ],
        },
    )
    # September's orders: each department handled one problem in 东华, both residents satisfied
    handled_order(cast, T0, lead=tree.department)
    handled_order(cast, T0, lead=dept2)
    rollup_catch_up(now=T0 + 9 * HOUR)

    signed_in(person_for(leader))
    page.goto(live_server.url + "/assessment/?month=2025-09")
    page.wait_for_load_state("networkidle")
    assert department_row(page, "市城管局").locator("td").nth(2).inner_text() == "100.00"
    assert department_row(page, "市住建委").locator("td").nth(2).inner_text() == "100.00"

    # 东华 blows a short whistle from an open order and summons both departments
    open_order = dispatched_order(cast, T0 + HOUR)
    order_services.order_accept(order=open_order, actor=cast.district_handler, now=T0 + 2 * HOUR)
    whistle = whistle_blow(
        actor=secretary,
        unit=tree.street,
        type=WhistleType.SHORT,
        title="工地夜间施工扰民",
        description="多部门联合处置夜间施工噪音",
        summon_unit_ids=[tree.department.pk, dept2.pk],
        now=T0 + 3 * HOUR,
        point=SITE,
        order_ids=[open_order.pk],
    )
    assert list(whistle.orders.values_list("pk", flat=True)) == [open_order.pk]
    first = Summons.objects.get(whistle=whistle, unit=tree.department)
    summons_check_in(
        summons=first,
        actor=cast.dept_handler,
        now=T0 + 3 * HOUR + dt.timedelta(minutes=30),
        attendees=["王队长"],
        point=SITE,
    )
    late = Summons.objects.get(whistle=whistle, unit=dept2)
    whistle_sweep(now=late.arrive_by + HOUR)  # 市住建委 misses its limit
    late.refresh_from_db()
    assert late.overdue_at is not None
    whistle_close(
        whistle=whistle,
        actor=secretary,
        now=late.arrive_by + 2 * HOUR,
        result="已联合执法，工地停工整改",
        ratings={first.pk: RatingInput(5, 4, 5), late.pk: RatingInput(1, 1, 2)},
    )
    late.refresh_from_db()
    assert late.status == SummonsStatus.NOT_REPORTED

    page.reload()
    page.wait_for_load_state("networkidle")
    # 市城管局: 2/3 · 100 + 1/3 · (14/15 · 100) ; 市住建委: 2/3 · 100 + 1/3 · 0 (never reported)
    assert (
        department_row(page, "市城管局").locator("td").nth(2).inner_text()
        == f"{200 / 3 + 14 / 15 * 100 / 3:.2f}"
    )
    assert department_row(page, "市住建委").locator("td").nth(2).inner_text() == f"{200 / 3:.2f}"
    assert department_row(page, "市城管局").locator("td").first.inner_text() == "1"
    assert department_row(page, "市住建委").locator("td").first.inner_text() == "2"
    page.wait_for_function("document.querySelector('#dash-trend canvas') !== null")
    # the grid map: 东华一网格 drawn from the map's JSON, coloured by its open order, with a legend
    page.wait_for_selector("#dash-map[data-map-drawn]")
    assert page.locator("#dash-map path.leaflet-interactive").count() > 0
    assert page.locator("#dash-map .dash-map-legend").inner_text().startswith("在办工单（件）")
    # the minute's refresh (counts only, geometry=0) restyles the drawn grid: a second open order
    # moves 东华一网格 into a darker class
    grid_path = page.locator("#dash-map path.leaflet-interactive").first
    before = grid_path.get_attribute("fill")
    dispatched_order(cast, T0 + 4 * HOUR)
    page.locator("#dash-map-box").dispatch_event("minhu:map-refresh")
    page.wait_for_selector("#dash-map[data-map-loads='2']")
    assert grid_path.get_attribute("fill") != before
    shots.take(page, "assessment-dashboard")
    assert console.csp_violations() == []
    assert console.page_errors == []
