"""Import the knowledge base (知识库) from an .xlsx file: all or nothing, every problem reported."""

from __future__ import annotations

from catalog.excel import import_knowledge
from catalog.management.excel_commands import ImportCommand


class Command(ImportCommand):
    help = "Import the knowledge base (知识库) from an Excel file (upsert; a bad file imports nothing)"
    importer = staticmethod(import_knowledge)
    what = "knowledge base (知识库)"
