"""Every write of the intake channels: calls from the telephony system, Open311 clients and their
requests, residents' submissions and ratings. Orders are created only through
``orders.services.order_create``; attachments only through ``orders.attachments``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from catalog.models import CatalogItem
from core.audit import audit_record
from core.crypto import search_hash
from core.masking import normalize_phone
from core.permissions import can_manage_security
from intake import ratelimit
from intake.models import Call, Open311Client, Open311Request, ResidentRating, TelephonySystem
from orders.attachments import attachment_add
from orders.choices import Channel, OrderKind, OrderStatus, Satisfaction, Urgency
from orders.errors import InvalidInput, OrderError, RateLimited, TransitionNotAllowed
from orders.models import Order
from orders.permissions import HOTLINE_ROLES, INTAKE_ROLES, acts_for
from orders.selectors import order_by_number
from orders.services import order_create
from orgs.choices import Role
from orgs.geo import CoordSystem
from orgs.models import Membership, Unit
from orgs.selectors import unit_subtree_ids

OPEN311_KEY_PREFIX = "o311_"
CALL_ID_MAX = 64
RECORDING_MAX = 255
TITLE_CHARS = 30
RATING_COMMENT_MAX = 500
PHOTOS_MAX = 9
# The callback stage has opened: the resident may rate.
RATEABLE = frozenset({OrderStatus.AWAITING_CALLBACK, OrderStatus.CLOSED})


class FollowRefused(OrderError):  # noqa: N818 -- reads like its siblings in orders.errors
    """Wrong order number or phone digits (one message for both, so numbers cannot be probed)."""

    code = "follow_refused"
    http_status = 404


def _require(condition: bool) -> None:
    if not condition:
        raise PermissionDenied(_("您没有权限执行此操作。"))


def _clean_text(value: str, *, limit: int, what: str, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(_("请填写%(what)s。") % {"what": what})
    if len(text) > limit:
        raise InvalidInput(_("%(what)s不能超过%(n)d个字符。") % {"what": what, "n": limit})
    if any(ord(ch) < 32 for ch in text):
        raise InvalidInput(_("%(what)s含有不允许的控制字符。") % {"what": what})
    return text


def title_from(content: str) -> str:
    """A title for an order that came without one: the first line of the text, shortened."""
    first = " ".join((content or "").strip().splitlines()[0].split()) if (content or "").strip() else ""
    return first[:TITLE_CHARS] + ("…" if len(first) > TITLE_CHARS else "")


# --- telephony systems and calls -----------------------------------------------------------------


@transaction.atomic
def telephony_system_create(
    *, actor: Any, name: str, user: Any, unit: Unit, now: dt.datetime
) -> TelephonySystem:
    """Register a telephony system (security administrator): its service account's API tokens
    may then post calls. The account must have no memberships (it sees no orders)."""
    _require(can_manage_security(actor))
    name = _clean_text(name, limit=64, what=_("名称"))
    if Membership.objects.filter(user_id=user.pk).exists():
        raise InvalidInput(_("话务系统的服务账号不能担任任何单位角色。"))
    system = TelephonySystem.objects.create(name=name, user=user, unit=unit, created_at=now)
    audit_record(
        event_type="intake.telephony_system.create",
        actor=actor,
        object_type="intake.TelephonySystem",
        object_id=system.pk,
        after={"name": name, "user": user.username, "unit": unit.code},
        now=now,
    )
    return system


@transaction.atomic
def telephony_system_set_active(
    *, actor: Any, system: TelephonySystem, active: bool, now: dt.datetime
) -> TelephonySystem:
    _require(can_manage_security(actor))
    before = system.is_active
    TelephonySystem.objects.filter(pk=system.pk).update(is_active=active)
    system.is_active = active
    audit_record(
        event_type="intake.telephony_system.update",
        actor=actor,
        object_type="intake.TelephonySystem",
        object_id=system.pk,
        before={"is_active": before},
        after={"is_active": active},
        now=now,
    )
    return system


def _agent_of(system: TelephonySystem, agent_code: str) -> Any:
    """The agent named by the telephony system: an account holding the agent role at the
    system's unit or below."""
    from core.models import User

    code = _clean_text(agent_code, limit=150, what=_("话务员工号"))
    agent = User.objects.filter(username=code, is_active=True, disabled_at__isnull=True).first()
    if (
        agent is None
        or not Membership.objects.filter(
            user_id=agent.pk,
            role=Role.AGENT,
            unit__is_active=True,
            unit_id__in=unit_subtree_ids(system.unit_id),
        ).exists()
    ):
        raise InvalidInput(_("话务员「%(code)s」不存在或不属于本热线。") % {"code": code})
    return agent


@transaction.atomic
def call_record(
    *,
    system: TelephonySystem,
    call_id: str,
    caller_number: str,
    agent_code: str,
    recording_ref: str = "",
    now: dt.datetime,
) -> tuple[Call, bool]:
    """Record an incoming call (idempotent on the system's call id). Returns (call, created)."""
    if not system.is_active:
        raise PermissionDenied(_("话务系统已停用。"))
    call_id = _clean_text(call_id, limit=CALL_ID_MAX, what=_("来电编号"))
    existing = Call.objects.filter(system=system, call_id=call_id).first()
    if existing is not None:
        return existing, False
    phone = normalize_phone(caller_number) if (caller_number or "").strip() else ""
    if caller_number.strip() and not 3 <= len(phone.lstrip("+")) <= 20:
        raise InvalidInput(_("来电号码格式不正确。"))
    agent = _agent_of(system, agent_code)
    recording = _clean_text(recording_ref, limit=RECORDING_MAX, what=_("录音编号"), required=False)
    try:
        with transaction.atomic():
            call = Call.objects.create(
                system=system,
                call_id=call_id,
                caller_phone=phone,
                caller_phone_hash=search_hash(phone, kind="phone") if phone else "",
                agent=agent,
                unit=system.unit,
                recording_ref=recording,
                received_at=now,
            )
    except IntegrityError:  # the same call posted twice at once: the first one wins
        return Call.objects.get(system=system, call_id=call_id), False
    return call, True


def can_use_call(actor: Any, call: Call) -> bool:
    """The call's agent, or an agent or dispatcher acting for the hotline's unit."""
    if not getattr(actor, "pk", None) or not getattr(actor, "is_active", False):
        return False
    if call.agent_id == actor.pk:
        return True
    unit = Unit.objects.filter(pk=call.unit_id).first()
    return acts_for(actor, unit, INTAKE_ROLES | HOTLINE_ROLES)


@transaction.atomic
def call_order_create(*, call: Call, actor: Any, now: dt.datetime, **fields: Any) -> Order:
    """Register an order from a call: the caller's number comes from the call record (it never
    passes through the agent's browser) and the order keeps the call id."""
    _require(can_use_call(actor, call))
    fields.setdefault("channel", Channel.HOTLINE)
    return order_create(
        actor=actor,
        now=now,
        requester_phone=call.caller_phone,
        call_id=call.call_id,
        **fields,
    )


# --- Open311 clients ------------------------------------------------------------------------------


def _key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def open311_client_create(
    *, actor: Any, name: str, contact: str = "", dispatch_unit: Unit | None = None, now: dt.datetime
) -> tuple[Open311Client, str]:
    """Issue an Open311 API key (security administrator). The raw key is returned once."""
    _require(can_manage_security(actor))
    name = _clean_text(name, limit=64, what=_("名称"))
    contact = _clean_text(contact, limit=128, what=_("联系人"), required=False)
    if Open311Client.objects.filter(name=name).exists():
        raise InvalidInput(_("名称「%(n)s」已被使用。") % {"n": name})
    raw = OPEN311_KEY_PREFIX + secrets.token_urlsafe(32)
    client = Open311Client.objects.create(
        name=name,
        contact=contact,
        key_prefix=raw[: len(OPEN311_KEY_PREFIX) + 6],
        key_hash=_key_hash(raw),
        dispatch_unit=dispatch_unit,
        created_by=actor,
        created_at=now,
    )
    audit_record(
        event_type="intake.open311_client.create",
        actor=actor,
        object_type="intake.Open311Client",
        object_id=client.pk,
        after={
            "name": name,
            "prefix": client.key_prefix,
            "dispatch_unit": getattr(dispatch_unit, "code", None),
        },
        now=now,
    )
    return client, raw


@transaction.atomic
def open311_client_update(
    *, actor: Any, client: Open311Client, contact: str, dispatch_unit: Unit | None, now: dt.datetime
) -> Open311Client:
    _require(can_manage_security(actor))
    before = {"contact": client.contact, "dispatch_unit": client.dispatch_unit_id}
    client.contact = _clean_text(contact, limit=128, what=_("联系人"), required=False)
    client.dispatch_unit = dispatch_unit
    client.save(update_fields=["contact", "dispatch_unit"])
    audit_record(
        event_type="intake.open311_client.update",
        actor=actor,
        object_type="intake.Open311Client",
        object_id=client.pk,
        before=before,
        after={"contact": client.contact, "dispatch_unit": client.dispatch_unit_id},
        now=now,
    )
    return client


@transaction.atomic
def open311_client_revoke(*, actor: Any, client: Open311Client, now: dt.datetime) -> Open311Client:
    _require(can_manage_security(actor))
    if client.revoked_at is not None:
        raise InvalidInput(_("该密钥已吊销。"))
    Open311Client.objects.filter(pk=client.pk).update(revoked_at=now)
    client.revoked_at = now
    audit_record(
        event_type="intake.open311_client.revoke",
        actor=actor,
        object_type="intake.Open311Client",
        object_id=client.pk,
        extra={"prefix": client.key_prefix},
        now=now,
    )
    return client


def open311_client_for_key(raw: str | None) -> Open311Client | None:
    """The live client behind a raw key, or None."""
    if not raw or len(raw) > 200:
        return None
    client = Open311Client.objects.filter(key_hash=_key_hash(raw.strip())).first()
    if client is None or client.revoked_at is not None:
        return None
    return client


@transaction.atomic
def open311_request_create(
    *,
    client: Open311Client,
    now: dt.datetime,
    item: CatalogItem,
    description: str,
    lon: float | None = None,
    lat: float | None = None,
    coord_system: CoordSystem | str = CoordSystem.WGS84,
    address_string: str = "",
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    kind: str = OrderKind.COMPLAINT,
    device_id: str = "",
    account_id: str = "",
) -> Order:
    """An Open311 service request becomes an order awaiting dispatch at the client's level."""
    if client.revoked_at is not None:
        raise PermissionDenied(_("API 密钥已吊销。"))
    if lon is None and not address_string.strip():
        raise InvalidInput(_("须提供位置：经纬度或地址。"))
    content = _clean_text(description, limit=4000, what=_("诉求描述"))
    name = (last_name.strip() + first_name.strip())[:64]
    order = order_create(
        actor=None,
        now=now,
        channel=Channel.OPEN311,
        kind=kind,
        title=title_from(content) or item.name,
        content=content,
        item=item,
        address_text=address_string.strip()[:255],
        lon=lon,
        lat=lat,
        coord_system=coord_system,
        requester_name=name,
        requester_phone=phone,
        dispatch_unit=client.dispatch_unit,
        submit=True,
    )
    Open311Request.objects.get_or_create(
        order=order,
        defaults={
            "client": client,
            "device_id": device_id.strip()[:64],
            "account_id": account_id.strip()[:64],
            "created_at": now,
        },
    )
    return order


# --- residents --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """One uploaded file's bytes and its name as the resident's device gave it."""

    data: bytes
    name: str


@transaction.atomic
def resident_submit(
    *,
    now: dt.datetime,
    content: str,
    channel: str = Channel.MOBILE,
    kind: str = OrderKind.COMPLAINT,
    title: str = "",
    item: CatalogItem | None = None,
    address_text: str = "",
    lon: float | None = None,
    lat: float | None = None,
    coord_system: CoordSystem | str = CoordSystem.WGS84,
    name: str = "",
    phone: str = "",
    photos: Sequence[Upload] = (),
    client_request_id: str | None = None,
) -> tuple[Order, bool]:
    """A resident's report 随手拍 (no account): an order awaiting dispatch, with cleaned photos.

    Idempotent on ``client_request_id``: a retry returns the first order (``created`` False) and
    adds nothing. Every photo goes through ``orders.attachments.attachment_add`` (checked and
    re-encoded); a refused photo refuses the whole submission."""
    if channel not in (Channel.MOBILE, Channel.WEB):
        raise InvalidInput(_("未知的来源渠道。"))
    request_id = (client_request_id or "").strip() or None
    if request_id is not None:
        existing = Order.objects.filter(client_request_id=request_id).first()
        if existing is not None:
            return existing, False
    if lon is None and not address_text.strip():
        raise InvalidInput(_("请提供问题位置：地图上的点或地址。"))
    if len(photos) > PHOTOS_MAX:
        raise InvalidInput(_("最多上传%(n)d张照片。") % {"n": PHOTOS_MAX})
    content = _clean_text(content, limit=4000, what=_("诉求内容"))
    order = order_create(
        actor=None,
        now=now,
        channel=channel,
        kind=kind,
        urgency=Urgency.NORMAL,
        title=_clean_text(title, limit=200, what=_("标题"), required=False) or title_from(content),
        content=content,
        item=item,
        address_text=address_text,
        lon=lon,
        lat=lat,
        coord_system=coord_system,
        requester_name=_clean_text(name, limit=64, what=_("姓名"), required=False),
        requester_phone=phone,
        client_request_id=request_id,
        submit=True,
    )
    created = order.created_at == now and order.last_seq == 1
    if created:
        # A refused photo raises and the whole submission rolls back: nothing half-written.
        for photo in photos:
            attachment_add(order=order, actor=None, now=now, data=photo.data, name=photo.name)
    return order, created


def _phone_matches(order: Order | None, last4: str) -> bool:
    if order is None or not order.requester_phone:
        return False
    digits = "".join(ch for ch in normalize_phone(order.requester_phone) if ch.isdigit())
    return len(digits) >= 4 and hmac.compare_digest(digits[-4:], last4)


def resident_find(*, number: str, phone_last4: str) -> Order:
    """The order a resident may follow: its number and the last four digits of its phone.

    Misses are counted per order number in the shared cache; after ``FOLLOW_MAX_MISSES`` the
    number is locked for ``FOLLOW_LOCK_SECONDS`` (a right answer does not open it early)."""
    number = (number or "").strip()
    if ratelimit.follow_locked(number):
        raise RateLimited(_("该工单号查询错误次数过多，已暂时锁定，请稍后再试。"))
    order = order_by_number(number) if number else None
    if not _phone_matches(order, (phone_last4 or "").strip()):
        if ratelimit.follow_miss(number):
            raise RateLimited(_("该工单号查询错误次数过多，已暂时锁定，请稍后再试。"))
        raise FollowRefused(_("工单号或手机号后四位不正确。"))
    ratelimit.follow_clear(number)
    assert order is not None
    return order


def resident_can_rate(order: Order) -> bool:
    return order.status in RATEABLE and not ResidentRating.objects.filter(order_id=order.pk).exists()


@transaction.atomic
def resident_rate(
    *, number: str, phone_last4: str, satisfaction: str, comment: str = "", now: dt.datetime
) -> ResidentRating:
    """The resident rates the answer once the callback stage has opened; once per order."""
    order = resident_find(number=number, phone_last4=phone_last4)
    if satisfaction not in Satisfaction.values:
        raise InvalidInput(_("请选择满意度。"))
    comment = _clean_text(comment, limit=RATING_COMMENT_MAX, what=_("评价内容"), required=False)
    if order.status not in RATEABLE:
        raise TransitionNotAllowed(_("工单尚未办结答复，暂不能评价。"))
    try:
        with transaction.atomic():
            return ResidentRating.objects.create(
                order=order, satisfaction=satisfaction, comment=comment, created_at=now
            )
    except IntegrityError:
        raise TransitionNotAllowed(_("您已评价过该工单。")) from None
