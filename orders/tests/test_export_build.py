"""Building an approved export (STYLE.md rule 8, SECURITY.md PI-4): a task after the approval
commits builds the workbook and stores it; a second run, or one while another holds the claim,
builds nothing and never overwrites a ready file; a failure is recorded and audited; the sweep
builds again what a dead worker or a lost task left, and gives up after a few attempts; the day
of download starts when the file is ready. The threaded race is in
concurrency/test_export_build_race.py."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from openpyxl import load_workbook

from core.models import AuditEvent
from core.models.audit import AuditOutcome
from orders import services
from orders.models import ExportStatus, OrderExport
from orders.services import exports
from orders.services.exports import (
    MAX_BUILD_ATTEMPTS,
    STALLED_AFTER,
    build_lease,
    order_export_build,
    order_exports_rescue,
)
from orders.tasks import order_export_build_task, order_exports_sweep_task
from orders.tests.factories import person
from orgs.choices import Role

LATER = dt.timedelta(minutes=30)


@pytest.fixture
def leader(cast):
    return person("city_leader", cast.tree.city, Role.LEADER)


@pytest.fixture
def export(cast, now, leader):
    """Approved (the decision committed), its build task not run yet."""
    pending = services.order_export_request(
        actor=cast.district_dispatcher, filters={}, reason="月度分析", now=now
    )
    services.order_export_decide(actor=leader, export=pending, approve=True, reason="", now=now)
    return OrderExport.objects.get(pk=pending.pk)


@pytest.fixture
def builds(monkeypatch):
    """Count the workbooks built (the real builder still runs)."""
    calls: list[int] = []
    real = exports.build_export_workbook

    def counting(**kwargs):
        calls.append(kwargs["export"].pk)
        return real(**kwargs)

    monkeypatch.setattr(exports, "build_export_workbook", counting)
    return calls


def _at(moment):
    return lambda: moment


def _audits(export, event_type):
    return AuditEvent.objects.filter(event_type=event_type, object_id=str(export.pk))


def test_the_build_stores_the_file_and_the_day_starts_when_it_is_ready(cast, now, export, leader):
    ready_at = now + LATER  # the queue was slow: the requester still gets a full day
    assert order_export_build(export_id=export.pk, clock=_at(ready_at)) is True
    ready = OrderExport.objects.get(pk=export.pk)
    assert (ready.status, ready.ready_at, ready.expires_at) == (
        ExportStatus.READY,
        ready_at,
        ready_at + dt.timedelta(hours=24),
    )
    assert ready.build_claimed_until is None and ready.build_attempts == 1 and ready.row_count == 0
    audit = _audits(export, "orders.export_ready").get()
    assert audit.after["sha256"] == ready.sha256 and audit.extra["requested_by"] == "district_dispatcher"
    # the watermark names the approver and the time of the approval, not of the build
    about = load_workbook(io.BytesIO(bytes(ready.content))).worksheets[0]
    mark = str(about.cell(row=2, column=2).value)
    assert "city_leader" in mark and "审批时间：2025-09-26 09:00" in mark
    late = now + dt.timedelta(hours=24, minutes=10)  # past the decision's day, within the file's
    data = services.order_export_download(actor=cast.district_dispatcher, export=ready, now=late)
    assert data == bytes(ready.content)
    with pytest.raises(PermissionDenied, match="已过期"):
        services.order_export_download(
            actor=cast.district_dispatcher, export=ready, now=ready_at + dt.timedelta(hours=24)
        )


def test_a_second_run_builds_nothing_and_keeps_the_file(now, export, builds):
    assert order_export_build(export_id=export.pk, clock=_at(now)) is True
    first = OrderExport.objects.get(pk=export.pk)
    again = now + build_lease() + dt.timedelta(hours=1)  # long after any claim
    assert order_export_build(export_id=export.pk, clock=_at(again)) is False
    assert order_export_build_task(export.pk) is not None  # the task too (immediate in tests)
    final = OrderExport.objects.get(pk=export.pk)
    assert builds == [export.pk]
    assert (final.status, final.sha256, bytes(final.content), final.ready_at, final.build_attempts) == (
        ExportStatus.READY,
        first.sha256,
        bytes(first.content),
        now,
        1,
    )
    assert _audits(export, "orders.export_ready").count() == 1


def test_a_run_while_another_holds_the_claim_builds_nothing(now, export, builds):
    OrderExport.objects.filter(pk=export.pk).update(
        build_claimed_until=now + dt.timedelta(minutes=1), build_attempts=1
    )
    assert order_export_build(export_id=export.pk, clock=_at(now)) is False
    assert builds == []
    held = OrderExport.objects.get(pk=export.pk)
    assert held.status == ExportStatus.APPROVED and held.build_attempts == 1


def test_a_builder_whose_claim_lapsed_meanwhile_does_not_overwrite(now, export, monkeypatch):
    """The first worker is so slow that its claim lapses and a second one builds and stores the
    file; the first one's file is then dropped (its claim no longer holds)."""
    real = exports.build_export_workbook
    overtaken = now + build_lease() + dt.timedelta(seconds=1)
    calls: list[str] = []

    def slow_then_overtaken(**kwargs):
        calls.append("build")
        if len(calls) == 1:  # the first worker, still building when the second one comes
            assert order_export_build(export_id=export.pk, clock=_at(overtaken)) is True
            content, rows = real(**kwargs)
            return content + b"first", rows
        content, rows = real(**kwargs)
        return content + b"second", rows

    monkeypatch.setattr(exports, "build_export_workbook", slow_then_overtaken)
    assert order_export_build(export_id=export.pk, clock=_at(now)) is False
    assert calls == ["build", "build"]
    final = OrderExport.objects.get(pk=export.pk)
    assert final.status == ExportStatus.READY and final.ready_at == overtaken
    assert bytes(final.content).endswith(b"second")
    assert final.build_attempts == 2
    assert _audits(export, "orders.export_ready").count() == 1


def test_a_failed_build_is_recorded_audited_and_not_retried(cast, now, export, monkeypatch):
    def broken(**kwargs):
        raise ValueError("cell holds 13800138000")

    monkeypatch.setattr(exports, "build_export_workbook", broken)
    assert order_export_build(export_id=export.pk, clock=_at(now)) is False
    failed = OrderExport.objects.get(pk=export.pk)
    assert failed.status == ExportStatus.FAILED and failed.build_claimed_until is None
    assert failed.failure_reason == "ValueError: cell holds 138****8000"  # masked
    assert bytes(failed.content) == b"" and failed.expires_at is None
    audit = _audits(export, "orders.export_failed").get()
    assert audit.outcome == AuditOutcome.FAILURE and audit.extra["reason"] == failed.failure_reason
    assert "13800138000" not in str(audit.extra)
    monkeypatch.undo()
    # failed is final: no run builds it, the sweep leaves it, the requester cannot download
    assert order_export_build(export_id=export.pk, clock=_at(now + LATER)) is False
    assert order_exports_rescue(now=now + LATER) == []
    with pytest.raises(PermissionDenied, match="生成失败"):
        services.order_export_download(actor=cast.district_dispatcher, export=failed, now=now)
    assert OrderExport.objects.get(pk=export.pk).status == ExportStatus.FAILED


def test_a_queue_that_is_down_does_not_fail_the_approval(
    cast, now, leader, monkeypatch, django_capture_on_commit_callbacks
):
    def down(export_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr("orders.tasks.order_export_build_task", down)
    pending = services.order_export_request(
        actor=cast.district_dispatcher, filters={}, reason="分析", now=now
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.order_export_decide(actor=leader, export=pending, approve=True, reason="", now=now)
    assert len(callbacks) == 1
    assert OrderExport.objects.get(pk=pending.pk).status == ExportStatus.APPROVED  # the sweep builds it


# --- the sweep -------------------------------------------------------------------------------


def test_the_sweep_builds_again_what_was_left_unbuilt(now, export):
    # a lost task: nothing claimed it; it is left alone for a few minutes first
    assert order_exports_rescue(now=now + STALLED_AFTER - dt.timedelta(seconds=1)) == []
    assert order_exports_rescue(now=now + STALLED_AFTER) == [export.pk]
    # a worker died while building: its claim is respected until it lapses
    claimed = now + STALLED_AFTER
    OrderExport.objects.filter(pk=export.pk).update(
        build_claimed_until=claimed + build_lease(), build_attempts=1
    )
    assert order_exports_rescue(now=claimed + build_lease() - dt.timedelta(seconds=1)) == []
    assert order_exports_rescue(now=claimed + build_lease()) == [export.pk]
    # nothing is changed by looking
    assert OrderExport.objects.get(pk=export.pk).status == ExportStatus.APPROVED


def test_the_sweep_task_builds_the_stalled_and_expires_the_old(cast, now, leader, export):
    old = services.order_export_request(actor=cast.district_dispatcher, filters={}, reason="旧的", now=now)
    services.order_export_decide(actor=leader, export=old, approve=True, reason="", now=now)
    assert order_export_build(export_id=old.pk, clock=_at(now)) is True
    sweep_at = now + dt.timedelta(hours=24, minutes=10)
    with time_machine.travel(sweep_at, tick=False):
        order_exports_sweep_task()  # Huey is immediate in tests: the rebuilds run at once
        rebuilt = OrderExport.objects.get(pk=export.pk)
        assert rebuilt.status == ExportStatus.READY and rebuilt.ready_at == sweep_at
        expired = OrderExport.objects.get(pk=old.pk)
        assert expired.status == ExportStatus.EXPIRED and bytes(expired.content) == b""
        order_exports_sweep_task()  # a second sweep finds nothing to do
    assert _audits(export, "orders.export_ready").count() == 1
    assert _audits(old, "orders.export_expire").count() == 1


def test_the_sweep_gives_up_after_the_last_attempt(now, export, builds):
    OrderExport.objects.filter(pk=export.pk).update(
        build_claimed_until=now + build_lease(), build_attempts=MAX_BUILD_ATTEMPTS
    )
    assert order_exports_rescue(now=now + build_lease()) == []
    failed = OrderExport.objects.get(pk=export.pk)
    assert failed.status == ExportStatus.FAILED and "interrupted" in failed.failure_reason
    audit = _audits(export, "orders.export_failed").get()
    assert audit.outcome == AuditOutcome.FAILURE and audit.extra["attempt"] == MAX_BUILD_ATTEMPTS
    assert order_exports_rescue(now=now + build_lease() + LATER) == []
    assert _audits(export, "orders.export_failed").count() == 1
    assert builds == []
