"""Import the unified address list from an Excel workbook (see orgs.addresses)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.excel import ExcelImportError
from orgs.addresses import addresses_import


class Command(BaseCommand):
    help = "从 Excel 导入统一地址库（列：地址、楼院编码、网格编码、经度、纬度、坐标系）；有任何错误则整份不导入。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help=".xlsx 文件路径")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = addresses_import(actor=None, source=options["path"])
        except ExcelImportError as exc:
            raise CommandError(exc.report()) from None
        self.stdout.write(f"已导入 {result.created} 条地址。")
