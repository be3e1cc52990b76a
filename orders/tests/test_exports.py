"""Bulk export of the order search (SECURITY.md PI-4): who may ask, who may approve (someone else,
above the requester), one decision wins, the file (built after the approval commits, see
test_export_build) holds the requester's scope only, masked and watermarked, the requester alone
downloads it for a day, rate-limited, every step audited — every refused attempt too."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from openpyxl import load_workbook

from core.models import AuditEvent
from core.models.audit import AuditOutcome
from orders import services
from orders.choices import OrderStatus
from orders.errors import InvalidInput, RateLimited, StaleTransition
from orders.models import ExportStatus, OrderExport
from orders.selectors import order_exports_of, order_exports_pending_for
from orders.services.exports import clean_export_filters
from orders.tests.factories import make_order, person, walk_to
from orgs.choices import Role

RAW_PHONE = "13800138000"
OTHER_PHONE = "13912345678"


@pytest.fixture
def leader(cast):
    """A leader at the city: above everyone, and sees every grid (location axis)."""
    return person("city_leader", cast.tree.city, Role.LEADER)


@pytest.fixture
def approved(cast, now, leader, django_capture_on_commit_callbacks):
    """Request and approve an export; the build task enqueued after commit runs (Huey is
    immediate in tests), so the file is ready."""

    def approve(filters=None):
        export = _request(cast.district_dispatcher, now, filters=filters)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            services.order_export_decide(actor=leader, export=export, approve=True, reason="同意", now=now)
        assert len(callbacks) == 1
        return OrderExport.objects.get(pk=export.pk)

    return approve


@pytest.fixture
def orders_in_scope(cast, now):
    """Two orders the district dispatcher sees (dispatched to the district; one confidential),
    and one in the other district that only the city sees."""
    mine = make_order(
        actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, title=f"请回电{OTHER_PHONE}"
    )
    walk_to(mine, OrderStatus.IN_PROGRESS, cast, now)
    secret = make_order(
        actor=cast.agent,
        now=now,
        grid=cast.tree.grid,
        item=cast.item,
        confidential=True,
        requester_name="李四",
        requester_phone="13700137000",
    )
    walk_to(secret, OrderStatus.IN_PROGRESS, cast, now)
    other = make_order(
        actor=cast.agent, now=now, grid=cast.tree.other_grid, item=cast.item, title="西城的工单"
    )
    walk_to(other, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    return mine, secret, other


def _request(actor, now, filters=None, reason="月度分析"):
    return services.order_export_request(actor=actor, filters=filters or {}, reason=reason, now=now)


def _audits(export, event_type):
    return AuditEvent.objects.filter(
        event_type=event_type, object_type="orders.OrderExport", object_id=str(export.pk)
    )


def _refusals(**extra):
    """The ``orders.export_refused`` rows, with these values in ``extra``."""
    rows = AuditEvent.objects.filter(event_type="orders.export_refused")
    return [row for row in rows if all(row.extra.get(k) == v for k, v in extra.items())]


# --- request ---------------------------------------------------------------------------------


def test_a_dispatcher_requests_with_a_reason_and_it_is_audited(cast, now):
    export = _request(cast.district_dispatcher, now, filters={"status": OrderStatus.IN_PROGRESS})
    assert export.status == ExportStatus.PENDING
    assert export.filters == {"status": "in_progress"}
    assert export.content in (b"", None) or bytes(export.content) == b""
    audit = _audits(export, "orders.export_request").get()
    assert audit.actor == cast.district_dispatcher
    assert audit.extra["reason"] == "月度分析"
    assert list(order_exports_of(cast.district_dispatcher)) == [export]


@pytest.mark.parametrize("who", ["street_handler", "agent", "callback_agent", "outsider"])
def test_only_dispatchers_supervisors_and_leaders_may_request(cast, now, who):
    with pytest.raises(PermissionDenied) as refused:
        _request(getattr(cast, who), now)
    assert not OrderExport.objects.exists()
    # the refused attempt is audited although its transaction rolled back
    (row,) = _refusals(attempt="request")
    assert row.actor == getattr(cast, who) and row.outcome == AuditOutcome.FAILURE
    assert row.extra == {
        "attempt": "request",
        "error": "permission_denied",
        "reason": str(refused.value),
    }
    assert row.occurred_at == now and row.object_id == ""


def test_a_reason_is_required(cast, now):
    with pytest.raises(InvalidInput):
        _request(cast.district_dispatcher, now, reason="  ")
    assert not OrderExport.objects.exists()
    assert _refusals() == []  # invalid input is a form error, not a refused attempt


def test_unknown_or_malformed_filters_are_refused():
    with pytest.raises(InvalidInput):
        clean_export_filters({"requester_phone": RAW_PHONE})
    with pytest.raises(InvalidInput):
        clean_export_filters({"status": "nonsense"})
    with pytest.raises(InvalidInput):
        clean_export_filters({"due_before": "2025-09-26T09:00"})  # no time zone
    with pytest.raises(InvalidInput):
        clean_export_filters({"q": "12ab"})
    assert clean_export_filters({"item": "7", "area": 3, "urgency": "", "q": "2025"}) == {
        "item": 7,
        "area": 3,
        "q": "2025",
    }


def test_requests_are_rate_limited_per_person_and_day(cast, now, settings):
    settings.ORDERS_EXPORT_DAILY_LIMIT = 2
    _request(cast.district_dispatcher, now)
    _request(cast.district_dispatcher, now + dt.timedelta(hours=1))
    with pytest.raises(RateLimited) as refused:
        _request(cast.district_dispatcher, now + dt.timedelta(hours=2))
    assert "每人每天最多申请导出2次" in refused.value.message
    assert OrderExport.objects.filter(requested_by=cast.district_dispatcher).count() == 2
    (row,) = _refusals(attempt="request", error="rate_limited")
    assert row.actor == cast.district_dispatcher and row.extra["reason"] == refused.value.message
    assert row.occurred_at == now + dt.timedelta(hours=2)
    # someone else is not limited by it; the next (Shanghai) day starts afresh
    _request(cast.city_dispatcher, now + dt.timedelta(hours=2))
    _request(cast.district_dispatcher, now + dt.timedelta(days=1))


# --- decision --------------------------------------------------------------------------------


def test_nobody_approves_their_own_request(cast, now):
    export = _request(cast.supervisor, now)  # a district supervisor: an approver role too
    with pytest.raises(PermissionDenied, match="不能审批自己的导出申请"):
        services.order_export_decide(actor=cast.supervisor, export=export, approve=True, reason="", now=now)
    assert OrderExport.objects.get(pk=export.pk).status == ExportStatus.PENDING
    assert export not in order_exports_pending_for(cast.supervisor)
    (row,) = _refusals(attempt="decide")
    assert (row.actor, row.object_id, row.outcome) == (cast.supervisor, str(export.pk), AuditOutcome.FAILURE)
    assert row.extra["error"] == "permission_denied" and "不能审批自己的导出申请" in row.extra["reason"]


def test_an_approver_outside_the_requesters_ancestry_is_refused(cast, now, leader):
    export = _request(cast.district_dispatcher, now)
    other_leader = person("other_leader", cast.tree.other_district, Role.LEADER)
    street_leader = person("street_leader", cast.tree.street, Role.LEADER)  # below, not above
    refused = (other_leader, street_leader, cast.city_dispatcher, cast.district_handler)
    for approver in refused:
        assert export not in order_exports_pending_for(approver)
        with pytest.raises(PermissionDenied):
            services.order_export_decide(actor=approver, export=export, approve=True, reason="", now=now)
    assert OrderExport.objects.get(pk=export.pk).status == ExportStatus.PENDING
    rows = _refusals(attempt="decide")
    assert [row.actor for row in rows] == list(refused)
    assert {row.object_id for row in rows} == {str(export.pk)}
    assert not _audits(export, "orders.export_approve").exists()
    # at the requester's unit (a supervisor of the district) or above it (the city leader): yes
    assert export in order_exports_pending_for(cast.supervisor)
    assert export in order_exports_pending_for(leader)


def test_an_approver_must_be_above_every_unit_the_requester_exports_from(cast, now):
    """A requester who is also a dispatcher at the city cannot have a district supervisor sign off
    on a city-wide file."""
    from orgs.services import membership_grant

    membership_grant(actor=None, user=cast.district_dispatcher, unit=cast.tree.city, role=Role.DISPATCHER)
    export = _request(cast.district_dispatcher, now)
    with pytest.raises(PermissionDenied):
        services.order_export_decide(actor=cast.supervisor, export=export, approve=True, reason="", now=now)


def test_a_refusal_needs_a_reason_and_is_audited(cast, now, leader):
    export = _request(cast.district_dispatcher, now)
    with pytest.raises(InvalidInput):
        services.order_export_decide(actor=leader, export=export, approve=False, reason=" ", now=now)
    assert OrderExport.objects.get(pk=export.pk).status == ExportStatus.PENDING
    assert _refusals() == []
    services.order_export_decide(actor=leader, export=export, approve=False, reason="范围过大", now=now)
    refused = OrderExport.objects.get(pk=export.pk)
    assert (refused.status, refused.decided_by, refused.decision_reason) == (
        ExportStatus.REFUSED,
        leader,
        "范围过大",
    )
    assert bytes(refused.content) == b""
    assert _audits(export, "orders.export_refuse").get().actor == leader
    with pytest.raises(PermissionDenied, match="该导出未经审批"):
        services.order_export_download(actor=cast.district_dispatcher, export=refused, now=now)
    (row,) = _refusals(attempt="download")
    assert row.actor == cast.district_dispatcher and row.object_id == str(export.pk)


def test_two_decisions_the_second_gets_a_clear_error(cast, now, leader):
    export = _request(cast.district_dispatcher, now)
    seen_by_leader = OrderExport.objects.get(pk=export.pk)
    seen_by_supervisor = OrderExport.objects.get(pk=export.pk)
    services.order_export_decide(actor=leader, export=seen_by_leader, approve=True, reason="", now=now)
    with pytest.raises(StaleTransition) as refused:
        services.order_export_decide(
            actor=cast.supervisor, export=seen_by_supervisor, approve=False, reason="不同意", now=now
        )
    assert "已被他人处理" in refused.value.message
    final = OrderExport.objects.get(pk=export.pk)
    assert (final.status, final.decided_by) == (ExportStatus.APPROVED, leader)
    assert _audits(export, "orders.export_approve").count() == 1
    assert not _audits(export, "orders.export_refuse").exists()
    (row,) = _refusals(attempt="decide", error="stale_transition")
    assert row.actor == cast.supervisor and row.extra["reason"] == refused.value.message


def test_an_approval_commits_the_decision_and_enqueues_the_build_after_commit(
    cast, now, leader, django_capture_on_commit_callbacks
):
    export = _request(cast.district_dispatcher, now)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.order_export_decide(actor=leader, export=export, approve=True, reason="", now=now)
    decided = OrderExport.objects.get(pk=export.pk)
    # the decision is stored; no file yet, and no window
    assert (decided.status, decided.decided_by, decided.decided_at) == (ExportStatus.APPROVED, leader, now)
    assert bytes(decided.content) == b"" and decided.sha256 == "" and decided.expires_at is None
    assert _audits(export, "orders.export_approve").get().after == {"status": "approved"}
    assert len(callbacks) == 1
    callbacks[0]()  # the commit: the task (immediate in tests) builds the file
    ready = OrderExport.objects.get(pk=export.pk)
    assert ready.status == ExportStatus.READY and ready.ready_at == now
    assert ready.expires_at == now + dt.timedelta(hours=24)
    assert ready.sha256 and bytes(ready.content)[:2] == b"PK"


def test_a_refusal_enqueues_nothing(cast, now, leader, django_capture_on_commit_callbacks):
    export = _request(cast.district_dispatcher, now)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.order_export_decide(actor=leader, export=export, approve=False, reason="不必要", now=now)
    assert callbacks == []
    assert OrderExport.objects.get(pk=export.pk).status == ExportStatus.REFUSED


# --- the file --------------------------------------------------------------------------------


def _unzipped(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"".join(archive.read(name) for name in archive.namelist())


def test_the_approved_file_is_watermarked_masked_and_in_the_requesters_scope(
    cast, now, leader, orders_in_scope, approved
):
    mine, secret, other = orders_in_scope
    export = approved()
    assert export.expires_at == now + dt.timedelta(hours=24)
    ready = _audits(export, "orders.export_ready").get()
    assert ready.actor is None and ready.after["row_count"] == 2 and ready.after["sha256"] == export.sha256
    data = services.order_export_download(actor=cast.district_dispatcher, export=export, now=now)
    assert export.sha256 and export.row_count == 2

    workbook = load_workbook(io.BytesIO(data))
    about, sheet = workbook.worksheets
    mark = str(about.cell(row=2, column=2).value)
    assert "district_dispatcher" in mark and f"导出编号：{export.pk}" in mark and "city_leader" in mark
    assert "2025-09-26 09:00" in mark
    props = workbook.properties
    assert props.creator == "district_dispatcher"
    assert props.lastModifiedBy == "city_leader"
    assert mark == props.description

    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header[:3] == ["工单编号", "登记时间", "来源渠道"] and header[-2:] == ["诉求人", "联系电话"]
    by_number = {r[0]: r for r in rows}
    # scope: the leader who approved sees the other district's order; the file does not hold it
    assert set(by_number) == {mine.number, secret.number}
    assert other.number not in by_number
    row = by_number[mine.number]
    assert row[-2:] == ["张*", "138****8000"]
    assert OTHER_PHONE not in str(row[9])  # a number written into the title is masked too
    assert by_number[secret.number][-2:] in ([None, None], ["", ""])  # confidential: no requester

    raw = _unzipped(data)
    for value in (RAW_PHONE, OTHER_PHONE, "13700137000", "张三", "李四"):
        assert value.encode() not in raw
    assert b"district_dispatcher" in raw


def test_the_stored_filters_apply_and_the_rows_are_capped(cast, orders_in_scope, settings, approved):
    mine, secret, _other = orders_in_scope
    assert approved(filters={"q": mine.number}).row_count == 1
    assert approved(filters={"status": OrderStatus.CLOSED}).row_count == 0
    settings.ORDERS_EXPORT_MAX_ROWS = 1
    export = approved()
    assert export.row_count == 1
    about = load_workbook(io.BytesIO(bytes(export.content))).worksheets[0]
    assert "已达上限" in "".join(str(c) for r in about.iter_rows(values_only=True) for c in r)


# --- download --------------------------------------------------------------------------------


def test_no_download_without_approval(cast, now):
    export = _request(cast.district_dispatcher, now)
    with pytest.raises(PermissionDenied, match="该导出未经审批"):
        services.order_export_download(actor=cast.district_dispatcher, export=export, now=now)
    assert OrderExport.objects.get(pk=export.pk).download_count == 0
    assert not _audits(export, "orders.export_download").exists()
    (row,) = _refusals(attempt="download")
    assert row.actor == cast.district_dispatcher and row.object_id == str(export.pk)


def test_no_download_before_the_file_is_ready(cast, now, leader):
    export = _request(cast.district_dispatcher, now)
    services.order_export_decide(actor=leader, export=export, approve=True, reason="", now=now)  # not built
    with pytest.raises(PermissionDenied, match="正在生成"):
        services.order_export_download(actor=cast.district_dispatcher, export=export, now=now)
    assert OrderExport.objects.get(pk=export.pk).download_count == 0
    (row,) = _refusals(attempt="download")
    assert "正在生成" in row.extra["reason"]


def test_only_the_requester_downloads_until_it_expires_and_each_is_audited(cast, now, leader, approved):
    export = approved()
    others = (leader, cast.city_dispatcher, cast.supervisor)
    for someone in others:
        with pytest.raises(PermissionDenied, match="只有申请人本人"):
            services.order_export_download(actor=someone, export=export, now=now)
    assert [row.actor for row in _refusals(attempt="download")] == list(others)
    first = services.order_export_download(actor=cast.district_dispatcher, export=export, now=now)
    later = now + dt.timedelta(hours=23)
    assert services.order_export_download(actor=cast.district_dispatcher, export=export, now=later) == first
    assert OrderExport.objects.get(pk=export.pk).download_count == 2
    downloads = _audits(export, "orders.export_download")
    assert downloads.count() == 2 and {a.actor for a in downloads} == {cast.district_dispatcher}
    with pytest.raises(PermissionDenied, match="已过期"):
        services.order_export_download(
            actor=cast.district_dispatcher, export=export, now=now + dt.timedelta(hours=24)
        )
    assert len(_refusals(attempt="download")) == len(others) + 1
    assert OrderExport.objects.get(pk=export.pk).download_count == 2
    assert services.order_exports_expire(now=now + dt.timedelta(hours=25)) == 1
    expired = OrderExport.objects.get(pk=export.pk)
    assert expired.status == ExportStatus.EXPIRED and bytes(expired.content) == b""
    assert services.order_exports_expire(now=now + dt.timedelta(hours=26)) == 0


def test_a_requester_who_lost_the_role_cannot_download(cast, now, approved):
    from orgs.models import Membership

    export = approved()
    Membership.objects.filter(user=cast.district_dispatcher).delete()
    cast.district_dispatcher.__dict__.pop("_minhu_membership_rows", None)
    with pytest.raises(PermissionDenied):
        services.order_export_download(actor=cast.district_dispatcher, export=export, now=now)
