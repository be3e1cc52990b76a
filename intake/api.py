"""The intake doors of the HTTP API.

``/api/v1/calls`` — the call-centre hook. ``POST /calls`` is for the telephony system only (an API
token of its service account, registered as a ``TelephonySystem``); it records the call and
answers with the URL of the call page ``/calls/<id>`` that the agent's screen opens (the number
never travels in a URL). Staff read a call and register an order from it; the order keeps the
call id and takes the caller's number from the call record.

``/api/v1/public`` — residents, no account: submit a report (text, photos, a point with its
coordinate system, or an address), follow an order by number plus the phone's last four digits
(status, dates and the public reply only; the number locks after repeated misses), and rate the
answer once the callback stage has opened. Every action is rate-limited per client address in
the shared cache (``intake.ratelimit``); submission is idempotent on a client request id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import HttpBearer
from pydantic import field_validator

from catalog.models import CatalogItem
from core.api_auth import ApiTokenAuth, api_token_user
from core.masking import mask_phone
from core.net import client_ip
from intake import ratelimit, selectors, services
from intake.models import Call, TelephonySystem
from orders import attachments
from orders.api import present
from orders.api.errors import STAFF_ERRORS, ApiErrorOut, ApiValidationErrorOut
from orders.api.orders import create_kwargs, replayed
from orders.api.schemas import ApiIn, OrderDetailOut, OrderFieldsIn, OrderSummaryOut, PathId
from orders.choices import Channel, OrderKind, OrderStatus, Satisfaction
from orders.errors import InvalidInput, OrderError
from orders.selectors import QUEUE_SELECT, order_get_for_user, orders_of_requester, orders_visible_to
from orgs.geo import CoordSystem

HISTORY_LIMIT = 20


class TelephonyAuth(HttpBearer):
    """A live API token whose user is an active telephony system's service account."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_user(token, now=timezone.now())
        if user is None:
            return None
        return TelephonySystem.objects.filter(user=user, is_active=True).select_related("unit").first()


calls_router = Router(tags=["来电"])
public_router = Router(auth=None, tags=["群众"])
# Mounted by ``minhu.api`` at ``/orders`` too: intake's reads of an order, for staff.
order_rating_router = Router(auth=ApiTokenAuth(), tags=["工单"])

PUBLIC_ERRORS: dict[int, Any] = {
    404: ApiErrorOut,
    409: ApiErrorOut,
    422: ApiValidationErrorOut,
    429: ApiErrorOut,
}


def _no_store(response: HttpResponse) -> None:
    response["Cache-Control"] = "no-store, private, max-age=0"


# --- the call-centre hook -------------------------------------------------------------------------


class CallIn(ApiIn):
    call_id: str = Field(..., min_length=1, max_length=64, description="话务系统的来电编号")
    caller_number: str = Field("", max_length=32, description="来电号码（可为空：隐藏号码）")
    agent: str = Field(..., min_length=1, max_length=150, description="接听话务员的登录名")
    recording_ref: str = Field("", max_length=255, description="录音编号")


class CallCreatedOut(Schema):
    id: int
    call_id: str
    call_page_path: str
    call_page_url: str


class CallOut(Schema):
    id: int
    call_id: str
    caller: str = Field(description="来电号码（脱敏）")
    agent: str
    recording_ref: str
    received_at: datetime
    orders: list[OrderSummaryOut] = Field(description="本次来电登记的工单")
    history: list[OrderSummaryOut] = Field(description="该来电号码的历史工单（权限范围内）")


def call_page_path(call: Call) -> str:
    return reverse("intake:call_page", kwargs={"pk": call.pk})


@calls_router.post(
    "",
    auth=TelephonyAuth(),
    response={201: CallCreatedOut, 200: CallCreatedOut, **STAFF_ERRORS},
    summary="话务系统推送来电",
)
def call_create(request: HttpRequest, response: HttpResponse, data: CallIn) -> Status[dict[str, Any]]:
    """Idempotent on the call id: the same call posted again answers 200 with the same page."""
    system: TelephonySystem = request.auth  # type: ignore[attr-defined]
    call, created = services.call_record(
        system=system,
        call_id=data.call_id,
        caller_number=data.caller_number,
        agent_code=data.agent,
        recording_ref=data.recording_ref,
        now=timezone.now(),
    )
    path = call_page_path(call)
    return Status(
        201 if created else 200,
        {
            "id": call.pk,
            "call_id": call.call_id,
            "call_page_path": path,
            "call_page_url": request.build_absolute_uri(path),
        },
    )


def call_get_for_user(actor: Any, pk: int) -> Call:
    """A call the actor may use (its agent, or the hotline's agents and dispatchers); else 404."""
    call = Call.objects.select_related("agent").filter(pk=pk).first()
    if call is None or not services.can_use_call(actor, call):
        raise Call.DoesNotExist
    return call


def call_out(actor: Any, call: Call) -> dict[str, Any]:
    registered = (
        orders_visible_to(actor)
        .filter(call_id=call.call_id)
        .select_related(*QUEUE_SELECT)
        .order_by("-created_at", "-pk")[:HISTORY_LIMIT]
    )
    history = (
        orders_of_requester(actor, call.caller_phone).select_related(*QUEUE_SELECT)[:HISTORY_LIMIT]
        if call.caller_phone
        else []
    )
    return {
        "id": call.pk,
        "call_id": call.call_id,
        "caller": mask_phone(call.caller_phone),
        "agent": call.agent.display_name or call.agent.get_username(),
        "recording_ref": call.recording_ref,
        "received_at": call.received_at,
        "orders": [present.order_summary(o) for o in registered],
        "history": [present.order_summary(o) for o in history],
    }


@calls_router.get(
    "/{call_pk}", auth=ApiTokenAuth(), response={200: CallOut, **STAFF_ERRORS}, summary="来电详情"
)
def call_detail(request: HttpRequest, call_pk: PathId) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    return call_out(actor, call_get_for_user(actor, call_pk))


@calls_router.post(
    "/{call_pk}/orders",
    auth=ApiTokenAuth(),
    response={201: OrderDetailOut, 200: OrderDetailOut, **STAFF_ERRORS},
    summary="从来电登记工单",
)
def call_order_create(request: HttpRequest, call_pk: PathId, data: OrderFieldsIn) -> Status[dict[str, Any]]:
    """The caller's number comes from the call record; the order keeps the call id."""
    actor = request.auth  # type: ignore[attr-defined]
    call = call_get_for_user(actor, call_pk)
    earlier = replayed(actor, data.client_request_id)
    if earlier is not None:
        return Status(200, present.order_detail(actor, order_get_for_user(actor, earlier.pk)[0]))
    order = services.call_order_create(call=call, actor=actor, now=timezone.now(), **create_kwargs(data))
    return Status(201, present.order_detail(actor, order_get_for_user(actor, order.pk)[0]))


# --- residents ---------------------------------------------------------------------------------------


def _limit(request: HttpRequest, scope: str, setting: str) -> None:
    ratelimit.rate_limit(scope, client_ip(request), int(getattr(settings, setting)))


class ResidentSubmitIn(ApiIn):
    content: str = Field(..., min_length=1, max_length=4000, description="问题描述")
    kind: OrderKind = OrderKind.COMPLAINT
    service_code: str | None = Field(None, max_length=16, description="事项编码（可选）")
    address: str = Field("", max_length=255, description="地址（无坐标时必填）")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    coord_system: CoordSystem = Field(CoordSystem.WGS84, description="坐标系：wgs84 | gcj02 | bd09")
    name: str = Field("", max_length=64, description="称呼（可选）")
    phone: str = Field("", max_length=32, description="手机号（可选；查询进度需要）")
    client_request_id: str | None = Field(None, min_length=1, max_length=64, description="幂等请求号")

    @field_validator("content")
    @classmethod
    def _content_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(_("请填写问题描述。"))
        return value


class ResidentSubmittedOut(Schema):
    number: str
    status: str
    status_label: str
    created_at: datetime
    photos: int


class ResidentFollowIn(ApiIn):
    number: str = Field(..., min_length=8, max_length=24, pattern=r"^\s*\d+\s*$", description="工单编号")
    phone_last4: str = Field(..., pattern=r"^\d{4}$", description="登记手机号的后四位")


class ResidentFollowOut(Schema):
    number: str
    status: str
    status_label: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    public_reply: str
    can_rate: bool


class ResidentRateIn(ResidentFollowIn):
    satisfaction: Satisfaction
    comment: str = Field("", max_length=500)


class ResidentRatedOut(Schema):
    number: str
    satisfaction: str
    created_at: datetime


@public_router.post(
    "/orders",
    response={201: ResidentSubmittedOut, 200: ResidentSubmittedOut, **PUBLIC_ERRORS},
    summary="群众随手拍：提交诉求",
)
def resident_submit(
    request: HttpRequest,
    response: HttpResponse,
    data: Form[ResidentSubmitIn],
    photos: File[list[UploadedFile] | None] = None,
) -> Status[dict[str, Any]]:
    """Multipart form. Idempotent on ``client_request_id`` (or the ``Idempotency-Key`` header)."""
    _no_store(response)
    _limit(request, "submit", "PUBLIC_SUBMIT_PER_HOUR")
    item = None
    if data.service_code:
        item = CatalogItem.objects.filter(code=data.service_code.strip(), is_active=True).first()
        if item is None:
            raise InvalidInput(_("事项编码不存在。"))
    uploads = [
        services.Upload(data=attachments.read_upload(photo), name=photo.name or "")
        for photo in (photos or [])
    ]
    order, created = services.resident_submit(
        now=timezone.now(),
        channel=Channel.MOBILE,
        content=data.content,
        kind=data.kind,
        item=item,
        address_text=data.address,
        lon=data.lon,
        lat=data.lat,
        coord_system=data.coord_system,
        name=data.name,
        phone=data.phone,
        photos=uploads,
        client_request_id=data.client_request_id or request.headers.get("Idempotency-Key") or None,
    )
    return Status(
        201 if created else 200,
        {
            "number": order.number,
            "status": order.status,
            "status_label": present.status_label(order.status),
            "created_at": order.created_at,
            "photos": order.attachments.count(),
        },
    )


def _public_reply(status: str, text: str) -> str:
    shown = {OrderStatus.AWAITING_CALLBACK, OrderStatus.CLOSED, OrderStatus.MERGED}
    return present.mask_text(text) if status in shown else ""


@public_router.post(
    "/orders/follow", response={200: ResidentFollowOut, **PUBLIC_ERRORS}, summary="群众查询办理进度"
)
def resident_follow(request: HttpRequest, response: HttpResponse, data: ResidentFollowIn) -> dict[str, Any]:
    """Only status, dates and the public reply. Wrong digits count against the order number."""
    _no_store(response)
    _limit(request, "follow", "PUBLIC_FOLLOW_PER_HOUR")
    order = services.resident_find(number=data.number, phone_last4=data.phone_last4)
    return {
        "number": order.number,
        "status": order.status,
        "status_label": present.status_label(order.status),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "closed_at": order.closed_at,
        "public_reply": _public_reply(order.status, order.public_reply),
        "can_rate": services.resident_can_rate(order),
    }


@public_router.post("/orders/rate", response={201: ResidentRatedOut, **PUBLIC_ERRORS}, summary="群众评价")
def resident_rate(
    request: HttpRequest, response: HttpResponse, data: ResidentRateIn
) -> Status[dict[str, Any]]:
    """Once per order, after the callback stage has opened (awaiting callback or closed)."""
    _no_store(response)
    _limit(request, "rate", "PUBLIC_RATE_PER_HOUR")
    rating = services.resident_rate(
        number=data.number,
        phone_last4=data.phone_last4,
        satisfaction=data.satisfaction,
        comment=data.comment,
        now=timezone.now(),
    )
    return Status(
        201,
        {
            "number": data.number.strip(),
            "satisfaction": rating.satisfaction,
            "created_at": rating.created_at,
        },
    )


# --- staff: the resident's own rating of an order -------------------------------------------------


class NotRated(OrderError):  # noqa: N818 -- reads like its siblings in orders.errors
    """The order is in the caller's scope, but its resident has not rated it (yet)."""

    code = "not_rated"
    http_status = 404


class ResidentRatingOut(Schema):
    satisfaction: Satisfaction = Field(description="满意度：satisfied | basically | dissatisfied")
    satisfaction_label: str = Field(description="满意度的名称（满意、基本满意、不满意）")
    comment: str = Field(description="群众的评价内容（电话号码、身份证号已脱敏，同工单页）")
    created_at: datetime


@order_rating_router.get(
    "/{order_id}/resident-rating", response={200: ResidentRatingOut, **STAFF_ERRORS}, summary="群众自评"
)
def order_resident_rating(request: HttpRequest, order_id: PathId) -> dict[str, Any]:
    """What the resident said of the answer (``POST /public/orders/rate``), as the order page
    shows it. 404 ``not_found`` outside the caller's scope; 404 ``not_rated`` while the resident
    has not rated."""
    actor = request.auth  # type: ignore[attr-defined]
    order, rating = selectors.resident_rating_get_for_user(actor=actor, order_id=order_id)
    if rating is None:
        raise NotRated(_("群众尚未评价该工单。"))
    return {
        "satisfaction": rating.satisfaction,
        "satisfaction_label": str(Satisfaction(rating.satisfaction).label),
        # the order API's own masking: phone and ID numbers, and the requester's number as written
        "comment": present.mask_text(rating.comment, *present.requester_secrets(order)),
        "created_at": rating.created_at,
    }
