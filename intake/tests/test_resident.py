"""Residents without an account: submit (text, photo, point or address), follow by number plus the
phone's last four digits (with a lock after repeated misses), rate once the callback stage opens;
rate-limited per client address; submission idempotent on a client request id."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.test import Client
from PIL import Image

from intake.models import ResidentRating
from orders.choices import OrderStatus
from orders.models import Attachment, Order
from orders.tests.factories import make_order, walk_to
from orders.tests.test_attachments import jpeg_with_gps

pytestmark = pytest.mark.django_db

PHONE = "13800138000"


def submit(client=None, files=None, **fields):
    data = {"content": "小区门口井盖缺失，夜里很危险。", "address": "东华路12号", "phone": PHONE, **fields}
    data = {k: v for k, v in data.items() if v is not None}
    if files:
        data["photos"] = files
    return (client or Client()).post("/api/v1/public/orders", data)


def photo(data: bytes, name="IMG_1.JPG"):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def follow(number, last4, client=None, **extra):
    return (client or Client()).post(
        "/api/v1/public/orders/follow",
        {"number": number, "phone_last4": last4},
        content_type="application/json",
        **extra,
    )


def test_a_resident_submits_a_photo_report_that_waits_for_dispatch(cast, now):
    response = submit(files=[photo(jpeg_with_gps())], lon="116.40", lat="39.91", coord_system="bd09")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "awaiting_dispatch" and body["photos"] == 1
    assert "no-store" in response["Cache-Control"]
    order = Order.objects.get(number=body["number"])
    assert order.channel == "mobile" and order.created_by is None and order.requester_phone == PHONE
    assert order.title.startswith("小区门口井盖缺失")
    assert order.lon is not None and abs(order.lon - 116.40) > 0.005  # BD-09 converted to WGS-84
    stored = Attachment.objects.get(order=order)
    assert not Image.open(stored.file).getexif().get_ifd(0x8825)  # GPS gone
    assert order in Order.objects.filter(status=OrderStatus.AWAITING_DISPATCH)


def test_a_report_needs_a_place_and_text_in_chinese(cast):
    no_place = submit(address="")
    assert no_place.status_code == 422 and no_place.json()["detail"] == "请提供问题位置：地图上的点或地址。"
    no_text = submit(content="   ")
    assert no_text.status_code == 422 and no_text.json()["errors"][0]["msg"] == "请填写问题描述。"


def test_a_refused_photo_refuses_the_whole_report(cast):
    response = submit(files=[photo(b"<svg onload=alert(1)>", "cute.jpg")])
    assert response.status_code == 422 and "SVG" in response.json()["detail"]
    assert not Order.objects.exists()


def test_submission_is_idempotent_on_the_client_request_id(cast):
    first = submit(files=[photo(jpeg_with_gps())], client_request_id="phone-7f3a")
    again = submit(files=[photo(jpeg_with_gps())], client_request_id="phone-7f3a")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    assert Order.objects.count() == 1 and Attachment.objects.count() == 1


def test_the_idempotency_key_header_works_too(cast):
    first = submit(client=Client(HTTP_IDEMPOTENCY_KEY="hdr-1"))
    again = submit(client=Client(HTTP_IDEMPOTENCY_KEY="hdr-1"))
    assert first.json()["number"] == again.json()["number"] and Order.objects.count() == 1


def test_following_shows_status_dates_and_the_public_reply_only(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, requester_phone=PHONE)
    walk_to(order, OrderStatus.AWAITING_CALLBACK, cast, now)
    response = follow(order.number, "8000")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "number",
        "status",
        "status_label",
        "created_at",
        "updated_at",
        "closed_at",
        "public_reply",
        "can_rate",
    }
    assert body["status"] == "awaiting_callback" and body["public_reply"] == "已责令停工" and body["can_rate"]
    assert "no-store" in response["Cache-Control"]


def test_no_public_reply_is_shown_before_the_answer_is_approved(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, requester_phone=PHONE)
    walk_to(order, OrderStatus.AWAITING_REVIEW, cast, now)
    body = follow(order.number, "8000").json()
    assert body["public_reply"] == "" and body["can_rate"] is False


def test_wrong_digits_and_unknown_numbers_get_the_same_answer(cast, now):
    order = make_order(actor=cast.agent, now=now, requester_phone=PHONE)
    wrong = follow(order.number, "1234")
    unknown = follow("20990101000001", "8000")
    assert wrong.status_code == unknown.status_code == 404
    assert (
        wrong.json() == unknown.json() == {"detail": "工单号或手机号后四位不正确。", "code": "follow_refused"}
    )


def test_repeated_misses_lock_the_number_even_for_the_right_digits(cast, now, settings):
    settings.FOLLOW_MAX_MISSES = 3
    settings.FOLLOW_LOCK_SECONDS = 900
    order = make_order(actor=cast.agent, now=now, requester_phone=PHONE)
    codes = [
        follow(order.number, f"000{i}", client=Client(REMOTE_ADDR=f"10.0.0.{i}")).status_code
        for i in range(3)
    ]
    assert codes == [404, 404, 429]  # different addresses: the lock is per order number
    locked = follow(order.number, "8000")
    assert locked.status_code == 429 and "锁定" in locked.json()["detail"]
    with time_machine.travel(now + dt.timedelta(seconds=901), tick=False):
        assert follow(order.number, "8000").status_code == 200


def test_a_right_answer_forgets_earlier_misses(cast, now, settings):
    settings.FOLLOW_MAX_MISSES = 3
    order = make_order(actor=cast.agent, now=now, requester_phone=PHONE)
    follow(order.number, "0000")
    follow(order.number, "0001")
    assert follow(order.number, "8000").status_code == 200
    assert follow(order.number, "0002").status_code == 404  # counting starts again


def test_malformed_follow_input_is_a_chinese_422(cast):
    response = follow("abc", "12")
    assert response.status_code == 422
    assert {e["msg"] for e in response.json()["errors"]} == {"格式不正确。", "长度不能少于8个字符。"}


def test_public_actions_are_rate_limited_per_client_address(cast, now, settings):
    settings.PUBLIC_FOLLOW_PER_HOUR = 3
    order = make_order(actor=cast.agent, now=now, requester_phone=PHONE)
    mine = Client(REMOTE_ADDR="203.0.113.5")
    codes = [follow(order.number, "8000", client=mine).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert follow(order.number, "8000", client=mine).json()["code"] == "rate_limited"
    assert follow(order.number, "8000", client=Client(REMOTE_ADDR="203.0.113.6")).status_code == 200
    with time_machine.travel(now + dt.timedelta(hours=1, minutes=1), tick=False):
        assert follow(order.number, "8000", client=mine).status_code == 200


def test_a_forged_forwarded_for_does_not_escape_the_limit(cast, now, settings):
    settings.PUBLIC_SUBMIT_PER_HOUR = 1
    assert submit(client=Client(REMOTE_ADDR="203.0.113.9")).status_code == 201
    forged = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert submit(client=forged).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(cast, now, settings):
    settings.PUBLIC_SUBMIT_PER_HOUR = 1
    settings.TRUSTED_PROXIES = ["10.1.1.1"]
    proxy = lambda ip: Client(REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR=ip)  # noqa: E731
    assert submit(client=proxy("198.51.100.1")).status_code == 201
    assert submit(client=proxy("198.51.100.2")).status_code == 201
    assert submit(client=proxy("198.51.100.1")).status_code == 429


def rate(number, last4="8000", satisfaction="satisfied"):
    return Client().post(
        "/api/v1/public/orders/rate",
        {"number": number, "phone_last4": last4, "satisfaction": satisfaction, "comment": "很快"},
        content_type="application/json",
    )


def test_rating_waits_for_the_callback_stage_and_happens_once(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, requester_phone=PHONE)
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    early = rate(order.number)
    assert early.status_code == 409 and early.json()["detail"] == "工单尚未办结答复，暂不能评价。"
    order.refresh_from_db()
    from orders import services
    from orders.choices import ReplyOutcome

    services.order_reply(
        order=order, actor=cast.district_handler, now=now, outcome=ReplyOutcome.RESOLVED, explanation="已修复"
    )
    services.order_review_approve(order=order, actor=cast.city_dispatcher, now=now)
    first = rate(order.number)
    assert first.status_code == 201 and first.json()["satisfaction"] == "satisfied"
    again = rate(order.number, satisfaction="dissatisfied")
    assert again.status_code == 409 and again.json()["detail"] == "您已评价过该工单。"
    assert ResidentRating.objects.get(order=order).satisfaction == "satisfied"
    assert follow(order.number, "8000").json()["can_rate"] is False


def test_rating_needs_the_right_digits(cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, requester_phone=PHONE)
    walk_to(order, OrderStatus.AWAITING_CALLBACK, cast, now)
    assert rate(order.number, last4="1111").status_code == 404
    assert not ResidentRating.objects.exists()
