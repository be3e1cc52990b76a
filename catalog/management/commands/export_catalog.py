"""Export the catalog (事项清单) to an .xlsx file (the same layout the import reads)."""

from __future__ import annotations

from catalog.excel import export_catalog
from catalog.management.excel_commands import ExportCommand


class Command(ExportCommand):
    help = "Export the catalog (事项清单) to an Excel file"
    exporter = staticmethod(export_catalog)
    what = "catalog (事项清单)"
