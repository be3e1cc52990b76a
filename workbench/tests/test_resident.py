"""Residents without an account: report from a phone, follow with the number and the phone's
last four digits, rate — through the public API's services, with its limits."""

from __future__ import annotations

import annotated_types
import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from intake.api import ResidentFollowIn, ResidentRateIn, ResidentSubmitIn
from intake.models import ResidentRating
from orders.choices import OrderStatus, Satisfaction
from orders.models import Order
from orgs.grid_services import grid_boundaries_import, grid_index_invalidate
from workbench.forms import FollowForm, RateForm, ResidentReportForm
from workbench.tests.conftest import jpeg, upload
from workbench.tests.scenarios import fill_desks

pytestmark = pytest.mark.django_db


@pytest.fixture
def bounded(cast):
    square = [[[116.40, 39.90], [116.404, 39.90], [116.404, 39.904], [116.40, 39.904], [116.40, 39.90]]]
    grid_boundaries_import(
        actor=None,
        features={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "T1111"},
                    "geometry": {"type": "Polygon", "coordinates": square},
                }
            ],
        },
    )
    grid_index_invalidate()
    cache.delete("workbench:territory-outline:v1")
    return cast.tree.grid


def report(client, **fields):
    body = {"content": "路灯不亮", "client_request_id": "", **fields}
    return client.post("/report/", body)


# --- the same limits as the public API -----------------------------------------------------------


def _max_length(model, name):
    return next(
        m.max_length for m in model.model_fields[name].metadata if isinstance(m, annotated_types.MaxLen)
    )


def _form_limit(form, name, attribute="max_length"):
    return getattr(form.fields[name], attribute)


def test_the_report_form_has_the_public_apis_limits():
    form = ResidentReportForm()
    for name, api_name in (
        ("content", "content"),
        ("address", "address"),
        ("name", "name"),
        ("phone", "phone"),
        ("client_request_id", "client_request_id"),
    ):
        assert _form_limit(form, name) == _max_length(ResidentSubmitIn, api_name), name
    assert _form_limit(form, "photos", "max_files") == 9
    assert _form_limit(FollowForm(), "number") == _max_length(ResidentFollowIn, "number")
    assert _form_limit(RateForm(), "comment") == _max_length(ResidentRateIn, "comment")


# --- reporting -----------------------------------------------------------------------------------


def test_a_report_with_a_photo_and_the_phones_location(client, bounded):
    response = report(
        client,
        content="路灯不亮一周了",
        lon="116.402",
        lat="39.902",
        coord_system="wgs84",
        phone="13800005678",
        photos=[upload(jpeg())],
        client_request_id="r-1",
    )
    assert response.status_code == 200
    order = Order.objects.get()
    assert f"data-order-number>{order.number}<" in response.content.decode()
    assert order.status == OrderStatus.AWAITING_DISPATCH and order.channel == "mobile"
    assert order.grid_id == bounded.pk and order.attachments.count() == 1
    assert "no-store" in response["Cache-Control"]
    again = report(client, content="路灯不亮一周了", lon="116.402", lat="39.902", client_request_id="r-1")
    assert again.status_code == 200 and Order.objects.count() == 1  # the same form twice: one report


def test_a_tap_on_gcj02_tiles_is_converted_to_wgs84(client, bounded):
    from orgs.geo import from_wgs84

    lon, lat = from_wgs84(116.402, 39.902, "gcj02")
    report(client, lon=f"{lon:.6f}", lat=f"{lat:.6f}", coord_system="gcj02")
    order = Order.objects.get()
    assert order.lon is not None and order.lat is not None
    assert abs(order.lon - 116.402) < 1e-5 and abs(order.lat - 39.902) < 1e-5 and order.grid_id == bounded.pk


def test_a_report_needs_a_place_and_keeps_the_text(client, bounded):
    response = report(client, content="井盖丢了，很危险", name="张先生")
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_address_error"' in html and "请提供问题位置" in html
    assert "井盖丢了，很危险" in html and 'value="张先生"' in html
    assert Order.objects.count() == 0


def test_a_report_without_a_description(client, bounded):
    response = report(client, content="  ", address="东华路1号")
    assert response.status_code == 422 and "请填写问题描述。" in response.content.decode()


def test_a_refused_photo_is_said_beside_the_photos(client, bounded):
    response = report(
        client, address="东华路1号", photos=[upload(b"<html><script>x</script></html>", "a.jpg")]
    )
    assert response.status_code == 422 and 'id="id_photos_error"' in response.content.decode()
    assert Order.objects.count() == 0


def test_too_many_photos(client, bounded):
    response = report(client, address="东华路1号", photos=[upload(jpeg()) for _ in range(10)])
    assert response.status_code == 422 and "最多上传9个文件" in response.content.decode()


@override_settings(PUBLIC_SUBMIT_PER_HOUR=2)
def test_reports_are_rate_limited_per_address(client, bounded):
    assert report(client, address="东华路1号").status_code == 200
    assert report(client, address="东华路2号").status_code == 200
    limited = report(client, address="东华路3号")
    assert limited.status_code == 429 and "请求过于频繁" in limited.content.decode()
    assert Order.objects.count() == 2


def test_locating_a_point_names_its_grid(client, bounded):
    html = client.post(
        "/report/locate/", {"lon": "116.402", "lat": "39.902", "coord_system": "wgs84"}
    ).content.decode()
    assert "东华一网格" in html and 'hx-trigger="wb:located"' in html
    outside = client.post("/report/locate/", {"lon": "100", "lat": "30"}).content.decode()
    assert "不在已划分的网格内" in outside
    assert client.get("/report/locate/").status_code == 405


def test_the_report_page_draws_the_districts(client, bounded):
    import json
    import re

    html = client.get("/report/").content.decode()
    assert 'id="report-map"' in html and "vendor/leaflet/leaflet.js" in html
    found = re.search(r'id="report-map-geojson"[^>]*>(.*?)</script>', html, re.S)
    assert found is not None
    data = json.loads(found.group(1))
    assert [f["properties"]["name"] for f in data["features"]] == ["东城区"]


# --- following and rating -------------------------------------------------------------------------


def test_following_with_the_last_four_digits(cast, now, street_item):
    order = fill_desks(cast, street_item, now=now)["callback"][0]
    client = Client()
    digits = order.requester_phone[-4:]
    found = client.post("/follow/", {"number": order.number, "phone_last4": digits})
    html = found.content.decode()
    assert found.status_code == 200 and "已答复，等待回访" in html and "已更换一盏" in html
    assert order.requester_phone not in html and "王" not in html  # no personal data
    wrong = client.post(
        "/follow/", {"number": order.number, "phone_last4": "0000" if digits != "0000" else "1111"}
    )
    assert wrong.status_code == 404 and "工单号或手机号后四位不正确" in wrong.content.decode()
    bad = client.post("/follow/", {"number": "abc", "phone_last4": "12"})
    assert bad.status_code == 422 and "工单号由数字组成" in bad.content.decode()


@override_settings(FOLLOW_MAX_MISSES=2)
def test_a_number_locks_after_wrong_digits(cast, now, street_item):
    order = fill_desks(cast, street_item, now=now)["pending"][0]
    client = Client()
    wrong = "0000" if order.requester_phone[-4:] != "0000" else "1111"
    for _ in range(2):
        client.post("/follow/", {"number": order.number, "phone_last4": wrong})
    locked = client.post("/follow/", {"number": order.number, "phone_last4": order.requester_phone[-4:]})
    assert locked.status_code == 429 and "已暂时锁定" in locked.content.decode()


def test_rating_once_after_the_answer(cast, now, street_item):
    orders = fill_desks(cast, street_item, now=now)
    client = Client()
    pending = orders["pending"][0]
    early = client.post("/follow/", {"number": pending.number, "phone_last4": pending.requester_phone[-4:]})
    assert "提交评价" not in early.content.decode()
    done = orders["callback"][0]
    body = {
        "number": done.number,
        "phone_last4": done.requester_phone[-4:],
        "satisfaction": Satisfaction.BASICALLY,
    }
    rated = client.post("/follow/rate/", body)
    assert rated.status_code == 200 and "感谢您的评价" in rated.content.decode()
    assert ResidentRating.objects.get(order=done).satisfaction == Satisfaction.BASICALLY
    again = client.post("/follow/rate/", body)
    assert again.status_code in (200, 409) and ResidentRating.objects.filter(order=done).count() == 1
    missing = client.post("/follow/rate/", {"number": done.number, "phone_last4": done.requester_phone[-4:]})
    assert missing.status_code in (409, 422)


def test_the_callback_agent_sees_the_residents_own_rating_and_starts_from_it(cast, now, street_item):
    import re

    from core.tests.identity_helpers import login_verified

    done = fill_desks(cast, street_item, now=now)["callback"][0]
    agent = Client()
    login_verified(agent, cast.callback_agent)
    before = agent.get(f"/orders/{done.pk}/").content.decode()
    assert "群众自评" not in before
    assert not re.search(r'value="basically"[^>]*checked', before)
    body = {
        "number": done.number,
        "phone_last4": done.requester_phone[-4:],
        "satisfaction": Satisfaction.BASICALLY,
        "comment": "处理及时",
    }
    assert Client().post("/follow/rate/", body).status_code == 200
    page = agent.get(f"/orders/{done.pk}/").content.decode()
    assert "群众自评" in page and "处理及时" in page
    assert re.search(r'value="basically"[^>]*checked', page)  # the callback form starts from it


def test_a_closed_order_shows_closed(cast, now, street_item):
    closed = fill_desks(cast, street_item, now=now)["closed"][0]
    html = (
        Client()
        .post("/follow/", {"number": closed.number, "phone_last4": closed.requester_phone[-4:]})
        .content.decode()
    )
    assert "已办结" in html and "已修复。" in html
