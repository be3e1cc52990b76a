"""A uniform way to perform any action of ``orders.states.TRANSITIONS`` in tests.

``SPECS[action]`` says from which state the action is normally taken (``state``), by whom
(``actor``), what must exist first (``prepare`` returns the keyword arguments, e.g. a pending
extension request) and which service runs it (``run``). The transition matrix, the permission
tests and the state machine all use it, so every action is exercised the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orders import services
from orders.choices import Action, ContactMethod, OrderStatus, ReplyOutcome, Satisfaction
from orders.models import ExtensionRequest, Order, SuspensionRequest
from orders.tests.factories import HOUR, Cast, make_order, walk_to

Prepare = Callable[[Order, Cast, dt.datetime], dict[str, Any]]


def _nothing(order: Order, cast: Cast, t: dt.datetime) -> dict[str, Any]:
    return {}


def _extension(order: Order, cast: Cast, t: dt.datetime) -> dict[str, Any]:
    request = services.order_extension_request(
        order=order, actor=cast.district_handler, now=t, amount=2, reason="需协调施工单位"
    )
    return {"request": request}


def _suspension(order: Order, cast: Cast, t: dt.datetime) -> dict[str, Any]:
    request = services.order_suspend_request(
        order=order, actor=cast.district_handler, now=t, reason="待规划审批"
    )
    return {"request": request}


def _parent(order: Order, cast: Cast, t: dt.datetime) -> dict[str, Any]:
    parent = make_order(actor=cast.agent, now=t, grid=order.grid, item=order.item, submit=True)
    return {"parent": parent}


def _merged_with_answer(order: Order, cast: Cast, t: dt.datetime) -> dict[str, Any]:
    """``order`` is merged already (state MERGED); give its parent an approved answer."""
    assert order.parent_id is not None
    parent = Order.objects.get(pk=order.parent_id)
    services.order_dispatch(order=parent, actor=cast.city_dispatcher, now=t)
    services.order_accept(order=parent, actor=cast.district_handler, now=t + HOUR)
    services.order_reply(
        order=parent,
        actor=cast.district_handler,
        now=t + 2 * HOUR,
        outcome=ReplyOutcome.RESOLVED,
        explanation="已处理",
    )
    services.order_review_approve(order=parent, actor=cast.city_dispatcher, now=t + 3 * HOUR)
    order.refresh_from_db()
    return {}


@dataclass(frozen=True)
class Spec:
    state: str
    actor: Callable[[Cast], Any]
    run: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    prepare: Prepare = _nothing
    order_kwargs: dict[str, Any] = field(default_factory=dict)
    # someone close to the right actor who must still be refused
    near_miss: Callable[[Cast], Any] | None = None


REASON = {"reason": "理由充分"}

SPECS: dict[Action, Spec] = {
    Action.ANSWER_DIRECTLY: Spec(
        OrderStatus.REGISTERED,
        lambda c: c.agent,
        services.order_answer_directly,
        {"answer": "办理地点在区政务服务中心"},
        near_miss=lambda c: c.district_handler,
    ),
    Action.SUBMIT: Spec(
        OrderStatus.REGISTERED, lambda c: c.agent, services.order_submit, near_miss=lambda c: c.street_handler
    ),
    Action.WITHDRAW: Spec(
        OrderStatus.REGISTERED,
        lambda c: c.agent,
        services.order_withdraw,
        REASON,
        near_miss=lambda c: c.street_handler,
    ),
    Action.DISPATCH: Spec(
        OrderStatus.AWAITING_DISPATCH,
        lambda c: c.city_dispatcher,
        services.order_dispatch,
        near_miss=lambda c: c.district_dispatcher,
    ),
    Action.MERGE: Spec(
        OrderStatus.AWAITING_DISPATCH,
        lambda c: c.city_dispatcher,
        services.order_merge,
        prepare=_parent,
        near_miss=lambda c: c.district_dispatcher,
    ),
    Action.ACCEPT: Spec(
        OrderStatus.AWAITING_ACCEPTANCE,
        lambda c: c.district_handler,
        services.order_accept,
        near_miss=lambda c: c.street_handler,
    ),
    Action.RETURN: Spec(
        OrderStatus.AWAITING_ACCEPTANCE,
        lambda c: c.district_handler,
        services.order_return,
        REASON,
        near_miss=lambda c: c.street_handler,
    ),
    Action.RETURN_UPHOLD: Spec(
        OrderStatus.RETURN_REQUESTED,
        lambda c: c.city_dispatcher,
        services.order_return_uphold,
        near_miss=lambda c: c.district_handler,
    ),
    Action.RETURN_REJECT: Spec(
        OrderStatus.RETURN_REQUESTED,
        lambda c: c.city_dispatcher,
        services.order_return_reject,
        REASON,
        near_miss=lambda c: c.district_handler,
    ),
    Action.DELEGATE: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.district_handler,
        services.order_delegate,
        prepare=lambda o, c, t: {"unit": c.tree.street},
        near_miss=lambda c: c.street_handler,
    ),
    Action.RECORD_CONTACT: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.district_handler,
        services.order_record_contact,
        {"method": ContactMethod.PHONE, "note": "已电话联系"},
        near_miss=lambda c: c.street_handler,
    ),
    Action.REVEAL_PHONE: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.district_handler,
        services.order_reveal_phone,
        REASON,
        near_miss=lambda c: c.street_handler,
    ),
    Action.EXTENSION_REQUEST: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.district_handler,
        services.order_extension_request,
        {"amount": 3, "reason": "需协调施工单位"},
        near_miss=lambda c: c.street_handler,
    ),
    Action.EXTENSION_APPROVE: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.city_dispatcher,
        services.order_extension_approve,
        prepare=_extension,
        near_miss=lambda c: c.district_handler,
    ),
    Action.EXTENSION_REFUSE: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.city_dispatcher,
        services.order_extension_refuse,
        REASON,
        prepare=_extension,
        near_miss=lambda c: c.district_handler,
    ),
    Action.SUSPEND_REQUEST: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.district_handler,
        services.order_suspend_request,
        REASON,
        near_miss=lambda c: c.street_handler,
    ),
    Action.SUSPEND_APPROVE: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.city_dispatcher,
        services.order_suspend_approve,
        prepare=_suspension,
        near_miss=lambda c: c.district_handler,
    ),
    Action.SUSPEND_REFUSE: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.city_dispatcher,
        services.order_suspend_refuse,
        REASON,
        prepare=_suspension,
        near_miss=lambda c: c.district_handler,
    ),
    Action.RESUME: Spec(
        OrderStatus.SUSPENDED,
        lambda c: c.city_dispatcher,
        services.order_resume,
        near_miss=lambda c: c.street_handler,
    ),
    Action.ESCALATE: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.supervisor,
        services.order_escalate,
        REASON,
        order_kwargs={"dispatch_level": "district"},
        near_miss=lambda c: c.street_handler,
    ),
    Action.REPLY: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.district_handler,
        services.order_reply,
        {"outcome": ReplyOutcome.RESOLVED, "explanation": "已责令夜间停工"},
        near_miss=lambda c: c.street_handler,
    ),
    Action.REVIEW_APPROVE: Spec(
        OrderStatus.AWAITING_REVIEW,
        lambda c: c.city_dispatcher,
        services.order_review_approve,
        near_miss=lambda c: c.district_handler,
    ),
    Action.REVIEW_SEND_BACK: Spec(
        OrderStatus.AWAITING_REVIEW,
        lambda c: c.city_dispatcher,
        services.order_review_send_back,
        REASON,
        near_miss=lambda c: c.district_handler,
    ),
    Action.CALLBACK: Spec(
        OrderStatus.AWAITING_CALLBACK,
        lambda c: c.callback_agent,
        services.order_callback,
        {"reached": True, "satisfaction": Satisfaction.SATISFIED},
        near_miss=lambda c: c.city_dispatcher,
    ),
    Action.CALLBACK_MERGED: Spec(
        OrderStatus.MERGED,
        lambda c: c.callback_agent,
        services.order_callback_merged,
        {"reached": True, "satisfaction": Satisfaction.BASICALLY},
        prepare=_merged_with_answer,
        near_miss=lambda c: c.city_dispatcher,
    ),
    Action.REOPEN: Spec(
        OrderStatus.AWAITING_CALLBACK,
        lambda c: c.city_dispatcher,
        services.order_reopen,
        REASON,
        near_miss=lambda c: c.callback_agent,
    ),
    Action.CLOSE: Spec(
        OrderStatus.AWAITING_CALLBACK,
        lambda c: c.city_dispatcher,
        services.order_close,
        REASON,
        near_miss=lambda c: c.callback_agent,
    ),
    Action.URGE: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.supervisor,
        services.order_urge,
        {"message": "请加快办理"},
        near_miss=lambda c: c.street_handler,
    ),
    Action.SUPERVISE: Spec(
        OrderStatus.IN_PROGRESS,
        lambda c: c.supervisor,
        services.order_supervise,
        REASON,
        near_miss=lambda c: c.street_handler,
    ),
}


def new_order(action: Action, cast: Cast, t: dt.datetime) -> Order:
    extra = dict(SPECS[action].order_kwargs)
    if extra.pop("dispatch_level", None) == "district":
        extra["dispatch_unit"] = cast.tree.district
    return make_order(actor=cast.agent, now=t, grid=cast.tree.grid, item=cast.item, **extra)


def ready(
    action: Action, cast: Cast, t: dt.datetime, state: str | None = None
) -> tuple[Order, dict[str, Any]]:
    """An order in ``state`` (default: the action's usual source state) and the call's kwargs."""
    spec = SPECS[action]
    order = new_order(action, cast, t)
    walk_to(order, state or spec.state, cast, t)
    later = t + 10 * HOUR
    kwargs = dict(spec.kwargs)
    if state is None or state == spec.state:
        kwargs.update(spec.prepare(order, cast, later))
    else:
        kwargs.update(_placeholders(action, order, cast, later))
    return order, kwargs


def _placeholders(action: Action, order: Order, cast: Cast, t: dt.datetime) -> dict[str, Any]:
    """Arguments for a call that must be refused on state before anything else is looked at."""
    if action in (Action.EXTENSION_APPROVE, Action.EXTENSION_REFUSE):
        return {"request": ExtensionRequest(pk=0)}
    if action in (Action.SUSPEND_APPROVE, Action.SUSPEND_REFUSE):
        return {"request": SuspensionRequest(pk=0)}
    if action == Action.MERGE:
        return _parent(order, cast, t)
    if action == Action.DELEGATE:
        return {"unit": cast.tree.street}
    return {}


def perform(action: Action, order: Order, actor: Any, t: dt.datetime, **kwargs: Any) -> Any:
    return SPECS[action].run(order=order, actor=actor, now=t, **kwargs)
