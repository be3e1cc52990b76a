"""Shared shape of the catalog's Excel import and export commands (thin: parse, call, print)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.excel import ExcelImportError


class ImportCommand(BaseCommand):
    importer: Callable[..., dict[str, int]]
    what = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Excel .xlsx file")
        parser.add_argument("--dry-run", action="store_true", help="check the file, import nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        importer = type(self).importer
        try:
            counts = importer(actor=None, source=Path(options["path"]), dry_run=options["dry_run"])
        except ExcelImportError as exc:
            raise CommandError(str(exc)) from None
        summary = ", ".join(f"{key}={value}" for key, value in counts.items())
        prefix = "dry run, nothing imported: " if options["dry_run"] else "imported: "
        self.stdout.write(self.style.SUCCESS(f"{self.what} {prefix}{summary}"))


class ExportCommand(BaseCommand):
    exporter: Callable[..., bytes]
    what = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Excel .xlsx file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        exporter = type(self).exporter
        path = Path(options["path"])
        path.write_bytes(exporter(actor=None))
        self.stdout.write(self.style.SUCCESS(f"{self.what} exported to {path}"))
