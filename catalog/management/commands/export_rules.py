"""Export the responsibility rules (责任清单) to an .xlsx file (the same layout the import reads)."""

from __future__ import annotations

from catalog.excel import export_rules
from catalog.management.excel_commands import ExportCommand


class Command(ExportCommand):
    help = "Export the responsibility rules (责任清单) to an Excel file"
    exporter = staticmethod(export_rules)
    what = "responsibility rules (责任清单)"
