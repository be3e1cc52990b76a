"""Browser tests of the workbenches: web's infrastructure (live server, Debian chromium through
Playwright, TOTP sign-in, CSP console watcher, screenshots to ``var/screenshots/``) plus a small
city where the whole loop can run: two grids with boundaries, an address list entry, a catalog
item the street leads, a knowledge-base answer, a telephony system and the people of each desk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from web.tests.browser.conftest import *  # noqa: F403 -- web's browser fixtures, reused as they are
from web.tests.browser.conftest import (  # noqa: F401 -- private fixtures are not star-imported
    DESKTOP,
    MOBILE,
    Person,
    _triggers_back_after_flush,
    sign_in,
)

LON, LAT = 116.402, 39.902  # inside 东华一网格 (WGS-84)
CALLER = "13900001111"
RESIDENT_PHONE = "13800005678"


def square(lon: float, lat: float, size: float) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]


@dataclass
class City:
    tree: Any
    item: Any
    address: Any
    knowledge: Any
    call: Any
    agent: Person
    dispatcher: Person
    street: Person
    community: Person
    callback: Person
    supervisor: Person
    outsider: Person


@pytest.fixture
def city(transactional_db, cast, person_for) -> City:  # noqa: F405 -- from web's conftest
    from django.utils import timezone

    from catalog.services import knowledge_create
    from core.models.user import AdminRole
    from intake import services as intake_services
    from orders.tests.factories import make_item, person
    from orgs.addresses import address_create
    from orgs.choices import Role, UnitKind
    from orgs.grid_services import grid_boundaries_import, grid_index_invalidate
    from orgs.tests.factories import UserFactory

    tree = cast.tree
    grid_boundaries_import(
        actor=None,
        features={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "T1111"},
                    "geometry": {"type": "Polygon", "coordinates": square(116.400, 39.900, 0.004)},
                },
                {
                    "type": "Feature",
                    "properties": {"code": "T2111"},
                    "geometry": {"type": "Polygon", "coordinates": square(116.406, 39.900, 0.004)},
                },
            ],
        },
    )
    grid_index_invalidate()
    item = make_item(name="路灯不亮", lead_kind=UnitKind.STREET)
    address = address_create(actor=None, text="测试市东华路1号院3号楼", grid=tree.grid)
    knowledge = knowledge_create(
        actor=None,
        question="居住证怎么办理？",
        answer="持身份证和居住证明到社区服务站申请，10个工作日内领证。",
        keywords="居住证，办理",
    )
    now = timezone.now()
    secadmin = UserFactory.create(username="secadmin", admin_role=AdminRole.SECURITY, is_staff=True)
    pbx = UserFactory.create(username="pbx")
    system = intake_services.telephony_system_create(
        actor=secadmin, name="12345 呼叫中心", user=pbx, unit=tree.city, now=now
    )
    call, _created = intake_services.call_record(
        system=system, call_id="C-20260001", caller_number=CALLER, agent_code="agent", now=now
    )
    supervisor = person("board_supervisor", tree.city, Role.SUPERVISOR)
    return City(
        tree=tree,
        item=item,
        address=address,
        knowledge=knowledge,
        call=call,
        agent=person_for(cast.agent),
        dispatcher=person_for(cast.city_dispatcher),
        street=person_for(cast.street_handler),
        community=person_for(cast.community_handler),
        callback=person_for(cast.callback_agent),
        supervisor=person_for(supervisor),
        outsider=person_for(cast.outsider),
    )


@pytest.fixture
def desk(browser, console, live_server):  # noqa: F405
    """``desk(person)`` → a fresh browser window signed in as that person (desktop width)."""
    contexts: list[Any] = []

    def open_as(who: Person, viewport: dict[str, int] = DESKTOP, **options: Any) -> Any:
        ctx = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", **options)
        ctx.set_default_timeout(15_000)
        ctx.on("page", console.attach)
        contexts.append(ctx)
        page = ctx.new_page()
        sign_in(
            page,
            live_server.url,
            username=who.user.get_username(),
            password=who.password,
            device=who.device,
        )
        return page

    yield open_as
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def resident_page(browser, console):  # noqa: F405
    """A phone (360 px) with geolocation granted, standing in 东华一网格."""
    ctx = browser.new_context(
        viewport=MOBILE,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        geolocation={"longitude": LON, "latitude": LAT},
        permissions=["geolocation"],
        is_mobile=True,
        has_touch=True,
    )
    ctx.set_default_timeout(15_000)
    ctx.on("page", console.attach)
    yield ctx.new_page()
    ctx.close()


def settled(shots: Any, page: Any, name: str) -> None:
    """``shots.take`` for a page with a map: the 360 px picture is taken again once Leaflet has
    finished refitting the map after the resize (it animates the zoom)."""
    original = page.viewport_size or DESKTOP
    shots.take(page, name)
    page.set_viewport_size(MOBILE)
    page.wait_for_timeout(900)
    page.screenshot(path=str(shots.folder / f"{name}-mobile.png"), full_page=True)
    page.set_viewport_size(original)
