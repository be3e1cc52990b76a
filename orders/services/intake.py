"""Intake 接诉: create (idempotent), answer directly, submit, withdraw, merge duplicates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from catalog.models import CatalogItem, KnowledgeAnswer
from core.crypto import search_hash
from core.masking import is_valid_id_number, normalize_phone
from core.workcalendar import local_date
from orders import permissions
from orders.choices import (
    Action,
    Channel,
    EventType,
    OrderKind,
    OrderStatus,
    ReplyOutcome,
    Urgency,
)
from orders.errors import InvalidInput, TransitionNotAllowed
from orders.models import Order, OrderEvent
from orders.services._core import (
    begin,
    cancel_active,
    dispatchers,
    notify,
    require,
    require_reason,
    sync,
    transition,
)
from orgs.addresses import address_lookup
from orgs.choices import UnitKind
from orgs.geo import CoordinatesError, CoordSystem, to_wgs84
from orgs.grid_services import grid_for_point
from orgs.models import Address, Membership, Unit, UnitClosure
from orgs.selectors import unit_ancestors

TITLE_MAX = 200
CONTENT_MAX = 10000
# Self-service channels skip the registered step: the resident's submission is the submission.
SELF_SERVICE_CHANNELS = frozenset({Channel.WEB, Channel.MOBILE, Channel.OPEN311})
# Whose membership unit is the intake unit, in this order of preference.
INTAKE_ROLE_ORDER = ("agent", "dispatcher", "grid_worker", "handler", "secretary")


# Standard SQL quoting, the same on PostgreSQL and SQLite; the table is ``OrderNumberCounter``'s.
_NUMBER_UPSERT = (
    'INSERT INTO "orders_ordernumbercounter" ("day", "last") VALUES (%s, 1) '
    'ON CONFLICT ("day") DO UPDATE SET "last" = "orders_ordernumbercounter"."last" + 1 '
    'RETURNING "last"'
)


def allocate_number(*, now: dt.datetime) -> str:
    """``YYYYMMDD`` (Asia/Shanghai) + a 6-digit sequence from the day's counter row. One upsert
    (``INSERT … ON CONFLICT (day) DO UPDATE … RETURNING``, PostgreSQL and SQLite ≥ 3.35) bumps the
    counter under its row lock (the write lock on SQLite), so two concurrent creations never share a
    number; the unique constraint on ``Order.number`` backs it."""
    day = local_date(now)
    with connection.cursor() as cursor:
        cursor.execute(_NUMBER_UPSERT, [day])
        seq = cursor.fetchone()[0]
    return f"{day:%Y%m%d}{seq:06d}"


def _actor_intake(actor: Any) -> tuple[bool, Unit | None, int | None]:
    """(may create, intake unit, the intake unit's root) for a staff ``actor`` from one query:
    their memberships at active units with each unit's tree root (the closure row whose ancestor
    has no parent)."""
    if not getattr(actor, "pk", None):
        return False, None, None
    root = UnitClosure.objects.filter(descendant_id=OuterRef("unit_id"), ancestor__parent__isnull=True)
    memberships = list(
        Membership.objects.filter(user_id=actor.pk, unit__is_active=True)
        .select_related("unit")
        .annotate(root_id=Subquery(root.values("ancestor_id")[:1]))
        .order_by("unit__level")
    )
    allowed = permissions.actor_has_scope(actor) and any(
        m.role in permissions.CREATE_ROLES for m in memberships
    )
    for role in INTAKE_ROLE_ORDER:
        for m in memberships:
            if m.role == role:
                return allowed, m.unit, m.root_id
    if memberships:
        return allowed, memberships[0].unit, memberships[0].root_id
    return allowed, None, None


def _intake_unit(actor: Any) -> Unit | None:
    return _actor_intake(actor)[1]


def _root_of(unit: Unit | None) -> Unit | None:
    if unit is None:
        return None
    if unit.parent_id is None:
        return unit
    return unit_ancestors(unit).first()


def default_dispatch_unit(*, intake_unit: Unit | None, grid: Unit | None) -> Unit:
    """The level that dispatches a new order: the root (city) of the intake unit's or the grid's
    tree — the 12345 centre — else the first active city."""
    root = _root_of(intake_unit) or _root_of(grid)
    if root is None:
        root = (
            Unit.objects.filter(kind=UnitKind.CITY, is_active=True, parent__isnull=True)
            .order_by("code")
            .first()
        )
    if root is None:
        raise InvalidInput(_("尚未建立组织机构，无法受理工单。"))
    return root


def resolve_location(
    *,
    grid: Unit | None,
    address: Address | None,
    address_text: str,
    lon: float | None,
    lat: float | None,
    coord_system: CoordSystem | str,
) -> tuple[Unit | None, Address | None, float | None, float | None]:
    """(grid, address, lon, lat) in WGS-84: a grid given wins, then the point's grid
    (``orgs.grid_services.grid_for_point``), then the address's (``orgs.addresses``)."""
    if grid is not None and grid.kind != UnitKind.GRID:
        raise InvalidInput(_("「%(n)s」不是网格。") % {"n": grid.name})
    if (lon is None) != (lat is None):
        raise InvalidInput(_("经度和纬度须同时填写。"))
    if lon is not None and lat is not None:
        try:
            lon, lat = to_wgs84(float(lon), float(lat), coord_system)
        except (CoordinatesError, TypeError, ValueError) as exc:
            raise InvalidInput(str(exc)) from None
    if address is None and address_text.strip():
        address = address_lookup(address_text)
    if grid is None and lon is not None and lat is not None:
        grid = grid_for_point(lon, lat)
    if grid is None and address is not None and address.grid_id is not None:
        grid = address.grid
    if lon is None and address is not None and address.lon is not None:
        lon, lat = address.lon, address.lat
    return grid, address, lon, lat


def order_create(
    *,
    actor: Any,
    now: dt.datetime,
    channel: str,
    kind: str,
    title: str,
    content: str,
    urgency: str = Urgency.NORMAL,
    item: CatalogItem | None = None,
    address_text: str = "",
    address: Address | None = None,
    lon: float | None = None,
    lat: float | None = None,
    coord_system: CoordSystem | str = CoordSystem.WGS84,
    grid: Unit | None = None,
    requester_name: str = "",
    requester_phone: str = "",
    requester_id_number: str = "",
    confidential: bool = False,
    client_request_id: str | None = None,
    call_id: str | None = None,
    intake_unit: Unit | None = None,
    dispatch_unit: Unit | None = None,
    submit: bool | None = None,
) -> Order:
    """Register an order. ``actor`` is the staff member, or None for residents and integrations.

    Idempotent on ``client_request_id``: a retry returns the order the first call created (also
    when two calls race — the unique constraint decides, the loser returns the winner's order).
    The grid comes from ``grid``, else the point (``coord_system`` declares it), else the address.
    ``submit`` (default: by channel — self-service channels submit at once) goes straight to
    awaiting dispatch. Phone and ID number are encrypted with keyed search hashes (PI-3).
    """
    request_id = (client_request_id or "").strip() or None
    if request_id is not None and len(request_id) > 64:
        raise InvalidInput(_("客户端请求号不能超过64个字符。"))
    actor_root_id: int | None = None
    if actor is not None:
        allowed, actor_unit, actor_root_id = _actor_intake(actor)
        require(allowed, _("您没有登记工单的权限。"))
        if intake_unit is None:
            intake_unit = actor_unit
        elif not Membership.objects.filter(user_id=actor.pk, unit=intake_unit).exists():
            raise InvalidInput(_("受理单位须是您所在的单位。"))
        else:
            actor_root_id = None
    _validate(channel=channel, kind=kind, urgency=urgency, title=title, content=content)
    phone = normalize_phone(requester_phone) if requester_phone.strip() else ""
    if requester_phone.strip() and len(phone) < 5:
        raise InvalidInput(_("联系电话格式不正确。"))
    id_number = requester_id_number.strip().upper()
    if id_number and not is_valid_id_number(id_number):
        raise InvalidInput(_("身份证号格式或校验位不正确。"))
    if item is not None and not item.is_active:
        raise InvalidInput(_("事项「%(n)s」已停用。") % {"n": item.name})
    grid, address, lon, lat = resolve_location(
        grid=grid, address=address, address_text=address_text, lon=lon, lat=lat, coord_system=coord_system
    )
    if dispatch_unit is not None:
        level_id = dispatch_unit.pk
    elif actor_root_id is not None:
        level_id = actor_root_id
    else:
        dispatch_unit = default_dispatch_unit(intake_unit=intake_unit, grid=grid)
        level_id = dispatch_unit.pk
    if submit is None:
        submit = channel in SELF_SERVICE_CHANNELS
    status = OrderStatus.AWAITING_DISPATCH if submit else OrderStatus.REGISTERED
    holder_id = level_id if submit or intake_unit is None else intake_unit.pk
    order = Order(
        number="",
        channel=channel,
        kind=kind,
        urgency=urgency,
        status=status,
        version=0,
        last_seq=1,
        item=item,
        title=title.strip(),
        content=content.strip(),
        address_text=(address_text or (address.text if address else "")).strip()[:255],
        address=address,
        lon=lon,
        lat=lat,
        grid=grid,
        requester_name=requester_name.strip(),
        requester_phone=phone,
        requester_id_number=id_number,
        requester_phone_hash=search_hash(phone, kind="phone") if phone else "",
        requester_id_hash=search_hash(id_number, kind="id_number") if id_number else "",
        confidential=confidential,
        client_request_id=request_id,
        call_id=(call_id or "").strip() or None,
        created_by=actor if getattr(actor, "pk", None) else None,
        intake_unit=intake_unit,
        dispatch_unit_id=level_id,
        holder_unit_id=holder_id,
        created_at=now,
        updated_at=now,
    )
    # One transaction (a savepoint inside a caller's): a lost race on the request id rolls back
    # everything, the day's number included, and returns the winner's order.
    try:
        with transaction.atomic():
            order.number = allocate_number(now=now)
            order.save(force_insert=True)
            event = OrderEvent.objects.create(
                order=order,
                seq=1,
                type=EventType.CREATED,
                actor=order.created_by,
                actor_unit=intake_unit,
                from_status="",
                to_status=status,
                payload={
                    "channel": channel,
                    "kind": kind,
                    "urgency": urgency,
                    "item": item.pk if item else None,
                    "grid": grid.pk if grid else None,
                    "dispatch_unit": level_id,
                    "call_id": order.call_id,
                },
                occurred_at=now,
            )
            if submit:
                notify(event, order, dispatchers(order), actor=actor)
    except IntegrityError:
        if request_id is not None:
            winner = Order.objects.filter(client_request_id=request_id).first()
            if winner is not None:
                return winner
        raise
    return order


def _validate(*, channel: str, kind: str, urgency: str, title: str, content: str) -> None:
    if channel not in Channel.values:
        raise InvalidInput(_("未知的来源渠道。"))
    if kind not in OrderKind.values:
        raise InvalidInput(_("未知的诉求类型。"))
    if urgency not in Urgency.values:
        raise InvalidInput(_("未知的紧急程度。"))
    if not title.strip():
        raise InvalidInput(_("请填写标题。"))
    if len(title.strip()) > TITLE_MAX:
        raise InvalidInput(_("标题不能超过%(n)d个字。") % {"n": TITLE_MAX})
    if not content.strip():
        raise InvalidInput(_("请填写诉求内容。"))
    if len(content) > CONTENT_MAX:
        raise InvalidInput(_("诉求内容不能超过%(n)d个字。") % {"n": CONTENT_MAX})


@transaction.atomic
def order_answer_directly(
    *, order: Order, actor: Any, now: dt.datetime, answer: str, knowledge: KnowledgeAnswer | None = None
) -> OrderEvent:
    """A consultation answered at once (from the knowledge base): registered → closed."""
    current = begin(order, Action.ANSWER_DIRECTLY)
    require(permissions.can_answer_directly(actor, current))
    text = require_reason(answer, what=_("请填写答复内容。"))
    event = transition(
        current,
        Action.ANSWER_DIRECTLY,
        actor=actor,
        now=now,
        to_status=OrderStatus.CLOSED,
        actor_unit=current.intake_unit,
        reason=text,
        payload={"knowledge": knowledge.pk if knowledge else None},
        fields={"public_reply": text, "reply_outcome": ReplyOutcome.RESOLVED, "closed_at": now},
    )
    sync(order, current)
    return event


@transaction.atomic
def order_submit(
    *, order: Order, actor: Any, now: dt.datetime, item: CatalogItem | None = None
) -> OrderEvent:
    """Registered → awaiting dispatch (optionally classifying it first)."""
    current = begin(order, Action.SUBMIT)
    require(permissions.can_submit(actor, current))
    fields: dict[str, Any] = {}
    if item is not None:
        if not item.is_active:
            raise InvalidInput(_("事项「%(n)s」已停用。") % {"n": item.name})
        fields["item_id"] = item.pk
    event = transition(
        current,
        Action.SUBMIT,
        actor=actor,
        now=now,
        to_status=OrderStatus.AWAITING_DISPATCH,
        actor_unit=current.intake_unit_id,
        fields=fields,
    )
    notify(event, current, dispatchers(current), actor=actor)
    sync(order, current)
    return event


@transaction.atomic
def order_withdraw(*, order: Order, actor: Any, now: dt.datetime, reason: str) -> OrderEvent:
    """Registered or awaiting dispatch → withdrawn (the resident withdrew, or a mistaken entry)."""
    current = begin(order, Action.WITHDRAW)
    require(permissions.can_withdraw(actor, current))
    text = require_reason(reason)
    cancel_active(current, now=now)
    event = transition(
        current,
        Action.WITHDRAW,
        actor=actor,
        now=now,
        to_status=OrderStatus.WITHDRAWN,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.INTAKE_ROLES),
        reason=text,
        fields={"closed_at": now},
    )
    sync(order, current)
    return event


@transaction.atomic
def order_merge(*, order: Order, actor: Any, now: dt.datetime, parent: Order, reason: str = "") -> OrderEvent:
    """Merge a duplicate (awaiting dispatch) under ``parent``: the child follows the parent's
    answer and its resident gets a callback (``order_callback_merged``) once the parent has one."""
    current = begin(order, Action.MERGE)
    if parent.pk == current.pk:
        raise InvalidInput(_("不能把工单合并到它自己。"))
    target = Order.objects.get(pk=parent.pk)
    if target.parent_id is not None or target.status in (OrderStatus.MERGED, OrderStatus.WITHDRAWN):
        raise TransitionNotAllowed(_("主件已合并或已撤销，不能作为主件。"))
    require(permissions.can_merge(actor, current, target))
    text = (reason or "").strip()
    cancel_active(current, now=now)
    event = transition(
        current,
        Action.MERGE,
        actor=actor,
        now=now,
        to_status=OrderStatus.MERGED,
        actor_unit=permissions.actor_unit(actor, current.dispatch_unit_id, permissions.DISPATCH_ROLES),
        reason=text,
        payload={"parent": target.pk, "parent_number": target.number},
        fields={"parent_id": target.pk, "closed_at": now},
    )
    # The parent's timeline records the duplicate too (its own conditional update).
    locked_parent = begin(target, None)
    transition(
        locked_parent,
        EventType.CHILD_MERGED,
        actor=actor,
        now=now,
        reason=text,
        payload={"child": current.pk, "child_number": current.number},
        derive=False,
    )
    if locked_parent.public_reply and locked_parent.status in (
        OrderStatus.AWAITING_CALLBACK,
        OrderStatus.CLOSED,
    ):
        share_answer(current, locked_parent, now=now)
    sync(order, current)
    return event


def share_answer(child: Order, parent: Order, *, now: dt.datetime) -> OrderEvent:
    """Give a merged child its parent's answer; its resident is then due a callback."""
    from orders.services._core import callback_agents

    locked = begin(child, None)
    event = transition(
        locked,
        EventType.ANSWER_SHARED,
        actor=None,
        now=now,
        payload={"parent": parent.pk, "outcome": parent.reply_outcome},
        fields={"public_reply": parent.public_reply, "reply_outcome": parent.reply_outcome},
        derive=False,
    )
    notify(event, locked, callback_agents(locked), actor=None)
    sync(child, locked)
    return event
