"""Import the responsibility rules (责任清单) from an .xlsx file: all or nothing, every problem reported."""

from __future__ import annotations

from catalog.excel import import_rules
from catalog.management.excel_commands import ImportCommand


class Command(ImportCommand):
    help = (
        "Import the responsibility rules (责任清单) from an Excel file (upsert; a bad file imports nothing)"
    )
    importer = staticmethod(import_rules)
    what = "responsibility rules (责任清单)"
