from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from assessment.models import UnitDailyCount
from assessment.tests.factories import handled_order


def test_the_command_dry_runs_catches_up_and_rebuilds(cast, now):
    handled_order(cast, now)
    out = StringIO()
    call_command("assessment_rollup", "--dry-run", stdout=out)
    assert "1 stale orders" in out.getvalue()
    assert not UnitDailyCount.objects.exists()
    call_command("assessment_rollup", stdout=out)
    assert "1 orders changed" in out.getvalue()
    rows = UnitDailyCount.objects.count()
    assert rows > 0
    call_command("assessment_rollup", "--rebuild", stdout=out)
    assert "rebuilt 1 facts" in out.getvalue()
    assert UnitDailyCount.objects.count() == rows
