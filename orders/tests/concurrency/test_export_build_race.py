"""Exports under real concurrency on PostgreSQL (STYLE.md rule 23): two workers building the same
approved export at once build and store it once; two deciders at once — one wins, the other's
refused attempt is in the audit log."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from core.models import AuditEvent
from orders import services
from orders.errors import StaleTransition
from orders.models import ExportStatus, OrderExport
from orders.services import exports
from orders.tests.concurrency.test_concurrent_actions import run_together
from orders.tests.factories import person
from orgs.choices import Role

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
def leader(cast):
    return person("city_leader", cast.tree.city, Role.LEADER)


@pytest.fixture(autouse=True)
def _no_build_on_commit(monkeypatch):
    """Data is committed here, so an approval's after-commit task would run (Huey is immediate in
    tests): the tests start the builds themselves."""
    monkeypatch.setattr("orders.tasks.order_export_build_task", lambda export_id: None)


def test_two_workers_building_at_once_build_and_store_once(cast, now, leader, monkeypatch):
    pending = services.order_export_request(
        actor=cast.district_dispatcher, filters={}, reason="分析", now=now
    )
    services.order_export_decide(actor=leader, export=pending, approve=True, reason="", now=now)
    real = exports.build_export_workbook
    built: list[int] = []

    def slow(**kwargs: Any) -> tuple[bytes, int]:
        built.append(kwargs["export"].pk)
        time.sleep(0.3)  # long enough for the other worker to try meanwhile
        return real(**kwargs)

    monkeypatch.setattr(exports, "build_export_workbook", slow)

    def worker(barrier: threading.Barrier) -> Any:
        barrier.wait()
        return exports.order_export_build(export_id=pending.pk, clock=lambda: now)

    results = run_together(worker, worker)
    assert sorted(results) == [False, True], results
    assert built == [pending.pk]
    ready = OrderExport.objects.get(pk=pending.pk)
    assert ready.status == ExportStatus.READY and ready.build_attempts == 1 and ready.sha256
    assert AuditEvent.objects.filter(event_type="orders.export_ready", object_id=str(pending.pk)).count() == 1


def test_two_deciders_at_once_one_wins_and_the_other_is_audited(cast, now, leader):
    pending = services.order_export_request(
        actor=cast.district_dispatcher, filters={}, reason="分析", now=now
    )

    def decide(actor: Any, approve: bool) -> Any:
        def job(barrier: threading.Barrier) -> Any:
            mine = OrderExport.objects.get(pk=pending.pk)  # both read it pending
            barrier.wait()
            return services.order_export_decide(
                actor=actor, export=mine, approve=approve, reason="" if approve else "不同意", now=now
            )

        return job

    results = run_together(decide(leader, True), decide(cast.supervisor, False))
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(lost) == 1 and isinstance(lost[0], StaleTransition), results
    final = OrderExport.objects.get(pk=pending.pk)
    winner, loser = (leader, cast.supervisor) if final.decided_by == leader else (cast.supervisor, leader)
    assert final.status == (ExportStatus.APPROVED if winner == leader else ExportStatus.REFUSED)
    refused = AuditEvent.objects.get(event_type="orders.export_refused", object_id=str(pending.pk))
    assert refused.actor == loser and refused.extra["error"] == "stale_transition"
    decisions = AuditEvent.objects.filter(
        event_type__in=["orders.export_approve", "orders.export_refuse"], object_id=str(pending.pk)
    )
    assert [row.actor for row in decisions] == [winner]
