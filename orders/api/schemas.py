"""Input and output schemas of the orders API (separate, HackSoft style).

Inputs validate shape and size (Chinese messages through ``orders.api.errors``); the services
validate meaning. Outputs are built explicitly by ``orders.api.present`` so nothing reaches a
response by accident: phone and ID numbers only ever appear masked, and free text is masked for
phone and ID numbers too (``orders.api.present.mask_text``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Field, Path, Schema
from pydantic import field_validator

from orders.choices import (
    Channel,
    ContactMethod,
    OrderKind,
    OrderStatus,
    ReplyOutcome,
    RevealField,
    Satisfaction,
    Urgency,
)
from orgs.geo import CoordSystem

REASON_MAX = 2000
TEXT_MAX = 10000
# Ids fit a signed 64-bit column and a JavaScript number; anything larger is a 422, not a crash.
MAX_ID = 2**53 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
ListId = Annotated[int, Field(ge=1, le=MAX_ID)]
YEAR_RANGE = (1970, 2200)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(_("不能为空白。"))
    return value


class ApiIn(Schema):
    """Base of every input: text may not carry NUL characters (PostgreSQL refuses them)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError(_("不能包含空字符（\\0）。"))
        return value


class OrderVersionedIn(ApiIn):
    """Every action may carry the version the client last saw: a mismatch answers 409."""

    version: int | None = Field(None, ge=0, le=MAX_ID, description="客户端看到的工单版本；不一致时返回 409")


# --- inputs: queries -----------------------------------------------------------------------------


class OrderFilterIn(ApiIn):
    queue: str | None = Field(
        None, pattern="^(mine|dispatch|callback)$", description="mine | dispatch | callback"
    )
    status: list[OrderStatus] | None = Field(None, description="状态（可多选）")
    urgency: Urgency | None = None
    channel: Channel | None = None
    item: int | None = Field(None, ge=1, le=MAX_ID, description="事项 id")
    unit: int | None = Field(None, ge=1, le=MAX_ID, description="承办单位子树（派单记录所在单位）")
    location: int | None = Field(None, ge=1, le=MAX_ID, description="属地子树（网格所在单位）")
    due_after: datetime | None = Field(None, description="答复时限不早于")
    due_before: datetime | None = Field(None, description="答复时限早于")
    created_from: datetime | None = Field(None, description="登记时间不早于")
    created_to: datetime | None = Field(None, description="登记时间早于")
    cursor: str | None = Field(None, max_length=512, description="上一页返回的 next_cursor")
    limit: int = Field(50, ge=1, le=200)

    @field_validator("due_after", "due_before", "created_from", "created_to")
    @classmethod
    def _sane_year(cls, value: datetime | None) -> datetime | None:
        if value is not None and not YEAR_RANGE[0] <= value.year <= YEAR_RANGE[1]:
            raise ValueError(_("日期超出范围（1970—2200年）。"))
        return value


# --- inputs: creation ----------------------------------------------------------------------------


class OrderFieldsIn(ApiIn):
    """What staff type when registering an order (the call hook reuses it without the phone)."""

    kind: OrderKind
    title: str = Field(..., min_length=1, max_length=200)
    content: str = Field(..., min_length=1, max_length=TEXT_MAX)
    urgency: Urgency = Urgency.NORMAL
    item_id: int | None = Field(None, ge=1, le=MAX_ID)
    address_text: str = Field("", max_length=255)
    lon: float | None = Field(None, ge=-180, le=180, description="经度（按 coord_system）")
    lat: float | None = Field(None, ge=-90, le=90, description="纬度（按 coord_system）")
    coord_system: CoordSystem = Field(CoordSystem.WGS84, description="坐标系：wgs84 | gcj02 | bd09")
    grid_id: int | None = Field(None, ge=1, le=MAX_ID)
    requester_name: str = Field("", max_length=64)
    requester_id_number: str = Field("", max_length=32)
    confidential: bool = False
    client_request_id: str | None = Field(None, min_length=1, max_length=64, description="幂等请求号")
    submit: bool | None = Field(None, description="直接提交派单（默认按渠道）")

    _blank_title = field_validator("title", "content")(_not_blank)


class OrderCreateIn(OrderFieldsIn):
    channel: Channel = Channel.HOTLINE
    requester_phone: str = Field("", max_length=32)


class OrderBatchIn(ApiIn):
    """Up to 500 registrations, all or none (an upstream platform's push, a bulk import)."""

    orders: list[OrderCreateIn] = Field(..., min_length=1, max_length=500)


class OrderBatchRowOut(Schema):
    id: int
    number: str
    created: bool = Field(..., description="false: the client_request_id had registered it already")


class OrderBatchOut(Schema):
    orders: list[OrderBatchRowOut]


# --- inputs: actions -------------------------------------------------------------------------------


class OrderReasonIn(OrderVersionedIn):
    reason: str = Field(..., min_length=1, max_length=REASON_MAX)


class OrderOptionalReasonIn(OrderVersionedIn):
    reason: str = Field("", max_length=REASON_MAX)


class OrderAnswerIn(OrderVersionedIn):
    answer: str = Field(..., min_length=1, max_length=TEXT_MAX)
    knowledge_id: int | None = Field(None, ge=1, le=MAX_ID)


class OrderSubmitIn(OrderVersionedIn):
    item_id: int | None = Field(None, ge=1, le=MAX_ID)


class OrderDispatchIn(OrderVersionedIn):
    lead_unit_id: int | None = Field(None, ge=1, le=MAX_ID, description="主办单位；为空时按责任清单")
    assist_unit_ids: list[ListId] = Field(default_factory=list, max_length=20)
    item_id: int | None = Field(None, ge=1, le=MAX_ID)
    note: str = Field("", max_length=REASON_MAX)


class OrderMergeIn(OrderVersionedIn):
    parent_id: int = Field(..., ge=1, le=MAX_ID)
    reason: str = Field("", max_length=REASON_MAX)


class OrderAssignmentIn(OrderVersionedIn):
    assignment_id: int | None = Field(None, ge=1, le=MAX_ID, description="派单记录；为空时取本单位的那一条")


class OrderAssignmentReasonIn(OrderAssignmentIn):
    reason: str = Field(..., min_length=1, max_length=REASON_MAX)


class OrderDelegateIn(OrderAssignmentIn):
    unit_id: int = Field(..., ge=1, le=MAX_ID)
    note: str = Field("", max_length=REASON_MAX)


class OrderContactIn(OrderAssignmentIn):
    method: ContactMethod = ContactMethod.PHONE
    note: str = Field("", max_length=REASON_MAX)


class OrderRevealIn(OrderVersionedIn):
    field: RevealField = RevealField.PHONE
    reason: str = Field(..., min_length=1, max_length=REASON_MAX)


class OrderExtensionIn(OrderAssignmentReasonIn):
    amount: int = Field(..., ge=1, le=365)


class OrderReplyIn(OrderAssignmentIn):
    outcome: ReplyOutcome
    explanation: str = Field(..., min_length=1, max_length=TEXT_MAX)
    attachment_ids: list[ListId] = Field(default_factory=list, max_length=30)


class OrderReviewApproveIn(OrderVersionedIn):
    reply_id: int | None = Field(None, ge=1, le=MAX_ID)
    comment: str = Field("", max_length=REASON_MAX)


class OrderReviewSendBackIn(OrderReasonIn):
    reply_id: int | None = Field(None, ge=1, le=MAX_ID)


class OrderCallbackIn(OrderVersionedIn):
    reached: bool
    satisfaction: Satisfaction | None = None
    unit_contacted: bool | None = None
    resolved: bool | None = None
    comment: str = Field("", max_length=REASON_MAX)


class OrderReopenIn(OrderReasonIn):
    lead_unit_id: int | None = Field(None, ge=1, le=MAX_ID)


class OrderUrgeIn(OrderVersionedIn):
    message: str = Field(..., min_length=1, max_length=REASON_MAX)
    unit_id: int | None = Field(None, ge=1, le=MAX_ID)


class OrderSuperviseIn(OrderReasonIn):
    unit_id: int | None = Field(None, ge=1, le=MAX_ID)
    within_days: int | None = Field(None, ge=1, le=365)


# --- outputs ------------------------------------------------------------------------------------------


class UnitRefOut(Schema):
    id: int
    name: str


class ItemRefOut(Schema):
    id: int
    code: str
    name: str


class RequesterOut(Schema):
    """Always masked (SECURITY.md AC-2, PI-2); the raw value only through POST …/reveal."""

    name: str
    phone: str
    id_number: str
    has_phone: bool


class OrderSummaryOut(Schema):
    id: int
    number: str
    version: int
    status: str
    status_label: str
    channel: str
    kind: str
    urgency: str
    title: str
    item: ItemRefOut | None
    grid: UnitRefOut | None
    dispatch_unit: UnitRefOut | None
    lead_unit: UnitRefOut | None
    holder_unit: UnitRefOut | None
    confidential: bool
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class DuplicateOut(OrderSummaryOut):
    """A likely duplicate: the order's summary and how similar it is."""

    score: float | None = Field(
        description=(
            "相似度，0–1，越大越可能是同一问题（按此降序排列）；"
            "按同网格、同事项、30 天内的简单规则找到、无文字可比时为 null"
        ),
    )


class OrderAssignmentOut(Schema):
    id: int
    unit: UnitRefOut
    role: str
    status: str
    parent_id: int | None
    round: int
    dispatched_at: datetime
    accept_by: datetime | None
    contact_by: datetime | None
    reply_by: datetime | None
    provisional: bool
    paused_at: datetime | None
    accepted_at: datetime | None
    contacted_at: datetime | None
    replied_at: datetime | None


class OrderReplyOut(Schema):
    id: int
    assignment_id: int
    outcome: str
    explanation: str
    status: str
    is_rework: bool
    created_at: datetime
    attachment_ids: list[int]


class OrderPendingRequestOut(Schema):
    id: int
    kind: str
    assignment_id: int
    amount: int | None
    limit_unit: str | None
    reason: str
    created_at: datetime


class OrderAttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    created_at: datetime
    url: str


class OrderDetailOut(OrderSummaryOut):
    content: str
    address_text: str
    lon: float | None
    lat: float | None
    requester: RequesterOut | None = Field(description="保密件对承办人为空")
    public_reply: str
    reply_outcome: str
    parent_id: int | None
    call_id: str | None
    first_receiver_unit: UnitRefOut | None
    can_write: bool
    can_reveal: bool
    assignments: list[OrderAssignmentOut]
    replies: list[OrderReplyOut]
    pending_requests: list[OrderPendingRequestOut]
    attachments: list[OrderAttachmentOut]


class OrderPageOut(Schema):
    items: list[OrderSummaryOut]
    next_cursor: str | None


class OrderEventOut(Schema):
    seq: int
    type: str
    type_label: str
    actor: str
    actor_unit: UnitRefOut | None
    from_status: str
    to_status: str
    reason: str
    occurred_at: datetime


class OrderActionOut(Schema):
    """What every action answers: the event it appended (if any) and the order after it."""

    event: OrderEventOut | None
    order: OrderSummaryOut
    created_id: int | None = Field(None, description="新建记录的 id（延期/挂账申请、反馈、回访）")


class OrderRevealOut(Schema):
    field: str
    value: str
