"""Builders for assessment tests: orders driven through the orders services to a callback.

order = handled_order(cast, t)                         # closed with a satisfied callback
order = handled_order(cast, t, satisfaction="dissatisfied", close=True)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from orders import services
from orders.choices import Channel, OrderKind, ReplyOutcome, Satisfaction
from orders.models import Assignment, Callback, Order
from orders.tests.factories import make_order

HOUR = dt.timedelta(hours=1)


def dispatched_order(
    cast: Any, t: dt.datetime, *, grid: Any = None, lead: Any = None, **kwargs: Any
) -> Order:
    """Registered, submitted and dispatched (to ``lead`` or the item's rule: the district) at ``t``."""
    order = make_order(
        actor=cast.agent, now=t, grid=grid if grid is not None else cast.tree.grid, item=cast.item, **kwargs
    )
    services.order_submit(order=order, actor=cast.agent, now=t)
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=t, lead_unit=lead)
    return order


def handler_for(cast: Any, order: Order) -> Any:
    lead = Assignment.objects.get(
        order=order, role="lead", parent__isnull=True, status__in=["pending", "accepted"]
    )
    return {
        cast.tree.district.pk: cast.district_handler,
        cast.tree.street.pk: cast.street_handler,
        cast.tree.department.pk: cast.dept_handler,
        cast.tree.community.pk: cast.community_handler,
        cast.tree.other_district.pk: cast.outsider,
        **getattr(cast, "extra_handlers", {}),
    }[lead.unit_id]


def reply_and_approve(cast: Any, order: Order, t: dt.datetime, *, accept: bool = True) -> dt.datetime:
    """Accept (optionally), contact, reply and approve, one hour apart from ``t``; returns the
    time of the approval."""
    handler = handler_for(cast, order)
    if accept:
        services.order_accept(order=order, actor=handler, now=t)
    services.order_record_contact(order=order, actor=handler, now=t + HOUR)
    services.order_reply(
        order=order, actor=handler, now=t + 2 * HOUR, outcome=ReplyOutcome.RESOLVED, explanation="已处理完毕"
    )
    services.order_review_approve(order=order, actor=cast.city_dispatcher, now=t + 3 * HOUR)
    return t + 3 * HOUR


def call_back(
    cast: Any,
    order: Order,
    t: dt.datetime,
    *,
    reached: bool = True,
    satisfaction: str = Satisfaction.SATISFIED,
    contacted: bool | None = True,
    resolved: bool | None = True,
    close: bool = False,
) -> Callback:
    """The callback at ``t``; ``close`` lets the dispatcher close an order the callback left open."""
    cb = services.order_callback(
        order=order,
        actor=cast.callback_agent,
        now=t,
        reached=reached,
        satisfaction=satisfaction if reached else "",
        unit_contacted=contacted if reached else None,
        resolved=resolved if reached else None,
    )
    if close and order.status != "closed":
        services.order_close(
            order=order, actor=cast.city_dispatcher, now=t + dt.timedelta(minutes=30), reason="经研判予以办结"
        )
    return cb


def handled_order(
    cast: Any,
    t: dt.datetime,
    *,
    grid: Any = None,
    lead: Any = None,
    satisfaction: str = Satisfaction.SATISFIED,
    reached: bool = True,
    contacted: bool | None = True,
    resolved: bool | None = True,
    close: bool = True,
    callback_at: dt.datetime | None = None,
    **kwargs: Any,
) -> Order:
    """An order dispatched at ``t``, handled within hours, called back at ``callback_at`` (default
    ``t`` + 5 h) and — with ``close`` — closed (by the callback, or by the dispatcher)."""
    order = dispatched_order(cast, t, grid=grid, lead=lead, **kwargs)
    approved = reply_and_approve(cast, order, t + HOUR)
    call_back(
        cast,
        order,
        callback_at or approved + HOUR,
        reached=reached,
        satisfaction=satisfaction,
        contacted=contacted,
        resolved=resolved,
        close=close,
    )
    order.refresh_from_db()
    return order


def consultation_answered(cast: Any, t: dt.datetime) -> Order:
    order = make_order(
        actor=cast.agent,
        now=t,
        grid=cast.tree.grid,
        item=cast.item,
        kind=OrderKind.CONSULTATION,
        channel=Channel.HOTLINE,
    )
    services.order_answer_directly(
        order=order, actor=cast.agent, now=t, answer="按知识库答复：办理时间为工作日。"
    )
    order.refresh_from_db()
    return order
