"""Staff endpoints of the work-order loop: ``/api/v1/orders/…`` (API tokens, ``core.api_auth``).

Handlers are thin: parse, load the order through ``orders.selectors.order_get_for_user`` (404 when
it is out of the caller's scope), call one ``orders.services`` function, present the result. Each
action may carry ``version``: a client that saw an older version gets 409 (stale).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet
from django.http import FileResponse, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from catalog.models import CatalogItem, KnowledgeAnswer
from core.api_auth import ApiTokenAuth
from orders import attachments, services
from orders.api import present
from orders.api.errors import STAFF_ERRORS
from orders.api.schemas import (
    DuplicateOut,
    OrderActionOut,
    OrderAnswerIn,
    OrderAssignmentIn,
    OrderAssignmentReasonIn,
    OrderAttachmentOut,
    OrderBatchIn,
    OrderBatchOut,
    OrderCallbackIn,
    OrderContactIn,
    OrderCreateIn,
    OrderDelegateIn,
    OrderDetailOut,
    OrderDispatchIn,
    OrderEventOut,
    OrderExtensionIn,
    OrderFieldsIn,
    OrderFilterIn,
    OrderMergeIn,
    OrderOptionalReasonIn,
    OrderPageOut,
    OrderReasonIn,
    OrderReopenIn,
    OrderReplyIn,
    OrderRevealIn,
    OrderRevealOut,
    OrderReviewApproveIn,
    OrderReviewSendBackIn,
    OrderSubmitIn,
    OrderSuperviseIn,
    OrderUrgeIn,
    PathId,
)
from orders.errors import InvalidBatch, InvalidInput, TransitionNotAllowed
from orders.models import (
    Assignment,
    Attachment,
    ExtensionRequest,
    Order,
    OrderEvent,
    Reply,
    SuspensionRequest,
)
from orders.selectors import (
    QUEUE_SELECT,
    order_duplicates_visible_to,
    order_get_for_user,
    order_list_for_queue,
    order_timeline,
    orders_visible_among,
)
from orgs.models import Unit

router = Router(auth=ApiTokenAuth(), tags=["工单"])

CURSOR_SALT = "orders.api.cursor"
FILE_RESPONSE = {
    "responses": {
        "200": {
            "description": "文件内容",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in ("image/jpeg", "image/png", "application/pdf")
            },
        }
    }
}


# --- loading ---------------------------------------------------------------------------------------


def _actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _order(request: HttpRequest, order_id: int, version: int | None = None) -> Order:
    """The order if the caller may see it (404 otherwise); ``version`` is what the client saw."""
    order, _writable = order_get_for_user(_actor(request), order_id)
    if version is not None:
        order.version = version
    return order


def _unit(pk: int | None) -> Unit | None:
    if pk is None:
        return None
    unit = Unit.objects.filter(pk=pk, is_active=True).first()
    if unit is None:
        raise InvalidInput(_("单位不存在或已停用。"))
    return unit


def _required_unit(pk: int) -> Unit:
    unit = _unit(pk)
    assert unit is not None  # _unit raises for a missing one
    return unit


def _item(pk: int | None) -> CatalogItem | None:
    if pk is None:
        return None
    item = CatalogItem.objects.filter(pk=pk).first()
    if item is None:
        raise InvalidInput(_("事项不存在。"))
    return item


def _assignment(order: Order, pk: int | None) -> Assignment | None:
    if pk is None:
        return None
    found = Assignment.objects.filter(pk=pk, order_id=order.pk).first()
    if found is None:
        raise InvalidInput(_("派单记录不属于该工单。"))
    return found


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Naive datetimes in filters are read in the server's time zone (Asia/Shanghai)."""
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value)


def _done(order: Order, event: OrderEvent | None, created_id: int | None = None) -> dict[str, Any]:
    fresh = Order.objects.select_related(*QUEUE_SELECT).get(pk=order.pk)
    return {
        "event": present.event_out(event, fresh) if event is not None else None,
        "order": present.order_summary(fresh),
        "created_id": created_id,
    }


def _last_event(order: Order) -> OrderEvent | None:
    return (
        OrderEvent.objects.select_related("actor", "actor_unit")
        .filter(order_id=order.pk)
        .order_by("-seq")
        .first()
    )


# --- cursor pagination --------------------------------------------------------------------------------


def encode_cursor(order: Order) -> str:
    return signing.dumps([order.created_at.isoformat(), order.pk], salt=CURSOR_SALT, compress=True)


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        created, pk = signing.loads(cursor, salt=CURSOR_SALT)
        return dt.datetime.fromisoformat(created), int(pk)
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidInput(_("分页游标无效。")) from None


def page(qs: QuerySet[Order], cursor: str | None, limit: int) -> tuple[list[Order], str | None]:
    """A page of ``qs`` ordered newest first by (created_at, id) after ``cursor``."""
    qs = qs.order_by("-created_at", "-pk")
    if cursor:
        created, pk = decode_cursor(cursor)
        qs = qs.filter(Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1]) if more and rows else None)


# --- intake (before the reads: ``/batch`` must not be taken for an order id) ------------------------------


def create_kwargs(
    data: OrderFieldsIn,
    *,
    items: dict[int, CatalogItem] | None = None,
    grids: dict[int, Unit] | None = None,
) -> dict[str, Any]:
    """Service arguments from the creation fields (shared with the call-centre hook); a batch
    passes the items and grids it loaded together (``_batch_refs``)."""
    item = items[data.item_id] if items is not None and data.item_id else _item(data.item_id)
    grid = grids[data.grid_id] if grids is not None and data.grid_id else _unit(data.grid_id)
    return {
        "kind": data.kind,
        "title": data.title,
        "content": data.content,
        "urgency": data.urgency,
        "item": item,
        "address_text": data.address_text,
        "lon": data.lon,
        "lat": data.lat,
        "coord_system": data.coord_system,
        "grid": grid,
        "requester_name": data.requester_name,
        "requester_id_number": data.requester_id_number,
        "confidential": data.confidential,
        "client_request_id": data.client_request_id,
        "submit": data.submit,
    }


def forbid_foreign_request_ids(actor: Any, request_ids: list[str | None]) -> list[Order]:
    """The orders earlier calls created with these request ids (idempotent retries); a request id
    someone else used is a conflict, not a way to read their order."""
    wanted = {r.strip() for r in request_ids if r and r.strip()}
    if not wanted:
        return []
    existing = list(Order.objects.filter(client_request_id__in=wanted))
    visible = set(orders_visible_among(actor, [o.pk for o in existing]).values_list("pk", flat=True))
    if any(o.pk not in visible for o in existing):
        raise TransitionNotAllowed(_("该客户端请求号已被使用。"))
    return existing


def replayed(actor: Any, client_request_id: str | None) -> Order | None:
    """The order an earlier call with this request id created, if any (see above)."""
    existing = forbid_foreign_request_ids(actor, [client_request_id])
    return existing[0] if existing else None


@router.post("", response={201: OrderDetailOut, 200: OrderDetailOut, **STAFF_ERRORS}, summary="登记工单")
def order_create(request: HttpRequest, data: OrderCreateIn) -> Status[dict[str, Any]]:
    """Idempotent on ``client_request_id``: a retry answers 200 with the first order."""
    actor = _actor(request)
    earlier = replayed(actor, data.client_request_id)
    if earlier is not None:
        return Status(200, present.order_detail(actor, _order(request, earlier.pk)))
    order = services.order_create(
        actor=actor,
        now=timezone.now(),
        channel=data.channel,
        requester_phone=data.requester_phone,
        **create_kwargs(data),
    )
    return Status(201, present.order_detail(actor, _order(request, order.pk)))


def _batch_refs(rows: list[Any]) -> tuple[dict[int, CatalogItem], dict[int, Unit]]:
    """The catalog items and active grids the rows name, in two queries; unknown ones refuse the
    batch (entry index and message, as the service reports its own refusals)."""
    items = CatalogItem.objects.in_bulk({r.item_id for r in rows if r.item_id})
    grids = Unit.objects.filter(is_active=True).in_bulk({r.grid_id for r in rows if r.grid_id})
    problems = [(i, _("事项不存在。")) for i, r in enumerate(rows) if r.item_id and r.item_id not in items]
    problems += [
        (i, _("单位不存在或已停用。")) for i, r in enumerate(rows) if r.grid_id and r.grid_id not in grids
    ]
    if problems:
        raise InvalidBatch(sorted(problems))
    return items, grids


@router.post("/batch", response={201: OrderBatchOut, **STAFF_ERRORS}, summary="批量登记工单")
def order_create_batch(request: HttpRequest, data: OrderBatchIn) -> Status[dict[str, Any]]:
    """Up to 500 orders, all or none; refusals come back together, each located at its entry
    (``loc``: ``["body", "orders", index]``). Idempotent per ``client_request_id``: a known one
    answers with its order (``created`` false)."""
    actor = _actor(request)
    forbid_foreign_request_ids(actor, [row.client_request_id for row in data.orders])
    items, grids = _batch_refs(data.orders)
    entries = [
        {
            "channel": row.channel,
            "requester_phone": row.requester_phone,
            **create_kwargs(row, items=items, grids=grids),
        }
        for row in data.orders
    ]
    done = services.order_create_batch(actor=actor, now=timezone.now(), entries=entries)
    rows = [{"id": e.order.pk, "number": e.order.number, "created": e.created} for e in done]
    return Status(201, {"orders": rows})


# --- reads ---------------------------------------------------------------------------------------------


@router.get("", response={200: OrderPageOut, **STAFF_ERRORS}, summary="工单列表（按权限范围）")
def order_list(request: HttpRequest, filters: Query[OrderFilterIn]) -> dict[str, Any]:
    """Filters combine; ordering is newest first by (created_at, id) with an opaque cursor."""
    f = filters
    qs = order_list_for_queue(
        _actor(request),
        queue=f.queue,
        status=[str(s) for s in f.status] if f.status else None,
        urgency=f.urgency,
        channel=f.channel,
        item=f.item,
        unit=f.unit,
        location=f.location,
        due_before=_aware(f.due_before),
        due_after=_aware(f.due_after),
        created_from=_aware(f.created_from),
        created_to=_aware(f.created_to),
    )
    rows, next_cursor = page(qs, f.cursor, f.limit)
    return {"items": [present.order_summary(o) for o in rows], "next_cursor": next_cursor}


@router.get("/{order_id}", response={200: OrderDetailOut, **STAFF_ERRORS}, summary="工单详情")
def order_detail(request: HttpRequest, order_id: PathId) -> dict[str, Any]:
    return present.order_detail(_actor(request), _order(request, order_id))


@router.get("/{order_id}/timeline", response={200: list[OrderEventOut], **STAFF_ERRORS}, summary="工单时间线")
def order_events(request: HttpRequest, order_id: PathId) -> list[dict[str, Any]]:
    order = _order(request, order_id)
    return [present.event_out(e, order) for e in order_timeline(order)]


@router.get(
    "/{order_id}/duplicates", response={200: list[DuplicateOut], **STAFF_ERRORS}, summary="疑似重复件"
)
def order_duplicates(request: HttpRequest, order_id: PathId) -> list[dict[str, Any]]:
    """Likely duplicates of the order, best first, limited to those the caller may see. Each row
    is the order's summary plus ``score``: the matcher's similarity in [0, 1] (highest first), or
    null when the candidate comes from the simple rule (same item, same grid, within 30 days)
    with no text to compare — the rule used when no matcher is installed."""
    found = order_duplicates_visible_to(_actor(request), _order(request, order_id))
    return [{**present.order_summary(o), "score": score} for o, score in found]


@router.get(
    "/{order_id}/attachments/{attachment_id}",
    response={**STAFF_ERRORS},
    url_name="order_attachment_download",
    summary="下载附件",
    openapi_extra=FILE_RESPONSE,
)
def order_attachment_download(request: HttpRequest, order_id: PathId, attachment_id: PathId) -> FileResponse:
    found = attachments.attachment_get_for_user(_actor(request), attachment_id)
    if found.order_id != order_id:
        raise Attachment.DoesNotExist
    return attachments.attachment_response(found)


@router.post(
    "/{order_id}/attachments",
    response={201: OrderAttachmentOut, **STAFF_ERRORS},
    summary="上传附件（照片/PDF）",
)
def order_attachment_upload(
    request: HttpRequest, order_id: PathId, file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    """Photos are re-encoded without metadata; SVG, HTML and executables are refused."""
    order = _order(request, order_id)
    data = attachments.read_upload(file)
    attachment = attachments.attachment_add(
        order=order, actor=_actor(request), now=timezone.now(), data=data, name=file.name or ""
    )
    return Status(201, present.attachment_out(attachment))


@router.post(
    "/{order_id}/answer", response={200: OrderActionOut, **STAFF_ERRORS}, summary="直接答复（咨询件）"
)
def order_answer(request: HttpRequest, order_id: PathId, data: OrderAnswerIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    knowledge = None
    if data.knowledge_id is not None:
        knowledge = KnowledgeAnswer.objects.filter(pk=data.knowledge_id).first()
        if knowledge is None:
            raise InvalidInput(_("知识库条目不存在。"))
    event = services.order_answer_directly(
        order=order, actor=_actor(request), now=timezone.now(), answer=data.answer, knowledge=knowledge
    )
    return _done(order, event)


@router.post("/{order_id}/submit", response={200: OrderActionOut, **STAFF_ERRORS}, summary="提交派单")
def order_submit(request: HttpRequest, order_id: PathId, data: OrderSubmitIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_submit(
        order=order, actor=_actor(request), now=timezone.now(), item=_item(data.item_id)
    )
    return _done(order, event)


@router.post("/{order_id}/withdraw", response={200: OrderActionOut, **STAFF_ERRORS}, summary="撤销")
def order_withdraw(request: HttpRequest, order_id: PathId, data: OrderReasonIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_withdraw(
        order=order, actor=_actor(request), now=timezone.now(), reason=data.reason
    )
    return _done(order, event)


# --- dispatch ------------------------------------------------------------------------------------------


@router.post("/{order_id}/dispatch", response={200: OrderActionOut, **STAFF_ERRORS}, summary="派单")
def order_dispatch(request: HttpRequest, order_id: PathId, data: OrderDispatchIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    assists = [u for u in (_unit(pk) for pk in dict.fromkeys(data.assist_unit_ids)) if u is not None]
    event = services.order_dispatch(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        lead_unit=_unit(data.lead_unit_id),
        assist_units=assists,
        item=_item(data.item_id),
        note=data.note,
    )
    return _done(order, event)


@router.post("/{order_id}/merge", response={200: OrderActionOut, **STAFF_ERRORS}, summary="合并到主件")
def order_merge(request: HttpRequest, order_id: PathId, data: OrderMergeIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    parent = _order(request, data.parent_id)
    event = services.order_merge(
        order=order, actor=_actor(request), now=timezone.now(), parent=parent, reason=data.reason
    )
    return _done(order, event)


@router.post("/{order_id}/return/uphold", response={200: OrderActionOut, **STAFF_ERRORS}, summary="同意退单")
def order_return_uphold(
    request: HttpRequest, order_id: PathId, data: OrderOptionalReasonIn
) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_return_uphold(
        order=order, actor=_actor(request), now=timezone.now(), reason=data.reason
    )
    return _done(order, event)


@router.post("/{order_id}/return/reject", response={200: OrderActionOut, **STAFF_ERRORS}, summary="驳回退单")
def order_return_reject(request: HttpRequest, order_id: PathId, data: OrderReasonIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_return_reject(
        order=order, actor=_actor(request), now=timezone.now(), reason=data.reason
    )
    return _done(order, event)


@router.post("/{order_id}/escalate", response={200: OrderActionOut, **STAFF_ERRORS}, summary="上报")
def order_escalate(request: HttpRequest, order_id: PathId, data: OrderReasonIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_escalate(
        order=order, actor=_actor(request), now=timezone.now(), reason=data.reason
    )
    return _done(order, event)


@router.post("/{order_id}/reopen", response={200: OrderActionOut, **STAFF_ERRORS}, summary="重办")
def order_reopen(request: HttpRequest, order_id: PathId, data: OrderReopenIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_reopen(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        reason=data.reason,
        lead_unit=_unit(data.lead_unit_id),
    )
    return _done(order, event)


@router.post("/{order_id}/close", response={200: OrderActionOut, **STAFF_ERRORS}, summary="办结")
def order_close(request: HttpRequest, order_id: PathId, data: OrderReasonIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_close(order=order, actor=_actor(request), now=timezone.now(), reason=data.reason)
    return _done(order, event)


# --- handling ----------------------------------------------------------------------------------------------


@router.post("/{order_id}/accept", response={200: OrderActionOut, **STAFF_ERRORS}, summary="签收")
def order_accept(request: HttpRequest, order_id: PathId, data: OrderAssignmentIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_accept(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        assignment=_assignment(order, data.assignment_id),
    )
    return _done(order, event)


@router.post("/{order_id}/return", response={200: OrderActionOut, **STAFF_ERRORS}, summary="申请退单")
def order_return(request: HttpRequest, order_id: PathId, data: OrderAssignmentReasonIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_return(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        reason=data.reason,
        assignment=_assignment(order, data.assignment_id),
    )
    return _done(order, event)


@router.post("/{order_id}/delegate", response={200: OrderActionOut, **STAFF_ERRORS}, summary="下派")
def order_delegate(request: HttpRequest, order_id: PathId, data: OrderDelegateIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_delegate(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        unit=_required_unit(data.unit_id),
        assignment=_assignment(order, data.assignment_id),
        note=data.note,
    )
    return _done(order, event)


@router.post("/{order_id}/contact", response={200: OrderActionOut, **STAFF_ERRORS}, summary="记录联系群众")
def order_contact(request: HttpRequest, order_id: PathId, data: OrderContactIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_record_contact(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        method=data.method,
        note=data.note,
        assignment=_assignment(order, data.assignment_id),
    )
    return _done(order, event)


@router.post(
    "/{order_id}/reveal",
    response={200: OrderRevealOut, **STAFF_ERRORS},
    summary="查看群众号码（需理由，审计）",
)
def order_reveal(request: HttpRequest, order_id: PathId, data: OrderRevealIn) -> dict[str, Any]:
    """The one place a raw number leaves the system: current holder only, with a reason; logged,
    audited, on the timeline and rate-limited. Confidential orders only through the hotline."""
    order = _order(request, order_id, data.version)
    value = services.order_reveal_phone(
        order=order, actor=_actor(request), now=timezone.now(), reason=data.reason, field=data.field
    )
    return {"field": str(data.field), "value": value}


@router.post("/{order_id}/extension", response={200: OrderActionOut, **STAFF_ERRORS}, summary="申请延期")
def order_extension_request(request: HttpRequest, order_id: PathId, data: OrderExtensionIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    created = services.order_extension_request(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        amount=data.amount,
        reason=data.reason,
        assignment=_assignment(order, data.assignment_id),
    )
    return _done(order, _last_event(order), created.pk)


def _extension(order: Order, pk: int) -> ExtensionRequest:
    found = ExtensionRequest.objects.filter(pk=pk, order_id=order.pk).first()
    if found is None:
        raise ExtensionRequest.DoesNotExist
    return found


def _suspension(order: Order, pk: int) -> SuspensionRequest:
    found = SuspensionRequest.objects.filter(pk=pk, order_id=order.pk).first()
    if found is None:
        raise SuspensionRequest.DoesNotExist
    return found


@router.post(
    "/{order_id}/extension/{request_id}/approve",
    response={200: OrderActionOut, **STAFF_ERRORS},
    summary="同意延期",
)
def order_extension_approve(
    request: HttpRequest, order_id: PathId, request_id: PathId, data: OrderOptionalReasonIn
) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_extension_approve(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        request=_extension(order, request_id),
        reason=data.reason,
    )
    return _done(order, event)


@router.post(
    "/{order_id}/extension/{request_id}/refuse",
    response={200: OrderActionOut, **STAFF_ERRORS},
    summary="驳回延期",
)
def order_extension_refuse(
    request: HttpRequest, order_id: PathId, request_id: PathId, data: OrderReasonIn
) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_extension_refuse(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        request=_extension(order, request_id),
        reason=data.reason,
    )
    return _done(order, event)


@router.post("/{order_id}/suspension", response={200: OrderActionOut, **STAFF_ERRORS}, summary="申请挂账")
def order_suspend_request(
    request: HttpRequest, order_id: PathId, data: OrderAssignmentReasonIn
) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    created = services.order_suspend_request(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        reason=data.reason,
        assignment=_assignment(order, data.assignment_id),
    )
    return _done(order, _last_event(order), created.pk)


@router.post(
    "/{order_id}/suspension/{request_id}/approve",
    response={200: OrderActionOut, **STAFF_ERRORS},
    summary="同意挂账",
)
def order_suspend_approve(
    request: HttpRequest, order_id: PathId, request_id: PathId, data: OrderOptionalReasonIn
) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_suspend_approve(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        request=_suspension(order, request_id),
        reason=data.reason,
    )
    return _done(order, event)


@router.post(
    "/{order_id}/suspension/{request_id}/refuse",
    response={200: OrderActionOut, **STAFF_ERRORS},
    summary="驳回挂账",
)
def order_suspend_refuse(
    request: HttpRequest, order_id: PathId, request_id: PathId, data: OrderReasonIn
) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_suspend_refuse(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        request=_suspension(order, request_id),
        reason=data.reason,
    )
    return _done(order, event)


@router.post("/{order_id}/resume", response={200: OrderActionOut, **STAFF_ERRORS}, summary="恢复办理")
def order_resume(request: HttpRequest, order_id: PathId, data: OrderOptionalReasonIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_resume(order=order, actor=_actor(request), now=timezone.now(), reason=data.reason)
    return _done(order, event)


@router.post("/{order_id}/reply", response={200: OrderActionOut, **STAFF_ERRORS}, summary="办理反馈")
def order_reply(request: HttpRequest, order_id: PathId, data: OrderReplyIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    photos = list(Attachment.objects.filter(order_id=order.pk, pk__in=data.attachment_ids))
    if len(photos) != len(set(data.attachment_ids)):
        raise InvalidInput(_("附件不属于该工单。"))
    reply = services.order_reply(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        outcome=data.outcome,
        explanation=data.explanation,
        assignment=_assignment(order, data.assignment_id),
        photos=photos,
    )
    return _done(order, _last_event(order), reply.pk)


# --- review and callback ------------------------------------------------------------------------------


def _reply(order: Order, pk: int | None) -> Reply | None:
    if pk is None:
        return None
    found = Reply.objects.filter(pk=pk, order_id=order.pk).first()
    if found is None:
        raise InvalidInput(_("反馈不属于该工单。"))
    return found


@router.post("/{order_id}/review/approve", response={200: OrderActionOut, **STAFF_ERRORS}, summary="审核通过")
def order_review_approve(
    request: HttpRequest, order_id: PathId, data: OrderReviewApproveIn
) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_review_approve(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        reply=_reply(order, data.reply_id),
        comment=data.comment,
    )
    return _done(order, event)


@router.post(
    "/{order_id}/review/send-back", response={200: OrderActionOut, **STAFF_ERRORS}, summary="退回重办"
)
def order_review_send_back(
    request: HttpRequest, order_id: PathId, data: OrderReviewSendBackIn
) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_review_send_back(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        reason=data.reason,
        reply=_reply(order, data.reply_id),
    )
    return _done(order, event)


def _callback_kwargs(data: OrderCallbackIn) -> dict[str, Any]:
    return {
        "reached": data.reached,
        "satisfaction": str(data.satisfaction or ""),
        "unit_contacted": data.unit_contacted,
        "resolved": data.resolved,
        "comment": data.comment,
    }


@router.post("/{order_id}/callback", response={200: OrderActionOut, **STAFF_ERRORS}, summary="回访")
def order_callback(request: HttpRequest, order_id: PathId, data: OrderCallbackIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    callback = services.order_callback(
        order=order, actor=_actor(request), now=timezone.now(), **_callback_kwargs(data)
    )
    return _done(order, _last_event(order), callback.pk)


@router.post(
    "/{order_id}/callback-merged", response={200: OrderActionOut, **STAFF_ERRORS}, summary="合并件回访"
)
def order_callback_merged(request: HttpRequest, order_id: PathId, data: OrderCallbackIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    callback = services.order_callback_merged(
        order=order, actor=_actor(request), now=timezone.now(), **_callback_kwargs(data)
    )
    return _done(order, _last_event(order), callback.pk)


# --- supervision ---------------------------------------------------------------------------------------------


@router.post("/{order_id}/urge", response={200: OrderActionOut, **STAFF_ERRORS}, summary="催办")
def order_urge(request: HttpRequest, order_id: PathId, data: OrderUrgeIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    event = services.order_urge(
        order=order, actor=_actor(request), now=timezone.now(), message=data.message, unit=_unit(data.unit_id)
    )
    return _done(order, event)


@router.post("/{order_id}/supervise", response={200: OrderActionOut, **STAFF_ERRORS}, summary="督办")
def order_supervise(request: HttpRequest, order_id: PathId, data: OrderSuperviseIn) -> dict[str, Any]:
    order = _order(request, order_id, data.version)
    supervision = services.order_supervise(
        order=order,
        actor=_actor(request),
        now=timezone.now(),
        reason=data.reason,
        unit=_unit(data.unit_id),
        within_days=data.within_days,
    )
    return _done(order, _last_event(order), supervision.pk)
