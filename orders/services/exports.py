"""Bulk export of the order search (SECURITY.md PI-4): request with a reason, approval by a leader
or supervisor above the requester, a workbook built after the approval within the *requester's*
scope (requester masked, none at all on confidential orders), watermarked with who took it,
downloadable by the requester only for a day from when it is ready, rate-limited, and every step —
every refused attempt too — in the audit log.

``filters`` is the order search in JSON-safe form (``clean_export_filters``): ``status``,
``urgency``, ``channel`` (choice values), ``item`` and ``area`` (ids), ``due_before`` and
``due_after`` (ISO 8601 instants, the search's relative deadline already resolved at request
time) and ``q`` (an order-number prefix, digits).

The approval only commits the decision; the workbook (slow I/O, STYLE.md rule 8) is built by the
task ``orders.tasks.order_export_build_task`` enqueued after commit, which calls
``order_export_build``: it claims the export with a conditional update (one builder at a time,
none once the file is stored), builds outside any transaction and stores the file with another
conditional update, so a second or concurrent run neither builds twice nor overwrites a ready
export; a failure is recorded (``failed``, with its reason, audited). The periodic
``order_exports_sweep_task`` builds again what a dead worker or a lost task left approved
(``order_exports_rescue``) and expires the files past their day.

The entry points that views and the API call (request, decide, download) run in their own
transaction through ``_refusals_audited``: when one refuses (``PermissionDenied``,
``RateLimited``, ``StaleTransition``) its transaction rolls back, then one
``orders.export_refused`` row is written in a transaction of its own and the same error raised.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import logging
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _
from openpyxl.packaging.core import DocumentProperties
from openpyxl.xml.functions import tostring

from core.audit import audit_record
from core.excel import SheetOut, write_workbook
from core.masking import mask_name, mask_phone
from core.models.audit import AuditOutcome
from core.workcalendar import SHANGHAI
from orders import permissions
from orders.choices import Channel, OrderStatus, Urgency
from orders.errors import InvalidInput, RateLimited, StaleTransition
from orders.models import ExportStatus, Order, OrderExport
from orders.selectors import (
    order_exports_approvable_by,
    order_list_for_queue,
)
from orders.services._core import require, require_reason
from orgs.selectors import _has_scope

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_DAILY_LIMIT = 5
DEFAULT_MAX_ROWS = 20_000
VALID_FOR = dt.timedelta(hours=24)
# Building: a claim lasts BUILD_LEASE (a worker that died frees the export when it lapses); an
# export still unbuilt STALLED_AFTER its approval is built again by the sweep, at most
# MAX_BUILD_ATTEMPTS claims in all, then it is failed.
DEFAULT_BUILD_LEASE_SECONDS = 600
STALLED_AFTER = dt.timedelta(minutes=5)
MAX_BUILD_ATTEMPTS = 3
NUMBER_MAX = 24

# The file format's contract: Chinese in every UI language (like core.excel's import headers).
HEADERS = (
    "工单编号",
    "登记时间",
    "来源渠道",
    "诉求类型",
    "事项",
    "网格",
    "状态",
    "当前承办",
    "答复时限",
    "标题",
    "诉求人",
    "联系电话",
)
DATA_SHEET = "工单"
WATERMARK_SHEET = "导出说明"
_CHOICES = {"status": OrderStatus.values, "urgency": Urgency.values, "channel": Channel.values}
_IDS = ("item", "area")
_INSTANTS = ("due_before", "due_after")


def daily_limit() -> int:
    return int(getattr(settings, "ORDERS_EXPORT_DAILY_LIMIT", DEFAULT_DAILY_LIMIT))


def max_rows() -> int:
    return int(getattr(settings, "ORDERS_EXPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def build_lease() -> dt.timedelta:
    return dt.timedelta(
        seconds=int(getattr(settings, "ORDERS_EXPORT_BUILD_LEASE_SECONDS", DEFAULT_BUILD_LEASE_SECONDS))
    )


# --- refused attempts ----------------------------------------------------------------------------

_REFUSALS = (PermissionDenied, RateLimited, StaleTransition)


def _refusals_audited(attempt: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run an entry point (keyword arguments ``actor``, ``now`` and maybe ``export``) in its own
    transaction. When it refuses, that transaction rolls back — and would take an audit row
    written inside it along — so one ``orders.export_refused`` row (outcome failure; the
    attempt, the error's code and message in ``extra``) is written afterwards in a transaction
    of its own, and the same error raised again. Invalid input (a missing reason, bad filters)
    is a form error, not a refused attempt, and is not audited."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        atomic = transaction.atomic(func)

        @functools.wraps(func)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return atomic(*args, **kwargs)
            except _REFUSALS as exc:
                export, now = kwargs.get("export"), kwargs.get("now")
                with transaction.atomic():
                    audit_record(
                        event_type="orders.export_refused",
                        actor=kwargs.get("actor"),
                        object_type="orders.OrderExport",
                        object_id=getattr(export, "pk", None) or "",
                        outcome=AuditOutcome.FAILURE,
                        extra={
                            "attempt": attempt,
                            "error": getattr(exc, "code", "permission_denied"),
                            "reason": str(getattr(exc, "message", exc)),
                        },
                        now=now if isinstance(now, dt.datetime) else None,
                    )
                raise

        return run

    return decorate


def clean_export_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The filters in their stored, JSON-safe form; anything unknown or malformed is refused
    (``InvalidInput``) rather than dropped, so a file never holds more than was asked for."""
    cleaned: dict[str, Any] = {}
    for key, value in filters.items():
        if value is None or value == "":
            continue
        if key in _CHOICES:
            if str(value) not in _CHOICES[key]:
                raise InvalidInput(_("筛选条件无效，请重新筛选后再申请导出。"))
            cleaned[key] = str(value)
        elif key in _IDS:
            pk = value if isinstance(value, int) else getattr(value, "pk", value)
            if isinstance(pk, bool) or not str(pk).isdigit():
                raise InvalidInput(_("筛选条件无效，请重新筛选后再申请导出。"))
            cleaned[key] = int(pk)
        elif key in _INSTANTS:
            cleaned[key] = _instant(value).isoformat()
        elif key == "q":
            text = str(value)
            if not text.isdigit() or len(text) > NUMBER_MAX:
                raise InvalidInput(_("工单号只能是数字。"))
            cleaned[key] = text
        else:
            raise InvalidInput(_("筛选条件无效，请重新筛选后再申请导出。"))
    return cleaned


def _instant(value: Any) -> dt.datetime:
    try:
        moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(_("筛选条件中的时间无效。")) from None
    if moment.tzinfo is None:
        raise InvalidInput(_("筛选条件中的时间无效。"))
    return moment


def export_rows(requester: Any, filters: Mapping[str, Any]) -> QuerySet[Order]:
    """The orders an export holds: the order search of the REQUESTER (``order_list_for_queue``,
    within ``orders_visible_to(requester)``) with the stored filters, newest first."""
    f = clean_export_filters(filters)
    qs = order_list_for_queue(
        requester,
        status=f.get("status"),
        urgency=f.get("urgency"),
        channel=f.get("channel"),
        item=f.get("item"),
        location=f.get("area"),
        due_before=_instant(f["due_before"]) if "due_before" in f else None,
        due_after=_instant(f["due_after"]) if "due_after" in f else None,
    )
    if f.get("q"):
        qs = qs.filter(number__startswith=f["q"])
    return qs


# --- request -------------------------------------------------------------------------------------


@_refusals_audited("request")
def order_export_request(
    *, actor: Any, filters: Mapping[str, Any], reason: str, now: dt.datetime
) -> OrderExport:
    """申请导出: a dispatcher, supervisor or leader asks to export the order search with ``filters``,
    giving a reason; at most ``ORDERS_EXPORT_DAILY_LIMIT`` requests per person and (Shanghai) day,
    counted from the rows themselves. Audited (``orders.export_request``; a refusal
    ``orders.export_refused``)."""
    require(
        permissions.can_request_export(actor),
        _("只有派单员、督办员或领导可以申请导出工单。"),
    )
    text = require_reason(reason, what=_("请填写导出理由。"))
    cleaned = clean_export_filters(filters)
    # Serialise one person's requests (PostgreSQL; SQLite serialises writers anyway) so two
    # requests at once cannot both pass the count.
    list(get_user_model().objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True))
    day_start = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    limit = daily_limit()
    if OrderExport.objects.filter(requested_by_id=actor.pk, created_at__gte=day_start).count() >= limit:
        raise RateLimited(_("每人每天最多申请导出%(n)d次，请明天再试。") % {"n": limit})
    export = OrderExport.objects.create(
        requested_by=actor, reason=text, filters=cleaned, status=ExportStatus.PENDING, created_at=now
    )
    audit_record(
        event_type="orders.export_request",
        actor=actor,
        object_type="orders.OrderExport",
        object_id=export.pk,
        after={"status": export.status, "filters": cleaned},
        extra={"reason": text},
        now=now,
    )
    return export


# --- decision ------------------------------------------------------------------------------------


@_refusals_audited("decide")
def order_export_decide(
    *, actor: Any, export: OrderExport, approve: bool, reason: str, now: dt.datetime
) -> OrderExport:
    """Approve or refuse an export. The approver is someone other than the requester, a leader or
    supervisor at or above every unit where the requester may export
    (``orders.selectors.order_exports_approvable_by``); a refusal needs a reason. Only one
    decision wins (a conditional update on ``status=pending``; the loser gets ``StaleTransition``).
    An approval commits the decision only: the workbook is built from the requester's own scope
    by ``order_export_build_task``, enqueued once the decision has committed. Audited
    (``orders.export_approve`` / ``orders.export_refuse``; a refusal ``orders.export_refused``)."""
    require(_has_scope(actor), _("只有申请人所在单位或上级单位的领导、督办员可以审批导出。"))
    require(export.requested_by_id != actor.pk, _("不能审批自己的导出申请。"))
    require(
        order_exports_approvable_by(actor).filter(pk=export.pk).exists(),
        _("只有申请人所在单位或上级单位的领导、督办员可以审批导出。"),
    )
    current = OrderExport.objects.defer("content").select_related("requested_by").get(pk=export.pk)
    if current.status != ExportStatus.PENDING:
        raise StaleTransition(_("该导出申请已被他人处理（%(s)s），请刷新后查看。") % _status_words(current))
    if approve:
        text = (reason or "").strip()
        if text:
            text = require_reason(text)
    else:
        text = require_reason(reason, what=_("驳回导出申请须填写理由。"))
    values: dict[str, Any] = {
        "status": ExportStatus.APPROVED if approve else ExportStatus.REFUSED,
        "decided_by": actor,
        "decided_at": now,
        "decision_reason": text,
    }
    won = OrderExport.objects.filter(pk=current.pk, status=ExportStatus.PENDING).update(**values)
    if not won:
        raise StaleTransition(_("该导出申请已被他人处理，请刷新后查看。"))
    for field, value in values.items():
        setattr(export, field, value)
    audit_record(
        event_type="orders.export_approve" if approve else "orders.export_refuse",
        actor=actor,
        object_type="orders.OrderExport",
        object_id=current.pk,
        before={"status": ExportStatus.PENDING},
        after={"status": values["status"]},
        extra={
            "requested_by": current.requested_by.get_username(),
            "filters": current.filters,
            "reason": text,
        },
        now=now,
    )
    if approve:
        # robust: a queue that is down must not fail the committed decision; the sweep builds it.
        export_id = current.pk
        transaction.on_commit(lambda: _enqueue_build(export_id), robust=True)
    return export


def _enqueue_build(export_id: int) -> None:
    from orders.tasks import order_export_build_task

    order_export_build_task(export_id)


def _status_words(export: OrderExport) -> dict[str, str]:
    # What the other decider did: approved, whatever became of the file since.
    decided = ExportStatus.REFUSED if export.status == ExportStatus.REFUSED else ExportStatus.APPROVED
    return {"s": str(decided.label)}


# --- building (a task, after the approval committed) ----------------------------------------------


def order_export_build(*, export_id: int, clock: Callable[[], dt.datetime]) -> bool:
    """Build an approved export's workbook and store it, marking it ready; True when this call
    did. Safe to run twice or at once: the claim is a conditional update (an approved export
    whose claim is free or has lapsed, so one builder at a time), the workbook is built outside
    any transaction, and it is stored only while this call's claim still holds (the claim's
    instant is its token) and the export is still approved — a ready export is never rebuilt or
    overwritten. If building fails the export is marked failed with the reason (audited
    ``orders.export_failed``). ``clock`` is read at the claim and again when the file is ready:
    the day of download starts then (the file states the claim's day, at most the build's
    duration earlier)."""
    now = clock()
    until = now + build_lease()
    claimed = (
        OrderExport.objects.filter(pk=export_id, status=ExportStatus.APPROVED)
        .filter(Q(build_claimed_until__isnull=True) | Q(build_claimed_until__lte=now))
        .update(build_claimed_until=until, build_attempts=F("build_attempts") + 1)
    )
    if not claimed:
        return False
    export = (
        OrderExport.objects.defer("content").select_related("requested_by", "decided_by").get(pk=export_id)
    )
    try:
        if export.decided_by is None or export.decided_at is None:
            raise ValueError("an approved export without its approver")
        content, row_count = build_export_workbook(
            export=export,
            approver=export.decided_by,
            approved_at=export.decided_at,
            expires_at=now + VALID_FOR,
        )
    except Exception as exc:  # any failure is recorded on the export; the requester asks again
        logger.exception("building export %s failed", export_id)
        _build_failed(export, claim=until, reason=_failure_text(exc), now=clock())
        return False
    return _build_stored(export, claim=until, content=content, row_count=row_count, now=clock())


@transaction.atomic
def _build_stored(
    export: OrderExport, *, claim: dt.datetime, content: bytes, row_count: int, now: dt.datetime
) -> bool:
    values: dict[str, Any] = {
        "status": ExportStatus.READY,
        "content": content,
        "row_count": row_count,
        "sha256": hashlib.sha256(content).hexdigest(),
        "ready_at": now,
        "expires_at": now + VALID_FOR,
        "build_claimed_until": None,
    }
    stored = OrderExport.objects.filter(
        pk=export.pk, status=ExportStatus.APPROVED, build_claimed_until=claim
    ).update(**values)
    if not stored:
        return False  # our claim lapsed and someone else builds it (or did)
    audit_record(
        event_type="orders.export_ready",
        object_type="orders.OrderExport",
        object_id=export.pk,
        before={"status": ExportStatus.APPROVED},
        after={
            "status": ExportStatus.READY,
            "row_count": row_count,
            "sha256": values["sha256"],
            "expires_at": values["expires_at"],
        },
        extra={"requested_by": export.requested_by.get_username(), "attempt": export.build_attempts},
        now=now,
    )
    return True


@transaction.atomic
def _build_failed(export: OrderExport, *, claim: dt.datetime | None, reason: str, now: dt.datetime) -> bool:
    """Mark an approved export failed (while ``claim`` holds; None: whatever the claim, for the
    sweep giving up) and audit it; False when it was no longer ours to fail."""
    rows = OrderExport.objects.filter(pk=export.pk, status=ExportStatus.APPROVED)
    if claim is not None:
        rows = rows.filter(build_claimed_until=claim)
    else:
        rows = rows.filter(Q(build_claimed_until__isnull=True) | Q(build_claimed_until__lte=now))
    if not rows.update(status=ExportStatus.FAILED, failure_reason=reason, build_claimed_until=None):
        return False
    audit_record(
        event_type="orders.export_failed",
        object_type="orders.OrderExport",
        object_id=export.pk,
        outcome=AuditOutcome.FAILURE,
        before={"status": ExportStatus.APPROVED},
        after={"status": ExportStatus.FAILED},
        extra={"reason": reason, "attempt": export.build_attempts},
        now=now,
    )
    return True


def _failure_text(exc: BaseException) -> str:
    # The message may quote a cell (a title): mask phone and ID numbers as in the workbook.
    from orders.api.present import mask_text

    return mask_text(f"{type(exc).__name__}: {exc}")[:255]


def order_exports_rescue(*, now: dt.datetime) -> list[int]:
    """Approved exports still unbuilt ``STALLED_AFTER`` their approval, with no live claim (a
    worker died while building, or the queue lost the task): those claimed
    ``MAX_BUILD_ATTEMPTS`` times already are failed (audited), the ids of the others are
    returned, to be built again (``order_exports_sweep_task``)."""
    stalled = list(
        OrderExport.objects.filter(status=ExportStatus.APPROVED, decided_at__lte=now - STALLED_AFTER)
        .filter(Q(build_claimed_until__isnull=True) | Q(build_claimed_until__lte=now))
        .defer("content")
        .order_by("decided_at", "pk")
    )
    again: list[int] = []
    for export in stalled:
        if export.build_attempts >= MAX_BUILD_ATTEMPTS:
            _build_failed(
                export,
                claim=None,
                reason=f"building interrupted {export.build_attempts} times (worker stopped)",
                now=now,
            )
        else:
            again.append(export.pk)
    return again


# --- the workbook ----------------------------------------------------------------------------


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def _person(user: Any) -> str:
    username = str(user.get_username())
    display = str(getattr(user, "display_name", "") or "")
    return f"{username}（{display}）" if display and display != username else username


def watermark_text(*, export: OrderExport, approver: Any, approved_at: dt.datetime) -> str:
    """The one line that names who took the file, which export it is, who approved it and when."""
    # Fixed Chinese whatever the UI language: it is part of the file, like the headers.
    return (
        f"民呼工单导出 导出人：{export.requested_by.get_username()}；导出编号：{export.pk}；"
        f"审批人：{approver.get_username()}；审批时间：{_local(approved_at)}；仅限工作使用，严禁外传。"
    )


def _order_rows(orders: Iterator[Order]) -> Iterator[list[str]]:
    # Lazily: orders.api.present pulls in the attachment pipeline (Pillow), which these
    # services never need otherwise (see orders.services.__getattr__).
    from orders.api.present import mask_text, requester_secrets

    for order in orders:
        if order.confidential:
            name = phone = ""  # a confidential order's requester never leaves the hotline
        else:
            name = mask_name(order.requester_name)
            phone = mask_phone(order.requester_phone)
        yield [
            order.number,
            _local(order.created_at),
            str(order.get_channel_display()),
            str(order.get_kind_display()),
            order.item.name if order.item is not None else "",
            order.grid.name if order.grid is not None else "",
            str(order.get_status_display()),
            order.holder_unit.name if order.holder_unit is not None else "",
            _local(order.due_at),
            mask_text(order.title, *requester_secrets(order)),
            name,
            phone,
        ]


def build_export_workbook(
    *, export: OrderExport, approver: Any, approved_at: dt.datetime, expires_at: dt.datetime
) -> tuple[bytes, int]:
    """The .xlsx of an export and its number of order rows: a first sheet 导出说明 with the
    watermark and the request, then the orders (at most ``ORDERS_EXPORT_MAX_ROWS``); the
    workbook's properties (creator, description …) carry the watermark too."""
    cap = max_rows()
    orders = list(export_rows(export.requested_by, export.filters)[: cap + 1].iterator(chunk_size=2000))
    truncated = len(orders) > cap
    orders = orders[:cap]
    mark = watermark_text(export=export, approver=approver, approved_at=approved_at)
    about: list[Sequence[str]] = [
        ["水印", mark],
        ["导出人", _person(export.requested_by)],
        ["导出编号", str(export.pk)],
        ["申请时间", _local(export.created_at)],
        ["导出理由", export.reason],
        ["审批人", _person(approver)],
        ["审批时间", _local(approved_at)],
        ["下载截止", _local(expires_at)],
        ["筛选条件", _describe_filters(export.filters)],
        ["导出条数", str(len(orders)) + ("（已达上限，其余未导出）" if truncated else "")],
        ["说明", "诉求人姓名、联系电话已脱敏；保密件不含诉求人信息。文件仅限工作使用，严禁外传。"],
    ]
    data = write_workbook(
        [
            SheetOut(title=WATERMARK_SHEET, headers=["项目", "内容"], rows=about),
            SheetOut(title=DATA_SHEET, headers=HEADERS, rows=_order_rows(iter(orders))),
        ]
    )
    properties = DocumentProperties(
        creator=export.requested_by.get_username(),
        lastModifiedBy=approver.get_username(),
        title=f"民呼工单导出 #{export.pk}",
        subject=f"导出编号 {export.pk}",
        description=mark,
        keywords=f"minhu-export-{export.pk}",
        identifier=f"minhu-export-{export.pk}",
        created=approved_at.astimezone(dt.UTC).replace(tzinfo=None),
        modified=approved_at.astimezone(dt.UTC).replace(tzinfo=None),
    )
    return _with_properties(data, properties), len(orders)


def _describe_filters(filters: Mapping[str, Any]) -> str:
    if not filters:
        return "（无，权限范围内的全部工单）"
    return "；".join(f"{key}={value}" for key, value in sorted(filters.items()))


def _with_properties(data: bytes, properties: DocumentProperties) -> bytes:
    """The same package with ``docProps/core.xml`` replaced (no re-reading of the sheets)."""
    core = tostring(properties.to_tree())
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            payload = core if info.filename == "docProps/core.xml" else source.read(info.filename)
            target.writestr(info, payload)
    return out.getvalue()


# --- download ------------------------------------------------------------------------------------


def _not_ready(status: str) -> str:
    if status == ExportStatus.APPROVED:
        return _("导出文件正在生成，请稍后刷新页面再下载。")
    if status == ExportStatus.FAILED:
        return _("导出文件生成失败，请重新申请。")
    if status == ExportStatus.EXPIRED:
        return _("该导出文件已过期，请重新申请。")
    return _("该导出未经审批，不能下载。")


@_refusals_audited("download")
def order_export_download(*, actor: Any, export: OrderExport, now: dt.datetime) -> bytes:
    """The ready file, to its requester only, until it expires (and while they still hold an
    export role); counts the download and audits it (``orders.export_download``; a refusal —
    someone else, not ready yet, failed, expired — ``orders.export_refused``)."""
    require(
        _has_scope(actor) and export.requested_by_id == actor.pk,
        _("只有申请人本人可以下载导出文件。"),
    )
    require(permissions.can_request_export(actor), _("您已不再具有导出工单的岗位。"))
    current = OrderExport.objects.defer("content").get(pk=export.pk)
    if current.status != ExportStatus.READY:
        raise PermissionDenied(_not_ready(current.status))
    # the window is checked by the counting update itself: one rule, no gap between check and write
    counted = OrderExport.objects.filter(pk=current.pk, status=ExportStatus.READY, expires_at__gt=now).update(
        download_count=F("download_count") + 1
    )
    require(bool(counted), _("该导出文件已过期，请重新申请。"))
    content = bytes(OrderExport.objects.filter(pk=current.pk).values_list("content", flat=True).get())
    export.download_count = current.download_count + 1
    audit_record(
        event_type="orders.export_download",
        actor=actor,
        object_type="orders.OrderExport",
        object_id=current.pk,
        extra={"sha256": current.sha256, "row_count": current.row_count, "download": export.download_count},
        now=now,
    )
    return content


# --- expiry --------------------------------------------------------------------------------------


@transaction.atomic
def order_exports_expire(*, now: dt.datetime) -> int:
    """Mark ready exports past their deadline 已过期 and drop their files; returns how many.
    Safe to run any number of times (for a periodic task)."""
    due = list(
        OrderExport.objects.filter(status=ExportStatus.READY, expires_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    expired = 0
    for pk in due:
        if OrderExport.objects.filter(pk=pk, status=ExportStatus.READY).update(
            status=ExportStatus.EXPIRED, content=b""
        ):
            expired += 1
            audit_record(
                event_type="orders.export_expire",
                object_type="orders.OrderExport",
                object_id=pk,
                before={"status": ExportStatus.READY},
                after={"status": ExportStatus.EXPIRED},
                now=now,
            )
    return expired


__all__ = [
    "build_export_workbook",
    "clean_export_filters",
    "export_rows",
    "order_export_build",
    "order_export_decide",
    "order_export_download",
    "order_export_request",
    "order_exports_expire",
    "order_exports_rescue",
    "watermark_text",
]
