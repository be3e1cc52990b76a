"""A desk full of work, built through the services only: one order in each state a workbench
shows, some of them late. Used by the view tests (query counts grow with ``copies``) and the
screenshot tour.

    orders = fill_desks(cast, item, now=now)          # {"dispatch": order, "return": order, ...}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from orders import services
from orders.choices import Channel, OrderKind, ReplyOutcome, Satisfaction, Urgency
from orders.models import Order
from orders.tests.factories import make_order

H = dt.timedelta(hours=1)
TITLES = [
    ("东华路1号院门口路灯不亮已经一周", "晚上路过很黑，老人孩子走路不安全。"),
    ("小区南门两盏路灯不亮", "南门外人行道路灯坏了，希望尽快修复。"),
    ("3号楼前路灯忽明忽暗", "路灯一闪一闪，晚上影响休息。"),
    ("公园西侧路灯全部熄灭", "公园西侧步道一排路灯都不亮了。"),
    ("菜市场后街路灯杆倾斜", "路灯杆被车撞歪，存在安全隐患。"),
]


def _order(cast: Any, item: Any, now: dt.datetime, n: int, **extra: Any) -> Order:
    title, content = TITLES[n % len(TITLES)]
    values: dict[str, Any] = {
        "title": title,
        "content": content,
        "requester_name": "王芳",
        "requester_phone": f"1380000{n:04d}",
        "address_text": "东华路1号院",
    }
    values.update(extra)
    return make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=item, **values)


def _dispatched(cast: Any, item: Any, now: dt.datetime, n: int, **extra: Any) -> Order:
    order = _order(cast, item, now, n, **extra)
    services.order_submit(order=order, actor=cast.agent, now=now)
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=now + H / 4)
    return order


def fill_desks(cast: Any, item: Any, *, now: dt.datetime, copies: int = 1) -> dict[str, list[Order]]:
    """Orders in every state, ``copies`` of each (the street leads ``item``). Late ones were
    dispatched twelve days before ``now``."""
    out: dict[str, list[Order]] = {}
    n = 0

    def add(key: str, order: Order) -> None:
        out.setdefault(key, []).append(order)

    for _copy in range(copies):
        # awaiting dispatch: a hotline order (urgent) and a resident's report
        hotline = _order(cast, item, now - 2 * H, n, urgency=Urgency.URGENT)
        services.order_submit(order=hotline, actor=cast.agent, now=now - 2 * H)
        add("dispatch", hotline)
        n += 1
        web = make_order(
            actor=None,
            now=now - H,
            channel=Channel.WEB,
            kind=OrderKind.HELP,
            grid=cast.tree.grid,
            item=item,
            title=TITLES[n % 5][0],
            content=TITLES[n % 5][1],
            requester_phone=f"1390000{n:04d}",
        )
        add("dispatch", web)
        n += 1
        # with the street, to accept
        add("pending", _dispatched(cast, item, now - 3 * H, n))
        n += 1
        # in progress at the street, with an extension request
        working = _dispatched(cast, item, now - 30 * H, n)
        services.order_accept(order=working, actor=cast.street_handler, now=now - 29 * H)
        services.order_extension_request(
            order=working, actor=cast.street_handler, now=now - 2 * H, amount=3, reason="需等待路灯配件到货"
        )
        add("extension", working)
        n += 1
        # delegated to the community, which replied: the street reviews
        delegated = _dispatched(cast, item, now - 40 * H, n)
        services.order_accept(order=delegated, actor=cast.street_handler, now=now - 39 * H)
        services.order_delegate(
            order=delegated, actor=cast.street_handler, now=now - 38 * H, unit=cast.tree.community
        )
        services.order_accept(order=delegated, actor=cast.community_handler, now=now - 37 * H)
        services.order_reply(
            order=delegated,
            actor=cast.community_handler,
            now=now - 5 * H,
            outcome=ReplyOutcome.RESOLVED,
            explanation="已联系物业更换灯泡，恢复照明。",
        )
        add("child_review", delegated)
        n += 1
        # the street says it is not theirs
        returned = _dispatched(cast, item, now - 6 * H, n)
        services.order_return(
            order=returned, actor=cast.street_handler, now=now - 5 * H, reason="该路段路灯属市政管理"
        )
        add("return", returned)
        n += 1
        # answered by the street: the dispatcher reviews
        answered = _dispatched(cast, item, now - 50 * H, n)
        services.order_accept(order=answered, actor=cast.street_handler, now=now - 49 * H)
        services.order_reply(
            order=answered,
            actor=cast.street_handler,
            now=now - 4 * H,
            outcome=ReplyOutcome.RESOLVED,
            explanation="已协调供电公司修复线路。",
        )
        add("review", answered)
        n += 1
        # approved: the callback agent calls
        approved = _dispatched(cast, item, now - 60 * H, n)
        services.order_accept(order=approved, actor=cast.street_handler, now=now - 59 * H)
        services.order_reply(
            order=approved,
            actor=cast.street_handler,
            now=now - 10 * H,
            outcome=ReplyOutcome.PARTLY,
            explanation="已更换一盏，另一盏待配件。",
        )
        services.order_review_approve(order=approved, actor=cast.city_dispatcher, now=now - 9 * H)
        add("callback", approved)
        n += 1
        # late: dispatched twelve days ago and never accepted; one accepted and overdue
        late = _dispatched(cast, item, now - dt.timedelta(days=12), n)
        add("late", late)
        n += 1
        overdue = _dispatched(cast, item, now - dt.timedelta(days=12), n)
        services.order_accept(order=overdue, actor=cast.street_handler, now=now - dt.timedelta(days=11))
        add("late", overdue)
        n += 1
        # closed
        closed = _dispatched(cast, item, now - 80 * H, n)
        services.order_accept(order=closed, actor=cast.street_handler, now=now - 79 * H)
        services.order_reply(
            order=closed,
            actor=cast.street_handler,
            now=now - 30 * H,
            outcome=ReplyOutcome.RESOLVED,
            explanation="已修复。",
        )
        services.order_review_approve(order=closed, actor=cast.city_dispatcher, now=now - 29 * H)
        services.order_callback(
            order=closed,
            actor=cast.callback_agent,
            now=now - 28 * H,
            reached=True,
            satisfaction=Satisfaction.SATISFIED,
        )
        add("closed", closed)
        n += 1
    return out
