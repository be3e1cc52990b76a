"""Export the knowledge base (知识库) to an .xlsx file (the same layout the import reads)."""

from __future__ import annotations

from catalog.excel import export_knowledge
from catalog.management.excel_commands import ExportCommand


class Command(ExportCommand):
    help = "Export the knowledge base (知识库) to an Excel file"
    exporter = staticmethod(export_knowledge)
    what = "knowledge base (知识库)"
