"""Builders for whistle tests: the cast on the root ``tree`` and ``blow`` through the service.

cast = make_cast(tree, ...)                       # see conftest.py
whistle = blow(cast, now, units=[cast.dept, cast.dept2], type=WhistleType.URGENT)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orders.tests.factories import person
from orgs.choices import Role, UnitKind
from orgs.services import unit_create
from whistles import services
from whistles.choices import WhistleType
from whistles.models import Summons, Whistle

SITE = (116.4105, 39.9155)  # a point in 东华街道 (WGS-84)


@dataclass
class WhistleCast:
    tree: Any
    secretary: Any  # 书记, 东华街道
    street_handler: Any  # 承办人, 东华街道
    community_secretary: Any  # 书记, 东华社区
    dept: Any  # 市城管局 (department under the city)
    dept2: Any  # 市住建委 (department under the city)
    district_dept: Any  # 东城区市场监管局 (department under 东城区)
    other_district_dept: Any  # 西城区市场监管局 (department under 西城区)
    dept_handler: Any  # 承办人, 市城管局
    dept2_handler: Any  # 承办人, 市住建委
    station_handler: Any  # 承办人, 城管东华执法队 (station of 市城管局)
    other_secretary: Any  # 书记, 西长街道
    outsider: Any  # 承办人, 西城区
    agent: Any  # 话务员, city (registers orders)


def make_cast(tree: Any, dept_handler: Any, street_handler: Any, outsider: Any) -> WhistleCast:
    dept2 = unit_create(actor=None, code="D2", name="市住建委", kind=UnitKind.DEPARTMENT, parent=tree.city)
    district_dept = unit_create(
        actor=None, code="D3", name="东城区市场监管局", kind=UnitKind.DEPARTMENT, parent=tree.district
    )
    other_district_dept = unit_create(
        actor=None, code="D4", name="西城区市场监管局", kind=UnitKind.DEPARTMENT, parent=tree.other_district
    )
    return WhistleCast(
        tree=tree,
        secretary=person("secretary", tree.street, Role.SECRETARY),
        street_handler=street_handler,
        community_secretary=person("community_secretary", tree.community, Role.SECRETARY),
        dept=tree.department,
        dept2=dept2,
        district_dept=district_dept,
        other_district_dept=other_district_dept,
        dept_handler=dept_handler,
        dept2_handler=person("dept2_handler", dept2, Role.HANDLER),
        station_handler=person("station_handler", tree.station, Role.HANDLER),
        other_secretary=person("other_secretary", tree.other_street, Role.SECRETARY),
        outsider=outsider,
        agent=person("agent", tree.city, Role.AGENT),
    )


def blow(
    cast: WhistleCast,
    now: dt.datetime,
    *,
    units: Sequence[Any] | None = None,
    type: str = WhistleType.URGENT,  # noqa: A002
    actor: Any = None,
    unit: Any = None,
    **kwargs: Any,
) -> Whistle:
    values: dict[str, Any] = {
        "title": "东华路燃气管道泄漏",
        "description": "东华路12号附近燃气泄漏，需城管、住建部门负责人立即到场处置。",
        "address": "东华路12号",
        "point": SITE,
    }
    if type == WhistleType.LONG:
        values.update(meeting_at=now + dt.timedelta(days=1), meeting_place="东华街道办事处三楼会议室")
    values.update(kwargs)
    return services.whistle_blow(
        actor=actor or cast.secretary,
        unit=unit or cast.tree.street,
        type=type,
        summon_unit_ids=[u.pk for u in (units if units is not None else [cast.dept, cast.dept2])],
        now=now,
        **values,
    )


def summons_of(whistle: Whistle, unit: Any) -> Summons:
    summons: Summons = Summons.objects.select_related("unit", "whistle").get(whistle=whistle, unit=unit)
    return summons
