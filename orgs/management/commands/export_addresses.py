"""Export the unified address list to an Excel workbook in the import's format."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orgs.addresses import addresses_export_to
from orgs.geo import CoordinatesError, CoordSystem


class Command(BaseCommand):
    help = "导出统一地址库为 Excel（与导入格式相同）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="输出的 .xlsx 文件路径")
        parser.add_argument(
            "--system",
            default=CoordSystem.WGS84.value,
            help="导出坐标所用的坐标系：wgs84、gcj02、bd09；默认 wgs84",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = addresses_export_to(options["path"], actor=None, system=options["system"])
        except CoordinatesError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"无法写入文件：{exc}") from None
        self.stdout.write(f"已导出 {count} 条地址到 {options['path']}。")
