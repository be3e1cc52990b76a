"""Builders for order tests: people, catalog items with rules, orders, and ``walk_to`` which drives
an order through the services to any state (the services are the only way to get there).

    item = make_item()                                   # 施工噪音, district leads, 1/2/5 working days
    order = make_order(actor=cast.agent, now=NOW)        # registered at the city, in 东华一网格
    walk_to(order, OrderStatus.IN_PROGRESS, cast, NOW)   # submitted, dispatched, accepted
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import count
from typing import Any

from catalog.choices import HandlingLevel, LimitUnit
from catalog.services import category_create, item_create, rule_create
from orders import services
from orders.choices import Channel, OrderKind, OrderStatus, ReplyOutcome, Satisfaction
from orders.models import Order
from orgs.choices import UnitKind
from orgs.services import membership_grant
from orgs.tests.factories import UserFactory

_codes = count(1)
LEVELS: dict[str, str] = {
    UnitKind.CITY: HandlingLevel.CITY,
    UnitKind.DISTRICT: HandlingLevel.DISTRICT,
    UnitKind.STREET: HandlingLevel.STREET,
    UnitKind.COMMUNITY: HandlingLevel.COMMUNITY,
}
HOUR = dt.timedelta(hours=1)


def person(username: str, unit: Any, role: str, **extra: Any) -> Any:
    user = UserFactory.create(username=username, display_name=username, **extra)
    membership_grant(actor=None, user=user, unit=unit, role=role)
    return user


def make_item(
    *,
    name: str = "施工噪音",
    lead_kind: str = UnitKind.DISTRICT,
    lead_unit: Any = None,
    limits: tuple[int, int, int] = (1, 2, 5),
    limit_unit: str = LimitUnit.WORKING_DAYS,
    assist_units: tuple[Any, ...] = (),
    with_rule: bool = True,
) -> Any:
    n = next(_codes)
    top = category_create(actor=None, code=f"9{n:03d}", name=f"大类{n}")
    sub = category_create(actor=None, code=f"9{n:03d}01", name=f"小类{n}", parent=top)
    item = item_create(actor=None, code=f"9{n:03d}0101", name=name, subcategory=sub)
    if with_rule:
        rule_create(
            actor=None,
            item=item,
            handling_level=LEVELS.get(lead_kind, HandlingLevel.DISTRICT)
            if lead_unit is None
            else HandlingLevel.CITY,
            lead_kind="" if lead_unit is not None else lead_kind,
            lead_unit=lead_unit,
            assist_units=assist_units,
            limit_unit=limit_unit,
            accept_within=limits[0],
            contact_within=limits[1],
            reply_within=limits[2],
        )
    return item


def order_fields(**kwargs: Any) -> dict[str, Any]:
    """A hotline complaint's registration fields, with ``kwargs`` over them."""
    values: dict[str, Any] = {
        "channel": Channel.HOTLINE,
        "kind": OrderKind.COMPLAINT,
        "title": "夜间施工噪音扰民",
        "content": "小区旁工地每晚十一点后仍在施工，噪音很大。",
        "requester_name": "张三",
        "requester_phone": "13800138000",
    }
    values.update(kwargs)
    return values


def make_order(*, actor: Any, now: dt.datetime, grid: Any = None, **kwargs: Any) -> Order:
    return services.order_create(actor=actor, now=now, grid=grid, **order_fields(**kwargs))


@dataclass
class Cast:
    """The people of the order tests on the root ``tree`` (see ``orders/tests/conftest.py``)."""

    tree: Any
    agent: Any
    city_dispatcher: Any
    callback_agent: Any
    district_dispatcher: Any
    district_handler: Any
    street_handler: Any
    community_handler: Any
    dept_handler: Any
    supervisor: Any
    outsider: Any
    item: Any


# The order in which walk_to passes through the states.
PATH = [
    OrderStatus.REGISTERED,
    OrderStatus.AWAITING_DISPATCH,
    OrderStatus.AWAITING_ACCEPTANCE,
    OrderStatus.IN_PROGRESS,
    OrderStatus.AWAITING_REVIEW,
    OrderStatus.AWAITING_CALLBACK,
    OrderStatus.CLOSED,
]


def walk_to(order: Order, status: str, cast: Cast, now: dt.datetime) -> Order:
    """Drive ``order`` (registered, created by ``cast.agent``) to ``status`` through the services,
    one hour per step. The district leads (the item's rule); the district handler works it."""
    t = now
    if status == OrderStatus.WITHDRAWN:
        services.order_withdraw(order=order, actor=cast.agent, now=t, reason="群众撤回")
        return order
    if status == OrderStatus.REGISTERED:
        return order
    services.order_submit(order=order, actor=cast.agent, now=t)
    if status == OrderStatus.AWAITING_DISPATCH:
        return order
    if status == OrderStatus.MERGED:
        parent = make_order(actor=cast.agent, now=t, grid=order.grid, item=order.item, submit=True)
        services.order_merge(order=order, actor=cast.city_dispatcher, now=t + HOUR, parent=parent)
        return order
    t += HOUR
    services.order_dispatch(order=order, actor=cast.city_dispatcher, now=t)
    if status == OrderStatus.AWAITING_ACCEPTANCE:
        return order
    t += HOUR
    if status == OrderStatus.RETURN_REQUESTED:
        services.order_return(order=order, actor=cast.district_handler, now=t, reason="不属于本区职责")
        return order
    services.order_accept(order=order, actor=cast.district_handler, now=t)
    if status == OrderStatus.IN_PROGRESS:
        return order
    t += HOUR
    if status == OrderStatus.SUSPENDED:
        request = services.order_suspend_request(
            order=order, actor=cast.district_handler, now=t, reason="需等待规划审批"
        )
        services.order_suspend_approve(order=order, actor=cast.city_dispatcher, now=t + HOUR, request=request)
        return order
    services.order_reply(
        order=order,
        actor=cast.district_handler,
        now=t,
        outcome=ReplyOutcome.RESOLVED,
        explanation="已责令停工",
    )
    if status == OrderStatus.AWAITING_REVIEW:
        return order
    t += HOUR
    services.order_review_approve(order=order, actor=cast.city_dispatcher, now=t)
    if status == OrderStatus.AWAITING_CALLBACK:
        return order
    t += HOUR
    services.order_callback(
        order=order, actor=cast.callback_agent, now=t, reached=True, satisfaction=Satisfaction.SATISFIED
    )
    if status == OrderStatus.CLOSED:
        return order
    raise ValueError(f"walk_to cannot reach {status}")
