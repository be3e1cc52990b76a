"""Each workbench page costs a fixed number of queries, however much work is on it (no N+1):
the count is pinned (STYLE.md rule 16), and the same with one and with three orders of each kind.

The pinned numbers include the page shell (session, user, OTP device, memberships, the unread
count) and the permission checks a page makes once. The queues prefer several small indexed
queries (the page's ids, the scope check on those ids, the rows; capped counts) to one query
whose plan degrades on a city of a million orders — ``bench/bench_pages.py`` measures them there.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from workbench.tests.scenarios import fill_desks

pytestmark = pytest.mark.django_db

# page → (the person's role in the cast, URL, pinned query count). The desks read the person's
# memberships once per request (orgs.selectors.membership_rows) and pass their units as literals.
PAGES = {
    "dispatch": ("city_dispatcher", "/dispatch/", 21),
    "dispatch-returns": ("city_dispatcher", "/dispatch/?tab=returns", 17),
    "dispatch-review": ("city_dispatcher", "/dispatch/?tab=review", 17),
    "dispatch-requests": ("city_dispatcher", "/dispatch/?tab=requests", 15),
    "inbox-pending": ("street_handler", "/inbox/", 19),
    "inbox-working": ("street_handler", "/inbox/?tab=working", 19),
    "inbox-review": ("street_handler", "/inbox/?tab=review", 15),
    "callbacks": ("callback_agent", "/callbacks/", 13),
    "supervision": ("supervisor", "/supervision/", 12),
    "orders": ("city_dispatcher", "/orders/", 9),
    "notifications": ("street_handler", "/notifications/", 7),
    "call-new": ("agent", "/calls/new/", 6),
}


def measure(client, url: str) -> int:
    client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", list(PAGES))
def test_a_page_costs_the_same_with_more_work_on_it(page, cast, now, signed_in, street_item):
    role, url, pinned = PAGES[page]
    client = signed_in(getattr(cast, role))
    fill_desks(cast, street_item, now=now, copies=1)
    one = measure(client, url)
    fill_desks(cast, street_item, now=now, copies=2)
    three = measure(client, url)
    assert (one, three) == (pinned, pinned)


def test_the_order_detail_costs_the_same_however_long_its_timeline(cast, now, signed_in, street_item):
    from orders import services
    from orders.models import OrderEvent

    order = fill_desks(cast, street_item, now=now)["pending"][0]
    client = signed_in(cast.city_dispatcher)
    short = measure(client, f"/orders/{order.pk}/")
    for n in range(6):
        services.order_urge(order=order, actor=cast.city_dispatcher, now=now, message=f"第{n + 1}次催办")
    assert OrderEvent.objects.filter(order=order).count() == 9
    # 25 + the resident's own rating (群众自评), read once whatever the timeline
    assert measure(client, f"/orders/{order.pk}/") == short == 26


def test_the_call_page_costs_the_same_however_long_the_callers_history(cast, now, signed_in, street_item):
    from intake import services as intake_services
    from orders.tests.factories import make_order
    from orgs.tests.factories import UserFactory

    account = UserFactory.create(username="pbx")
    security = UserFactory.create(username="sec", admin_role="security", is_staff=True)
    system = intake_services.telephony_system_create(
        actor=security, name="pbx", user=account, unit=cast.tree.city, now=now
    )
    call, _ = intake_services.call_record(
        system=system, call_id="C1", caller_number="13800138000", agent_code="agent", now=now
    )
    client = signed_in(cast.agent)
    make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=street_item)
    one = measure(client, f"/calls/{call.pk}")
    for _n in range(3):
        make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=street_item)
    assert measure(client, f"/calls/{call.pk}") == one == 8
