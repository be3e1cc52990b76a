"""The handler's inbox and the unit's work on the order page: accept, return, delegate, reveal the
number (audited), record contact, reply with photos, extension and suspension requests — and
the scope: an order outside one's units is a Chinese 403 page."""

from __future__ import annotations

import datetime as dt

import pytest

from core.models import AuditEvent
from orders import services
from orders.choices import AssignmentStatus, OrderStatus, ReplyOutcome, ReplyStatus
from orders.models import Assignment, ContactRecord, ExtensionRequest, PhoneReveal, Reply, SuspensionRequest
from orders.tests.factories import make_order
from workbench.tests.conftest import jpeg, upload
from workbench.tests.scenarios import fill_desks

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)


@pytest.fixture
def dispatched(cast, now, street_item):
    order = make_order(actor=cast.agent, now=now - 2 * H, grid=cast.tree.grid, item=street_item)
    services.order_submit(order=order, actor=cast.agent, now=now - 2 * H)
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=now - H)
    return order


def mine(order, unit):
    return Assignment.objects.filter(order=order, unit=unit).order_by("-pk").first()


# --- the inbox --------------------------------------------------------------------------------------


def test_the_inbox_lists_the_units_work_by_what_is_due(cast, now, signed_in, street_item):
    orders = fill_desks(cast, street_item, now=now)
    client = signed_in(cast.street_handler)
    pending = client.get("/inbox/").content.decode()
    assert orders["pending"][0].number in pending and orders["late"][0].number in pending
    assert orders["extension"][0].number not in pending
    assert "chip--red" in pending  # the late one is past its accept-by
    working = client.get("/inbox/?tab=working").content.decode()
    assert orders["extension"][0].number in working and orders["child_review"][0].number in working
    review = client.get("/inbox/?tab=review").content.decode()
    assert orders["child_review"][0].number in review and "已联系物业更换灯泡" in review
    replied = client.get("/inbox/?tab=replied").content.decode()
    assert orders["review"][0].number in replied and orders["return"][0].number in replied


def test_the_inbox_is_for_handlers(cast, signed_in):
    assert signed_in(cast.callback_agent).get("/inbox/").status_code == 403


def test_accepting_from_the_inbox(cast, now, signed_in, dispatched):
    a = mine(dispatched, cast.tree.street)
    response = signed_in(cast.street_handler).post(
        f"/inbox/{dispatched.pk}/accept/",
        {"accept-version": dispatched.version, "accept-assignment": a.pk},
        follow=True,
    )
    assert f"已签收工单 {dispatched.number}" in response.content.decode()
    dispatched.refresh_from_db()
    assert dispatched.status == OrderStatus.IN_PROGRESS


def test_accepting_twice_is_told_not_crashed(cast, now, signed_in, dispatched):
    a = mine(dispatched, cast.tree.street)
    client = signed_in(cast.street_handler)
    body = {"accept-version": dispatched.version, "accept-assignment": a.pk}
    client.post(f"/inbox/{dispatched.pk}/accept/", body)
    again = client.post(f"/inbox/{dispatched.pk}/accept/", body, follow=True)
    assert "该工单已不需要签收" in again.content.decode()


# --- scope ---------------------------------------------------------------------------------------------


def test_an_order_outside_ones_units_is_a_chinese_403(cast, signed_in, dispatched):
    response = signed_in(cast.outsider).get(f"/orders/{dispatched.pk}/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "无权访问此页面" in html and dispatched.number not in html and dispatched.title not in html
    assert signed_in(cast.outsider).post(f"/orders/{dispatched.pk}/do/accept/", {}).status_code == 403
    assert signed_in(cast.outsider).get("/orders/987654/").status_code == 404


def test_a_handler_sees_but_cannot_act_on_another_units_stage(cast, now, signed_in, dispatched):
    """The community sees the order once it was theirs, but the street's actions are not theirs."""
    a = mine(dispatched, cast.tree.street)
    services.order_accept(order=dispatched, actor=cast.street_handler, now=now)
    response = signed_in(cast.community_handler).get(f"/orders/{dispatched.pk}/")
    assert response.status_code == 403  # never dispatched to the community: out of scope
    services.order_delegate(order=dispatched, actor=cast.street_handler, now=now, unit=cast.tree.community)
    html = signed_in(cast.community_handler).get(f"/orders/{dispatched.pk}/").content.decode()
    assert f'id="act-delegate-{a.pk}"' not in html  # the street's delegate form is not shown
    assert 'id="act-accept-' in html


# --- the unit's work -------------------------------------------------------------------------------------


def test_return_delegate_contact_and_reply(cast, now, signed_in, dispatched):
    street = signed_in(cast.street_handler)
    a = mine(dispatched, cast.tree.street)
    page = street.get(f"/orders/{dispatched.pk}/").content.decode()
    assert f'id="act-accept-{a.pk}"' in page and f'id="act-return-{a.pk}"' in page
    empty = street.post(
        f"/orders/{dispatched.pk}/do/return/",
        {"return-version": dispatched.version, "return-assignment": a.pk},
    )
    assert empty.status_code == 422 and 'id="id_return-reason_error"' in empty.content.decode()
    street.post(
        f"/orders/{dispatched.pk}/do/accept/",
        {"accept-version": dispatched.version, "accept-assignment": a.pk},
    )
    dispatched.refresh_from_db()
    page = street.get(f"/orders/{dispatched.pk}/").content.decode()
    assert f'<option value="{cast.tree.community.pk}">东华社区</option>' in page
    street.post(
        f"/orders/{dispatched.pk}/do/delegate/",
        {
            "delegate-version": dispatched.version,
            "delegate-assignment": a.pk,
            "delegate-unit": cast.tree.community.pk,
            "delegate-note": "请社区核实",
        },
    )
    child = mine(dispatched, cast.tree.community)
    assert child.parent_id == a.pk and child.status == AssignmentStatus.PENDING

    community = signed_in(cast.community_handler)
    dispatched.refresh_from_db()
    community.post(
        f"/orders/{dispatched.pk}/do/accept/",
        {"accept-version": dispatched.version, "accept-assignment": child.pk},
    )
    dispatched.refresh_from_db()
    community.post(
        f"/orders/{dispatched.pk}/do/contact/",
        {
            "contact-version": dispatched.version,
            "contact-assignment": child.pk,
            "contact-method": "phone",
            "contact-note": "已联系",
        },
    )
    assert ContactRecord.objects.filter(order=dispatched, assignment=child).count() == 1
    dispatched.refresh_from_db()
    response = community.post(
        f"/orders/{dispatched.pk}/do/reply/",
        {
            "reply-version": dispatched.version,
            "reply-assignment": child.pk,
            "reply-outcome": ReplyOutcome.RESOLVED,
            "reply-explanation": "已修复",
            "reply-photos": [upload(jpeg())],
        },
    )
    assert response.status_code == 302
    reply = Reply.objects.get(assignment=child)
    assert reply.status == ReplyStatus.PENDING_REVIEW and reply.attachments.count() == 1


def test_a_reply_with_a_refused_photo_keeps_the_text_and_changes_nothing(cast, now, signed_in, dispatched):
    a = mine(dispatched, cast.tree.street)
    services.order_accept(order=dispatched, actor=cast.street_handler, now=now)
    response = signed_in(cast.street_handler).post(
        f"/orders/{dispatched.pk}/do/reply/",
        {
            "reply-version": dispatched.version,
            "reply-assignment": a.pk,
            "reply-outcome": ReplyOutcome.RESOLVED,
            "reply-explanation": "已协调修复路灯",
            "reply-photos": [upload(b"MZ\x90\x00not a photo", "x.exe")],
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_reply-photos_error"' in html and "已协调修复路灯" in html
    assert not Reply.objects.filter(order=dispatched).exists()
    assert dispatched.attachments.count() == 0


def test_revealing_the_number_needs_a_reason_is_audited_and_never_redirected(
    cast, now, signed_in, dispatched
):
    services.order_accept(order=dispatched, actor=cast.street_handler, now=now)
    client = signed_in(cast.street_handler)
    page = client.get(f"/orders/{dispatched.pk}/").content.decode()
    assert "138****8000" in page and "13800138000" not in page
    empty = client.post(f"/orders/{dispatched.pk}/do/reveal/", {"reveal-version": dispatched.version})
    assert empty.status_code == 422 and not PhoneReveal.objects.exists()
    shown = client.post(
        f"/orders/{dispatched.pk}/do/reveal/",
        {"reveal-version": dispatched.version, "reveal-reason": "电话联系群众"},
    )
    assert shown.status_code == 200 and "13800138000" in shown.content.decode()
    assert PhoneReveal.objects.filter(order=dispatched, actor=cast.street_handler).count() == 1
    assert AuditEvent.objects.filter(event_type="orders.phone_reveal", actor=cast.street_handler).count() == 1
    assert "13800138000" not in client.get(f"/orders/{dispatched.pk}/").content.decode()


def test_a_confidential_order_hides_the_requester_from_the_handler(cast, now, signed_in, street_item):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=street_item, confidential=True)
    services.order_submit(order=order, actor=cast.agent, now=now)
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=now)
    services.order_accept(order=order, actor=cast.street_handler, now=now)
    html = signed_in(cast.street_handler).get(f"/orders/{order.pk}/").content.decode()
    assert "保密件，经热线联系" in html and "138****8000" not in html and "张*" not in html
    assert 'id="act-reveal"' not in html
    assert '<option value="hotline" selected>' in html  # contact only through the hotline


def test_extension_and_suspension_requests(cast, now, signed_in, dispatched):
    a = mine(dispatched, cast.tree.street)
    services.order_accept(order=dispatched, actor=cast.street_handler, now=now)
    client = signed_in(cast.street_handler)
    too_long = client.post(
        f"/orders/{dispatched.pk}/do/extension/",
        {
            "extension-version": dispatched.version,
            "extension-assignment": a.pk,
            "extension-amount": 99,
            "extension-reason": "x",
        },
    )
    assert too_long.status_code == 422 and 'id="id_extension-amount_error"' in too_long.content.decode()
    client.post(
        f"/orders/{dispatched.pk}/do/extension/",
        {
            "extension-version": dispatched.version,
            "extension-assignment": a.pk,
            "extension-amount": 3,
            "extension-reason": "等配件",
        },
    )
    assert ExtensionRequest.objects.filter(assignment=a).count() == 1
    dispatched.refresh_from_db()
    client.post(
        f"/orders/{dispatched.pk}/do/suspend/",
        {"suspend-version": dispatched.version, "suspend-assignment": a.pk, "suspend-reason": "需规划审批"},
    )
    assert SuspensionRequest.objects.filter(order=dispatched).count() == 1
    page = client.get(f"/orders/{dispatched.pk}/").content.decode()
    assert "act-extension-" not in page and "act-suspend-" not in page  # one pending request each


def test_the_street_reviews_the_communitys_reply_and_answers_with_it(cast, now, signed_in, street_item):
    order = fill_desks(cast, street_item, now=now)["child_review"][0]
    reply = Reply.objects.get(order=order, status=ReplyStatus.PENDING_REVIEW)
    client = signed_in(cast.street_handler)
    client.post(
        f"/orders/{order.pk}/do/review/",
        {"review-version": order.version, "review-reply": reply.pk, "review-decision": "approve"},
    )
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "已联系物业更换灯泡，恢复照明。</textarea>" in page  # the street's answer starts from it
