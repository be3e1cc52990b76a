"""The Content-Security-Policy as the browser enforces it, the error pages, the map."""

from __future__ import annotations

import math

import pytest

from orgs.geo import from_wgs84
from web.tests.browser.conftest import sign_in

pytestmark = [pytest.mark.once]


def visit(page, url):
    response = page.goto(url)
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
    page.wait_for_load_state("networkidle")
    return response


@pytest.mark.urls("web.tests.browser.pages")
def test_the_console_watcher_sees_a_violation(live_server, page, console):
    """The check below is worth something only if a broken page is caught."""
    visit(page, live_server.url + "/test/bad-csp/")
    assert page.title() == "bad"  # the inline script did not run
    texts = " ".join(text for _url, text in console.csp_violations())
    assert "script-src" in texts and "style-src" in texts


def test_no_page_breaks_the_policy(live_server, page, console, shots, make_person):
    """Every page a person can reach so far, signed out and signed in, under the enforced CSP."""
    person = make_person("alice", admin_role="system", is_staff=True)
    for path in ("/login/", "/no-such-page/"):
        visit(page, live_server.url + path)
    sign_in(page, live_server.url, username="alice", password=person.password, device=person.device)
    pages = [
        "/",
        "/password/change/",
        "/admin/",
        "/admin/orgs/unit/",
        "/admin/orgs/unit/add/",
        "/no-such-page/",
    ]
    for path in pages:
        visit(page, live_server.url + path)
        assert page.url == live_server.url + path
    visit(page, live_server.url + "/password/change/")
    shots.take(page, "password-change")
    visit(page, live_server.url + "/no-such-page/")
    assert page.get_by_role("heading", name="页面不存在").is_visible()
    shots.take(page, "404")
    assert console.csp_violations() == []
    assert console.page_errors == []


def test_a_page_outside_ones_rights_is_a_403_in_chinese(live_server, page, console, shots, make_person):
    person = make_person("audrey", admin_role="audit", is_staff=True)
    sign_in(page, live_server.url, username="audrey", password=person.password, device=person.device)
    response = visit(page, live_server.url + "/admin/orgs/unit/add/")
    assert response.status == 403
    assert page.get_by_role("heading", name="无权访问此页面").is_visible()
    assert "工单只对承办单位、上级单位和属地单位可见" in page.locator(".errorpage").inner_text()
    shots.take(page, "403")
    page.get_by_role("link", name="返回工作台").click()
    page.wait_for_url(live_server.url + "/")
    assert console.csp_violations() == []


@pytest.mark.urls("web.tests.browser.pages")
def test_the_map_draws_grid_polygons_offline(live_server, page, console, shots, make_person):
    person = make_person("alice")
    sign_in(page, live_server.url, username="alice", password=person.password, device=person.device)
    requests = []
    page.on("request", lambda req: requests.append(req.url))
    visit(page, live_server.url + "/test/map/")
    page.wait_for_selector("#grid-map[data-ready='1']")
    assert page.locator("#grid-map path.leaflet-interactive").count() == 3  # two grids and the point
    labels = page.locator("#grid-map .map__label").all_inner_texts()
    assert sorted(labels) == ["东华一网格", "东华二网格"]
    assert page.locator("#grid-map .leaflet-tile").count() == 0  # no tiles: a plain background
    assert all(url.startswith(live_server.url) for url in requests), requests  # nothing from outside
    shots.take(page, "map")
    assert console.csp_violations() == []
    assert console.page_errors == []


@pytest.mark.urls("web.tests.browser.pages")
def test_the_map_shifts_geometry_to_the_tiles_coordinate_system(live_server, page, settings, make_person):
    """The browser's WGS-84 → GCJ-02 / BD-09 shift agrees with the server's (orgs.geo)."""
    person = make_person("alice")
    sign_in(page, live_server.url, username="alice", password=person.password, device=person.device)
    visit(page, live_server.url + "/test/map/")
    page.wait_for_selector("#grid-map[data-ready='1']")
    for lon, lat in [(116.397, 39.909), (121.4737, 31.2304), (113.2644, 23.1291)]:
        gcj = page.evaluate(f"MinhuMap.wgsToGcj({lon}, {lat})")
        bd = page.evaluate(
            f"(function(g){{return MinhuMap.gcjToBd(g[0], g[1]);}})(MinhuMap.wgsToGcj({lon}, {lat}))"
        )
        assert gcj == pytest.approx(list(from_wgs84(lon, lat, "gcj02")), abs=1e-9)
        assert bd == pytest.approx(list(from_wgs84(lon, lat, "bd09")), abs=1e-9)

    # With Baidu tiles configured, tiles are asked for in Baidu's numbering (y grows north).
    settings.MAP_TILE_URL = live_server.url + "/tiles/{z}/{x}/{y}.png"
    settings.MAP_TILE_CRS = "bd09"
    tiles = []
    page.on("request", lambda req: tiles.append(req.url) if "/tiles/" in req.url else None)
    visit(page, live_server.url + "/test/map/")
    page.wait_for_selector("#grid-map[data-ready='1']")
    assert tiles, "no tile was requested"
    requested = set()
    for url in tiles:
        z, x, y = (int(part) for part in url.split("/tiles/", 1)[1].removesuffix(".png").split("/"))
        requested.add((z, x, y))
    (zoom,) = {z for z, _x, _y in requested}
    bd_lon, bd_lat = from_wgs84(116.4066, 39.9031, "bd09")  # the page's point
    assert baidu_tile(bd_lon, bd_lat, zoom) in requested


def baidu_tile(lon: float, lat: float, zoom: int) -> tuple[int, int, int]:
    """Baidu's tile numbering: Clarke-1866 Mercator metres, 2**(18 - zoom) m per pixel, 256 px
    tiles counted from (0, 0) with y growing north."""
    r, r_minor = 6378206.0, 6356584.314245179
    e = math.sqrt(1 - (r_minor / r) ** 2)
    phi = math.radians(lat)
    x = r * math.radians(lon)
    con = e * math.sin(phi)
    y = r * math.log(math.tan(math.pi / 4 + phi / 2) * ((1 - con) / (1 + con)) ** (e / 2))
    scale = 2.0 ** (zoom - 18)
    return zoom, math.floor(x * scale / 256), math.floor(y * scale / 256)


@pytest.mark.urls("web.tests.browser.pages")
def test_the_building_blocks_work_under_the_policy(live_server, page, console, shots, make_person):
    """The gallery of shared blocks: table, badges, deadline chips, a form with errors beside its
    fields, an empty state; paging the table goes through htmx."""
    person = make_person("alice")
    sign_in(page, live_server.url, username="alice", password=person.password, device=person.device)
    visit(page, live_server.url + "/test/blocks/?state=open")
    assert page.locator("#queue tbody tr").count() == 4
    chips = page.locator("#queue .chip").evaluate_all("els => els.map(e => e.className)")
    assert chips == ["chip chip--ok", "chip chip--yellow", "chip chip--red", "chip chip--ok"]
    assert page.locator("#queue td.num").first.evaluate("e => getComputedStyle(e).textAlign") == "right"

    # Desktop: the error stands to the right of its input, on the same line.
    field = page.locator("#id_title")
    error = page.locator("#id_title_error")
    box_field, box_error = field.bounding_box(), error.bounding_box()
    assert box_error["x"] >= box_field["x"] + box_field["width"]
    assert abs(box_error["y"] - box_field["y"]) < box_field["height"]
    assert field.input_value() == "这是一个超过十个字的很长的标题"
    shots.take(page, "blocks")

    # Phone: the error goes under its input.
    page.set_viewport_size({"width": 360, "height": 740})
    box_field, box_error = field.bounding_box(), error.bounding_box()
    assert box_error["y"] >= box_field["y"] + box_field["height"]
    page.set_viewport_size({"width": 1280, "height": 800})

    # Paging swaps the table only and keeps the filter in the address.
    page.locator("#queue").get_by_role("link", name="下一页").click()
    page.wait_for_url(live_server.url + "/test/blocks/?state=open&page=3")
    assert "第 3 / 6 页" in page.locator("#queue .pager__info").inner_text()
    assert page.locator("#queue").count() == 1 and page.locator("h1").count() == 1
    assert console.csp_violations() == []
    assert console.page_errors == []
