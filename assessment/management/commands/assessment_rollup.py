"""Bring the assessment's daily rollups up to date, or rebuild them from scratch.

    manage.py assessment_rollup            # catch up from the orders timeline (what the task does)
    manage.py assessment_rollup --rebuild  # the full recomputation (every fact, every day)
    manage.py assessment_rollup --dry-run  # only say how many orders are stale

Thin: parses arguments and calls ``assessment.rollups``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from assessment.models import FillState
from assessment.rollups import LOOKBACK, TIMELINE, rollup_catch_up, rollup_rebuild, stale_after


class Command(BaseCommand):
    help = "Bring the assessment's daily rollups up to date (or --rebuild them)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="recompute every fact, day and month")
        parser.add_argument("--dry-run", action="store_true", help="count the stale orders, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["dry_run"]:
            state = FillState.objects.filter(name=TIMELINE).first()
            cursor = state.cursor if state is not None else 0
            stale = stale_after(max(0, cursor - LOOKBACK))
            self.stdout.write(f"cursor {cursor}: {stale} stale orders would be recomputed")
            return
        if options["rebuild"]:
            rebuilt = rollup_rebuild(now=now)
            self.stdout.write(
                f"rebuilt {rebuilt.orders} facts, {rebuilt.rows} daily rows over {rebuilt.days} days, "
                f"{rebuilt.month_rows} monthly rows"
            )
            return
        result = rollup_catch_up(now=now)
        self.stdout.write(
            f"read {result.events} events; {result.orders} orders changed, {len(result.days)} days rebuilt; "
            f"cursor {result.cursor}"
        )
