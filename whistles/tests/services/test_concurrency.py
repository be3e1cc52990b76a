"""Two people of one department acknowledge the same summons at the same moment: one wins.

PostgreSQL only (threads need real concurrent connections): the whistle row is locked with
``select_for_update`` and the summons changes by compare-and-set, so the second waits and then
finds it changed.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from orders.tests.factories import person
from orgs.choices import Role
from whistles import services
from whistles.choices import EventType, SummonsStatus
from whistles.errors import WhistleError
from whistles.models import Summons, WhistleEvent
from whistles.tests.conftest import MINUTE, NOW
from whistles.tests.factories import blow, make_cast


@pytest.mark.postgres_only
def test_two_acknowledgements_at_once_one_wins(
    pg_transactional_db, tree, dept_handler, street_handler, outsider
):
    cast = make_cast(tree, dept_handler, street_handler, outsider)
    colleague = person("dept_colleague", tree.department, Role.HANDLER)
    whistle = blow(cast, NOW, units=[cast.dept])
    summons_id = Summons.objects.get(whistle=whistle).pk

    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def acknowledge(actor):
        try:
            summons = Summons.objects.get(pk=summons_id)  # both read it as SUMMONED
            barrier.wait(timeout=10)
            services.summons_acknowledge(summons=summons, actor=actor, now=NOW + MINUTE)
            result = "won"
        except WhistleError as exc:
            result = type(exc).__name__
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=acknowledge, args=(u,)) for u in (dept_handler, colleague)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["StaleTransition", "won"]
    assert Summons.objects.get(pk=summons_id).status == SummonsStatus.ACKNOWLEDGED
    assert WhistleEvent.objects.filter(whistle=whistle, type=EventType.ACKNOWLEDGED).count() == 1
    assert list(
        WhistleEvent.objects.filter(whistle=whistle).order_by("seq").values_list("seq", flat=True)
    ) == [1, 2]
