"""The callback queue, the supervisor board, the order search and the notifications inbox with
its unread count in the top bar."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from orders import services
from orders.choices import EventType, OrderStatus, Satisfaction
from orders.models import Callback, Notification, Order, Supervision
from orders.tests.factories import make_order, person
from orgs.choices import Role
from workbench.tests.scenarios import fill_desks

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)


# --- callbacks -------------------------------------------------------------------------------------------


def test_a_satisfied_callback_closes_the_order(cast, now, signed_in, street_item):
    order = fill_desks(cast, street_item, now=now)["callback"][0]
    client = signed_in(cast.callback_agent)
    assert order.number in client.get("/callbacks/").content.decode()
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "已更换一盏，另一盏待配件。" in page  # the answer being checked
    missing = client.post(
        f"/orders/{order.pk}/do/callback/", {"callback-version": order.version, "callback-reached": "yes"}
    )
    assert missing.status_code == 422 and 'id="id_callback-satisfaction_error"' in missing.content.decode()
    client.post(
        f"/orders/{order.pk}/do/callback/",
        {
            "callback-version": order.version,
            "callback-reached": "yes",
            "callback-resolved": "yes",
            "callback-unit_contacted": "yes",
            "callback-satisfaction": Satisfaction.SATISFIED,
        },
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED
    callback = Callback.objects.get(order=order)
    assert (callback.resolved, callback.unit_contacted) == (True, True)


def test_an_unreached_resident_keeps_the_order_waiting(cast, now, signed_in, street_item):
    order = fill_desks(cast, street_item, now=now)["callback"][0]
    signed_in(cast.callback_agent).post(
        f"/orders/{order.pk}/do/callback/", {"callback-version": order.version, "callback-reached": "no"}
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_CALLBACK
    assert Callback.objects.get(order=order).reached is False


def test_a_dissatisfied_resident_lets_the_dispatcher_reopen(cast, now, signed_in, street_item):
    order = fill_desks(cast, street_item, now=now)["callback"][0]
    services.order_callback(
        order=order, actor=cast.callback_agent, now=now, reached=True, satisfaction=Satisfaction.DISSATISFIED
    )
    client = signed_in(cast.city_dispatcher)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="act-reopen"' in page and 'id="act-close"' in page
    client.post(
        f"/orders/{order.pk}/do/reopen/", {"reopen-version": order.version, "reopen-reason": "群众反映仍不亮"}
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS and order.reopen_count == 1


def test_the_callback_queue_is_for_callback_agents(cast, signed_in):
    assert signed_in(cast.street_handler).get("/callbacks/").status_code == 403


# --- the supervisor board ------------------------------------------------------------------------------


def test_the_board_groups_late_and_near_deadlines_by_unit(cast, now, signed_in, street_item):
    orders = fill_desks(cast, street_item, now=now)
    supervisor = person("city_supervisor", cast.tree.city, Role.SUPERVISOR)
    html = signed_in(supervisor).get("/supervision/").content.decode()
    assert "东华街道" in html
    for late in orders["late"]:
        assert late.number in html
    assert orders["closed"][0].number not in html and orders["dispatch"][0].number not in html
    assert html.count("chip--red") >= 2


def test_urging_from_the_board(cast, now, signed_in, street_item):
    late = fill_desks(cast, street_item, now=now)["late"][0]
    supervisor = person("city_supervisor", cast.tree.city, Role.SUPERVISOR)
    response = signed_in(supervisor).post(
        f"/supervision/{late.pk}/urge/",
        {"urge-version": late.version, "urge-message": "请今天内签收"},
        follow=True,
    )
    assert f"已催办工单 {late.number}" in response.content.decode()
    assert late.events.filter(type=EventType.URGED, reason="请今天内签收").count() == 1


def test_supervising_and_escalating_on_the_order(cast, now, signed_in, street_item):
    overdue = fill_desks(cast, street_item, now=now)["late"][1]
    supervisor = person("city_supervisor", cast.tree.city, Role.SUPERVISOR)
    client = signed_in(supervisor)
    client.post(
        f"/orders/{overdue.pk}/do/supervise/",
        {"supervise-version": overdue.version, "supervise-reason": "超期未答复", "supervise-within_days": 2},
    )
    assert Supervision.objects.filter(order=overdue, unit=cast.tree.street).count() == 1
    page = client.get(f"/orders/{overdue.pk}/").content.decode()
    assert 'id="act-escalate"' not in page  # the city is the top dispatch level: nowhere to escalate


def test_the_board_is_for_supervisors_dispatchers_and_leaders(cast, signed_in):
    assert signed_in(cast.street_handler).get("/supervision/").status_code == 403


# --- the order search ---------------------------------------------------------------------------------


def test_the_order_search_stays_within_scope(cast, now, signed_in, street_item):
    mine = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=street_item, title="东边路灯")
    other = make_order(
        actor=cast.outsider, now=now, grid=cast.tree.other_grid, item=street_item, title="西边路灯"
    )
    secretary = person("secretary", cast.tree.street, Role.SECRETARY)  # the location axis
    html = signed_in(secretary).get("/orders/").content.decode()
    assert mine.number in html and other.number not in html
    found = signed_in(cast.city_dispatcher).get("/orders/", {"q": mine.number[:10]}).content.decode()
    assert mine.number in found
    exact = signed_in(cast.city_dispatcher).get("/orders/", {"q": other.number}).content.decode()
    assert other.number in exact and mine.number not in exact


# --- notifications -------------------------------------------------------------------------------------


def test_the_inbox_shows_ones_notifications_and_opening_marks_read(cast, now, signed_in, street_item):
    orders = fill_desks(cast, street_item, now=now)
    client = signed_in(cast.street_handler)
    note = (
        Notification.objects.filter(recipient=cast.street_handler, channel="in_app").order_by("-pk").first()
    )
    assert note is not None
    unread = Notification.objects.filter(
        recipient=cast.street_handler, channel="in_app", read_at__isnull=True
    ).count()
    page = client.get("/notifications/").content.decode()
    assert f"{unread} 条未读" in page and note.event.order.number in page
    response = client.post(f"/notifications/{note.pk}/open/")
    assert response.status_code == 302 and response["Location"] == f"/orders/{note.event.order_id}/"
    note.refresh_from_db()
    assert note.read_at is not None
    others = Notification.objects.exclude(recipient=cast.street_handler).first()
    assert others is not None
    assert client.post(f"/notifications/{others.pk}/open/").status_code == 404
    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(recipient=cast.street_handler, read_at__isnull=True).exists()
    assert orders  # the desks were filled


@override_settings(WEB_POLL_SECONDS=30)
def test_the_top_bar_counts_unread_notifications_in_the_background(cast, now, signed_in, street_item):
    fill_desks(cast, street_item, now=now)
    unread = Notification.objects.filter(
        recipient=cast.street_handler, channel="in_app", read_at__isnull=True
    ).count()
    assert unread > 0
    client = signed_in(cast.street_handler)
    slot = client.get(
        "/notifications/count/", HTTP_X_MINHU_BACKGROUND="1", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f'<span class="notif__count">{unread}' in slot and 'href="/notifications/"' in slot
    home = client.get("/").content.decode()
    assert "/notifications/" in home  # the bell links to the inbox


def test_merged_duplicates_wait_for_their_own_callback(cast, now, signed_in, street_item):
    parent = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=street_item)
    services.order_submit(order=parent, actor=cast.agent, now=now)
    child = make_order(
        actor=None,
        now=now,
        channel="mobile",
        grid=cast.tree.grid,
        item=street_item,
        requester_phone="13700001111",
    )
    services.order_merge(order=child, actor=cast.city_dispatcher, now=now, parent=parent)
    services.order_dispatch(order=parent, actor=cast.city_dispatcher, now=now + H)
    services.order_accept(order=parent, actor=cast.street_handler, now=now + 2 * H)
    services.order_reply(
        order=parent, actor=cast.street_handler, now=now + 3 * H, outcome="resolved", explanation="已修"
    )
    services.order_review_approve(order=parent, actor=cast.city_dispatcher, now=now + 4 * H)
    client = signed_in(cast.callback_agent)
    listed = client.get("/callbacks/").content.decode()
    assert child.number in listed and "合并件待回访" in listed
    child.refresh_from_db()
    client.post(
        f"/orders/{child.pk}/do/callback_merged/",
        {
            "callback_merged-version": child.version,
            "callback_merged-reached": "yes",
            "callback_merged-satisfaction": "satisfied",
        },
    )
    assert Callback.objects.filter(order=child).count() == 1
    assert child.number not in client.get("/callbacks/").content.decode()
    assert Order.objects.get(pk=child.pk).status == OrderStatus.MERGED
