"""Intake 接诉: create (idempotent), answer directly, submit, withdraw, merge duplicates."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from catalog.models import CatalogItem, KnowledgeAnswer
from core.crypto import search_hash
from core.masking import is_valid_id_number, normalize_phone
from core.workcalendar import local_date
from orders import notifications, permissions
from orders.choices import (
    Action,
    Channel,
    EventType,
    OrderKind,
    OrderStatus,
    ReplyOutcome,
    Urgency,
)
from orders.errors import InvalidBatch, InvalidInput, TransitionNotAllowed
from orders.models import Notification, Order, OrderEvent
from orders.services._core import (
    begin,
    cancel_active,
    dispatchers,
    notify,
    require,
    require_reason,
    schedule_delivery,
    sync,
    transition,
)
from orgs.addresses import address_lookup, addresses_lookup
from orgs.choices import UnitKind
from orgs.geo import CoordinatesError, CoordSystem, to_wgs84
from orgs.grid_services import grid_for_point
from orgs.models import Address, Membership, Unit, UnitClosure
from orgs.selectors import unit_ancestors

TITLE_MAX = 200
CONTENT_MAX = 10000
BATCH_MAX = 500  # orders per ``order_create_batch`` call
# Self-service channels skip the registered step: the resident's submission is the submission.
SELF_SERVICE_CHANNELS = frozenset({Channel.WEB, Channel.MOBILE, Channel.OPEN311})
# Whose membership unit is the intake unit, in this order of preference.
INTAKE_ROLE_ORDER = ("agent", "dispatcher", "grid_worker", "handler", "secretary")


# Standard SQL quoting, the same on PostgreSQL and SQLite; the table is ``OrderNumberCounter``'s.
_NUMBER_UPSERT = (
    'INSERT INTO "orders_ordernumbercounter" ("day", "last") VALUES (%s, %s) '
    'ON CONFLICT ("day") DO UPDATE SET "last" = "orders_ordernumbercounter"."last" + %s '
    'RETURNING "last"'
)


def allocate_numbers(*, now: dt.datetime, count: int = 1) -> list[str]:
    """``count`` numbers ``YYYYMMDD`` (Asia/Shanghai) + a 6-digit sequence from the day's counter
    row. One upsert (``INSERT … ON CONFLICT (day) DO UPDATE … RETURNING``, PostgreSQL and
    SQLite ≥ 3.35) moves the counter by ``count`` under its row lock (the write lock on SQLite), so
    two concurrent registrations never share a number; the unique constraint on ``Order.number``
    backs it. A rolled-back registration gives its numbers back."""
    day = local_date(now)
    with connection.cursor() as cursor:
        cursor.execute(_NUMBER_UPSERT, [day, count, count])
        last = cursor.fetchone()[0]
    return [f"{day:%Y%m%d}{seq:06d}" for seq in range(last - count + 1, last + 1)]


def allocate_number(*, now: dt.datetime) -> str:
    """One number (see ``allocate_numbers``)."""
    return allocate_numbers(now=now)[0]


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
    lookup: Callable[[str], Address | None] = address_lookup,
) -> tuple[Unit | None, Address | None, float | None, float | None]:
    """(grid, address, lon, lat) in WGS-84: a grid given wins, then the point's grid
    (``orgs.grid_services.grid_for_point``), then the address's (``lookup`` finds a typed address
    text: ``orgs.addresses.address_lookup`` unless a batch looked them up together)."""
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
        address = lookup(address_text)
    if grid is None and lon is not None and lat is not None:
        grid = grid_for_point(lon, lat)
    if grid is None and address is not None and address.grid_id is not None:
        grid = address.grid
    if lon is None and address is not None and address.lon is not None:
        lon, lat = address.lon, address.lat
    return grid, address, lon, lat


@dataclass(frozen=True)
class _Intake:
    """Who registers: the actor (None for residents and integrations), the intake unit, and the
    intake tree's root when it came from the actor's own memberships (the default dispatch level)."""

    actor: Any
    unit: Unit | None
    root_id: int | None


def _intake_for(actor: Any, intake_unit: Unit | None) -> _Intake:
    """Check that ``actor`` may register (and belongs to an ``intake_unit`` they name)."""
    if actor is None:
        return _Intake(None, intake_unit, None)
    allowed, actor_unit, actor_root_id = _actor_intake(actor)
    require(allowed, _("您没有登记工单的权限。"))
    if intake_unit is None:
        return _Intake(actor, actor_unit, actor_root_id)
    if not Membership.objects.filter(user_id=actor.pk, unit=intake_unit).exists():
        raise InvalidInput(_("受理单位须是您所在的单位。"))
    return _Intake(actor, intake_unit, None)


def _request_id(client_request_id: str | None) -> str | None:
    request_id = (client_request_id or "").strip() or None
    if request_id is not None and len(request_id) > 64:
        raise InvalidInput(_("客户端请求号不能超过64个字符。"))
    return request_id


def _build_order(
    intake: _Intake,
    *,
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
    dispatch_unit: Unit | None = None,
    submit: bool | None = None,
    lookup: Callable[[str], Address | None] = address_lookup,
) -> Order:
    """The validated, unsaved order (no number yet); ``lookup`` finds a typed address."""
    request_id = _request_id(client_request_id)
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
        grid=grid,
        address=address,
        address_text=address_text,
        lon=lon,
        lat=lat,
        coord_system=coord_system,
        lookup=lookup,
    )
    if dispatch_unit is not None:
        level_id = dispatch_unit.pk
    elif intake.root_id is not None:
        level_id = intake.root_id
    else:
        level_id = default_dispatch_unit(intake_unit=intake.unit, grid=grid).pk
    if submit is None:
        submit = channel in SELF_SERVICE_CHANNELS
    status = OrderStatus.AWAITING_DISPATCH if submit else OrderStatus.REGISTERED
    holder_id = level_id if submit or intake.unit is None else intake.unit.pk
    actor = intake.actor
    return Order(
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
        intake_unit=intake.unit,
        dispatch_unit_id=level_id,
        holder_unit_id=holder_id,
        created_at=now,
        updated_at=now,
    )


# What a batch entry may hold: ``_build_order``'s fields (the lookup is the batch's own).
BATCH_FIELDS = frozenset(inspect.signature(_build_order).parameters) - {"intake", "now", "lookup"}


def _register(orders: list[Order], *, intake: _Intake, now: dt.datetime) -> None:
    """Number and insert ``orders`` (built by ``_build_order``) with their ``created`` events and
    the dispatchers' outbox rows, in the caller's transaction. A fixed number of statements
    whatever the count: one counter upsert, one insert per table, one recipient query per
    dispatch level; delivery is scheduled after commit."""
    for order, number in zip(orders, allocate_numbers(now=now, count=len(orders)), strict=True):
        order.number = number
    Order.objects.bulk_create(orders)
    events = [
        OrderEvent(
            order=order,
            seq=1,
            type=EventType.CREATED,
            actor=order.created_by,
            actor_unit=intake.unit,
            from_status="",
            to_status=order.status,
            payload={
                "channel": order.channel,
                "kind": order.kind,
                "urgency": order.urgency,
                "item": order.item_id,
                "grid": order.grid_id,
                "dispatch_unit": order.dispatch_unit_id,
                "call_id": order.call_id,
            },
            occurred_at=now,
        )
        for order in orders
    ]
    OrderEvent.objects.bulk_create(events)
    recipients: dict[int, list[Any]] = {}
    outbox: list[Notification] = []
    told: list[int] = []
    for order, event in zip(orders, events, strict=True):
        if order.status != OrderStatus.AWAITING_DISPATCH:
            continue
        if order.dispatch_unit_id not in recipients:
            recipients[order.dispatch_unit_id] = dispatchers(order)
        rows = notifications.rows_for(
            event, recipients[order.dispatch_unit_id], number=order.number, exclude=intake.actor
        )
        if rows:
            outbox.extend(rows)
            told.append(event.pk)
    if outbox:
        Notification.objects.bulk_create(outbox)
        schedule_delivery(told)


def order_create(
    *,
    actor: Any,
    now: dt.datetime,
    channel: str,
    kind: str,
    title: str,
    content: str,
    intake_unit: Unit | None = None,
    **fields: Any,
) -> Order:
    """Register an order. ``actor`` is the staff member, or None for residents and integrations.

    Idempotent on ``client_request_id``: a retry returns the order the first call created (also
    when two calls race — the unique constraint decides, the loser returns the winner's order).
    The grid comes from ``grid``, else the point (``coord_system`` declares it), else the address.
    ``submit`` (default: by channel — self-service channels submit at once) goes straight to
    awaiting dispatch. Phone and ID number are encrypted with keyed search hashes (PI-3).
    The other ``fields`` are ``_build_order``'s: urgency, item, address_text, address, lon, lat,
    coord_system, grid, requester_name, requester_phone, requester_id_number, confidential,
    client_request_id, call_id, dispatch_unit, submit.
    """
    _request_id(fields.get("client_request_id"))
    intake = _intake_for(actor, intake_unit)
    order = _build_order(intake, now=now, channel=channel, kind=kind, title=title, content=content, **fields)
    # One transaction (a savepoint inside a caller's): a lost race on the request id rolls back
    # everything, the day's number included, and returns the winner's order.
    try:
        with transaction.atomic():
            _register([order], intake=intake, now=now)
    except IntegrityError:
        if order.client_request_id is not None:
            winner = Order.objects.filter(client_request_id=order.client_request_id).first()
            if winner is not None:
                return winner
        raise
    return order


@dataclass(frozen=True)
class BatchEntry:
    """One registration of a batch: the order, and False when its ``client_request_id`` had
    registered it already (an earlier call, or an earlier entry of the same batch)."""

    order: Order
    created: bool


def order_create_batch(
    *,
    actor: Any,
    now: dt.datetime,
    entries: Sequence[Mapping[str, Any]],
    intake_unit: Unit | None = None,
) -> list[BatchEntry]:
    """Register many orders at once (an upstream platform's push, calls recorded during an
    outage, a bulk import) — all or none, in one transaction.

    Each entry holds ``order_create``'s arguments (channel, kind, title, content and the
    optional fields). Every entry is validated before anything is written; the refusals come
    back together in ``InvalidBatch`` (entry index and message). The orders, their events and
    outbox rows are the same as ``order_create`` makes one by one — the same numbering, the
    same idempotency on ``client_request_id`` (a known id answers with its order, not a new one).
    The typed addresses are looked up together, and the inserts go in bulk.
    """
    if not entries:
        raise InvalidInput(_("请至少提交一条工单。"))
    if len(entries) > BATCH_MAX:
        raise InvalidInput(_("一次最多登记%(n)d条工单。") % {"n": BATCH_MAX})
    problems: list[tuple[int, str]] = []
    request_ids: list[str | None] = []
    for index, entry in enumerate(entries):
        try:
            request_ids.append(_request_id(entry.get("client_request_id")))
        except InvalidInput as exc:
            problems.append((index, exc.message))
            request_ids.append(None)
    intake = _intake_for(actor, intake_unit)
    known = {
        o.client_request_id: o
        for o in Order.objects.filter(client_request_id__in=[r for r in request_ids if r is not None])
    }
    typed = [
        str(entry.get("address_text") or "")
        for entry in entries
        if entry.get("address") is None and str(entry.get("address_text") or "").strip()
    ]
    found = addresses_lookup(typed)
    results: list[BatchEntry | None] = []
    fresh: list[Order] = []
    first_of: dict[str, Order] = {}
    problems += [(i, _("含有未知的字段。")) for i, e in enumerate(entries) if set(e) - BATCH_FIELDS]
    refused = {index for index, _message in problems}
    for index, (entry, request_id) in enumerate(zip(entries, request_ids, strict=True)):
        if index in refused:
            results.append(None)
            continue
        if request_id is not None and request_id in known:
            results.append(BatchEntry(known[request_id], created=False))
            continue
        if request_id is not None and request_id in first_of:
            results.append(BatchEntry(first_of[request_id], created=False))
            continue
        try:
            order = _build_order(intake, now=now, lookup=lambda text: found.get(text.strip()), **entry)
        except InvalidInput as exc:
            problems.append((index, exc.message))
            results.append(None)
            continue
        fresh.append(order)
        if request_id is not None:
            first_of[request_id] = order
        results.append(BatchEntry(order, created=True))
    if problems:
        raise InvalidBatch(sorted(set(problems)))
    try:
        with transaction.atomic():
            if fresh:
                _register(fresh, intake=intake, now=now)
    except IntegrityError:
        if not first_of:
            raise
        # Another call registered one of these request ids meanwhile: one by one, each answering
        # with the winner's order as ``order_create`` does (still all or none).
        with transaction.atomic():
            return _one_by_one(actor=actor, now=now, entries=entries, intake_unit=intake_unit)
    return [r for r in results if r is not None]


def _one_by_one(
    *, actor: Any, now: dt.datetime, entries: Sequence[Mapping[str, Any]], intake_unit: Unit | None
) -> list[BatchEntry]:
    out: list[BatchEntry] = []
    for entry in entries:
        fields = dict(entry)
        request_id = _request_id(fields.get("client_request_id"))
        before = request_id is not None and Order.objects.filter(client_request_id=request_id).exists()
        order = order_create(actor=actor, now=now, intake_unit=intake_unit, **fields)
        out.append(BatchEntry(order, created=not before))
    return out


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
