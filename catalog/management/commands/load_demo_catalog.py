"""Load the demo catalog (11/114/235 items, city-wide rules, knowledge answers); safe to re-run."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from catalog.services import CatalogError, catalog_load_demo


class Command(BaseCommand):
    help = "Load the demo catalog; the demo city's departments must exist (matched by name)"

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = catalog_load_demo(actor=None)
        except CatalogError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(", ".join(f"{k}={v}" for k, v in counts.items())))
