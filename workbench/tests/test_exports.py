"""The export pages (SECURITY.md PI-4): 申请导出 from the order search with its current filters,
the 导出申请 page (mine; the pending ones I may approve or refuse, errors beside the field; 生成中
with a refresh while the file is built after the approval), and the download — ``no-store``, the
requester's only, a 403 page without approval or before the file is ready; refused attempts are
audited."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from core.models import AuditEvent
from orders import services
from orders.choices import OrderStatus
from orders.models import ExportStatus, OrderExport
from orders.tests.factories import make_order, person, walk_to
from orgs.choices import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def leader(cast):
    return person("city_leader", cast.tree.city, Role.LEADER)


@pytest.fixture
def pending(cast, now):
    return services.order_export_request(
        actor=cast.district_dispatcher, filters={}, reason="月度分析", now=now
    )


def test_the_order_search_offers_an_export_of_its_current_filters(cast, now, signed_in):
    page = signed_in(cast.district_dispatcher).get("/orders/?status=in_progress&deadline=overdue&q=2025")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'action="/exports/new/"' in html and 'name="reason"' in html
    for hidden in (
        'name="status" value="in_progress"',
        'name="deadline" value="overdue"',
        'name="q" value="2025"',
    ):
        assert hidden in html
    # a handler may not export: no form
    assert 'action="/exports/new/"' not in signed_in(cast.street_handler).get("/orders/").content.decode()


def test_requesting_an_export_stores_the_filters_with_the_deadline_resolved(cast, now, signed_in):
    response = signed_in(cast.district_dispatcher).post(
        "/exports/new/",
        {"status": "in_progress", "deadline": "overdue", "q": "2025", "reason": "月度分析"},
    )
    assert response.status_code == 302 and response["Location"] == "/exports/"
    export = OrderExport.objects.get()
    assert export.requested_by == cast.district_dispatcher
    assert dt.datetime.fromisoformat(export.filters.pop("due_before")) == now  # "overdue", as of now
    assert export.filters == {"status": "in_progress", "q": "2025"}
    assert AuditEvent.objects.filter(event_type="orders.export_request", object_id=str(export.pk)).exists()


def test_a_request_without_a_reason_shows_the_error_beside_the_field(cast, signed_in):
    response = signed_in(cast.district_dispatcher).post(
        "/exports/new/", {"status": "in_progress", "reason": ""}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "请填写导出理由" in html and 'name="status" value="in_progress"' in html
    assert not OrderExport.objects.exists()


def test_a_handler_cannot_request(cast, signed_in):
    assert signed_in(cast.street_handler).post("/exports/new/", {"reason": "看看"}).status_code == 403
    assert not OrderExport.objects.exists()


def _refused(attempt):
    return AuditEvent.objects.filter(event_type="orders.export_refused", extra__attempt=attempt)


def test_download_without_approval_is_a_403_page(cast, signed_in, pending, leader):
    client = signed_in(cast.district_dispatcher)
    assert client.get(f"/exports/{pending.pk}/download/").status_code == 403
    refused = _refused("download").get()
    assert refused.actor == cast.district_dispatcher and refused.object_id == str(pending.pk)
    assert refused.request_id  # written in the request's context
    assert "下载" not in "".join(
        line
        for line in client.get("/exports/").content.decode().splitlines()
        if f"/exports/{pending.pk}/" in line
    )
    services.order_export_decide(
        actor=leader, export=pending, approve=False, reason="不必要", now=pending.created_at
    )
    assert client.get(f"/exports/{pending.pk}/download/").status_code == 403
    assert not AuditEvent.objects.filter(event_type="orders.export_download").exists()
    assert _refused("download").count() == 2


def test_the_approver_sees_the_pending_request_and_a_refusal_needs_a_reason(cast, signed_in, pending, leader):
    client = signed_in(leader)
    html = client.get("/exports/").content.decode()
    assert "月度分析" in html and f"/exports/{pending.pk}/decide/" in html
    response = client.post(f"/exports/{pending.pk}/decide/", {f"x{pending.pk}-decision": "refuse"})
    assert response.status_code == 422
    assert "驳回导出申请须填写理由" in response.content.decode()
    assert OrderExport.objects.get(pk=pending.pk).status == ExportStatus.PENDING
    response = client.post(
        f"/exports/{pending.pk}/decide/",
        {f"x{pending.pk}-decision": "refuse", f"x{pending.pk}-reason": "范围过大"},
    )
    assert response.status_code == 302
    assert OrderExport.objects.get(pk=pending.pk).status == ExportStatus.REFUSED


def test_self_approval_and_approvers_elsewhere_get_a_403(cast, signed_in, now):
    export = services.order_export_request(actor=cast.supervisor, filters={}, reason="自查", now=now)
    other_leader = person("other_leader", cast.tree.other_district, Role.LEADER)
    for who in (cast.supervisor, other_leader):
        client = signed_in(who)
        assert f"/exports/{export.pk}/decide/" not in client.get("/exports/").content.decode()
        response = client.post(f"/exports/{export.pk}/decide/", {f"x{export.pk}-decision": "approve"})
        assert response.status_code == 403
    assert OrderExport.objects.get(pk=export.pk).status == ExportStatus.PENDING
    assert [row.actor for row in _refused("decide").order_by("seq")] == [cast.supervisor, other_leader]


def test_a_second_decision_is_told_it_came_too_late(cast, signed_in, pending, leader):
    assert (
        signed_in(leader)
        .post(f"/exports/{pending.pk}/decide/", {f"x{pending.pk}-decision": "approve"})
        .status_code
        == 302
    )
    late = signed_in(cast.supervisor)
    response = late.post(
        f"/exports/{pending.pk}/decide/",
        {f"x{pending.pk}-decision": "refuse", f"x{pending.pk}-reason": "不同意"},
    )
    assert response.status_code == 302
    assert "已被他人处理" in late.get("/exports/").content.decode()
    assert OrderExport.objects.get(pk=pending.pk).decided_by == leader
    assert _refused("decide").get().extra["error"] == "stale_transition"


def test_while_the_file_is_built_the_page_says_so_and_refreshes(
    cast, signed_in, pending, leader, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = signed_in(leader).post(
            f"/exports/{pending.pk}/decide/", {f"x{pending.pk}-decision": "approve"}
        )
    assert response.status_code == 302
    client = signed_in(cast.district_dispatcher)
    html = client.get("/exports/").content.decode()
    assert "生成中" in html and f"/exports/{pending.pk}/download/" not in html
    # a plain refresh link, and the list polls itself (htmx; no inline script under the CSP)
    assert 'href="/exports/">刷新</a>' in html
    assert 'id="my-exports"' in html and 'hx-trigger="every 5s"' in html and "<script>" not in html
    assert client.get(f"/exports/{pending.pk}/download/").status_code == 403
    assert "正在生成" in _refused("download").get().extra["reason"]
    assert len(callbacks) == 1
    callbacks[0]()  # the decision's commit: the build task runs (immediate in tests)
    html = client.get("/exports/").content.decode()
    assert f"/exports/{pending.pk}/download/" in html
    assert "生成中" not in html and 'hx-trigger="every 5s"' not in html  # polling stops


def test_a_failed_build_is_shown_without_a_download(
    cast, signed_in, pending, leader, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("orders.services.exports.build_export_workbook", broken)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(leader).post(f"/exports/{pending.pk}/decide/", {f"x{pending.pk}-decision": "approve"})
    assert OrderExport.objects.get(pk=pending.pk).status == ExportStatus.FAILED
    client = signed_in(cast.district_dispatcher)
    html = client.get("/exports/").content.decode()
    assert "生成失败，请重新申请" in html and f"/exports/{pending.pk}/download/" not in html
    assert "disk full" not in html  # the reason is for the audit log, not the page
    assert client.get(f"/exports/{pending.pk}/download/").status_code == 403


def test_the_requester_downloads_the_approved_file_no_store(
    cast, now, signed_in, pending, leader, django_capture_on_commit_callbacks
):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(leader).post(f"/exports/{pending.pk}/decide/", {f"x{pending.pk}-decision": "approve"})
    assert OrderExport.objects.get(pk=pending.pk).status == ExportStatus.READY
    client = signed_in(cast.district_dispatcher)
    assert f"/exports/{pending.pk}/download/" in client.get("/exports/").content.decode()
    response = client.get(f"/exports/{pending.pk}/download/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"] == f'attachment; filename="minhu-export-{pending.pk}.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    assert "district_dispatcher" in str(workbook.worksheets[0].cell(row=2, column=2).value)
    numbers = [r[0] for r in workbook.worksheets[1].iter_rows(min_row=2, values_only=True)]
    assert numbers == [order.number]
    assert b"13800138000" not in response.content
    assert (
        AuditEvent.objects.filter(event_type="orders.export_download", object_id=str(pending.pk)).count() == 1
    )
    # someone else, even the approver: 403; after a day: 403 — each refusal audited
    assert signed_in(leader).get(f"/exports/{pending.pk}/download/").status_code == 403
    OrderExport.objects.filter(pk=pending.pk).update(expires_at=now)  # its day is over
    assert client.get(f"/exports/{pending.pk}/download/").status_code == 403
    assert [row.actor for row in _refused("download").order_by("seq")] == [leader, cast.district_dispatcher]
