"""Two centre dispatchers rule on the same appeal at the same moment: exactly one ruling lands.

PostgreSQL only (threads need real concurrent connections): the ruling is a compare-and-set on
(status, version), so the second UPDATE waits for the first, re-reads the row and matches nothing.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from assessment.choices import AppealStatus
from assessment.models import Appeal
from assessment.services import appeal_rule, appeal_submit
from assessment.tests.factories import HOUR, handled_order
from core.models import AuditEvent
from orders.choices import Satisfaction
from orders.errors import OrderError
from orders.models import Callback
from orders.tests.conftest import NOW
from orders.tests.factories import person
from orgs.choices import Role


@pytest.mark.postgres_only
def test_two_rulings_at_once_one_wins(pg_transactional_db, cast):
    order = handled_order(cast, NOW, satisfaction=Satisfaction.DISSATISFIED, resolved=False, close=True)
    appeal = appeal_submit(
        actor=cast.district_handler,
        callback=Callback.objects.get(order=order),
        unit=cast.tree.district,
        reason="unreasonable_demand",
        text="诉求不合理",
        now=NOW + 8 * HOUR,
    )
    colleague = person("city_dispatcher_2", cast.tree.city, Role.DISPATCHER)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def rule(actor, decision):
        try:
            seen = Appeal.objects.get(pk=appeal.pk)  # both read it pending, version 0
            barrier.wait(timeout=10)
            appeal_rule(actor=actor, appeal=seen, decision=decision, ruling="裁定", now=NOW + 9 * HOUR)
            result = "won"
        except OrderError as exc:
            result = type(exc).__name__
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [
        threading.Thread(target=rule, args=(cast.city_dispatcher, "uphold")),
        threading.Thread(target=rule, args=(colleague, "reject")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) in (["StaleTransition", "won"], ["TransitionNotAllowed", "won"])
    stored = Appeal.objects.get(pk=appeal.pk)
    assert stored.status in (AppealStatus.UPHELD, AppealStatus.REJECTED) and stored.version == 1
    assert (
        AuditEvent.objects.filter(event_type="assessment.appeal_rule", object_id=str(appeal.pk)).count() == 1
    )
