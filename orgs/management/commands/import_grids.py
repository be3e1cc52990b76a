"""Import grid boundaries from a GeoJSON FeatureCollection (see orgs.grid_services)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orgs.geo import CoordinatesError, CoordSystem
from orgs.grid_services import GridImportError, grid_boundaries_import


class Command(BaseCommand):
    help = "导入网格边界（GeoJSON FeatureCollection，properties.code 为网格编码）；有任何错误则整份不导入。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="GeoJSON 文件路径")
        parser.add_argument(
            "--system",
            default=CoordSystem.WGS84.value,
            help="文件的坐标系：wgs84（含CGCS2000）、gcj02（高德、腾讯）、bd09（百度）；默认 wgs84",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"无法读取文件 {path}：{exc}") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"文件不是有效的 JSON：{exc}") from None
        try:
            result = grid_boundaries_import(actor=None, features=data, system=options["system"])
        except (GridImportError, CoordinatesError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"已导入 {result.count} 个网格的边界（坐标系 {result.system}）。")
