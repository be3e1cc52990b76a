"""Build or update a real city's districts, streets and communities (see orgs.divisions)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orgs.divisions import DIVISIONS_CSV, DivisionError, import_divisions


class Command(BaseCommand):
    help = (
        "按 2023 年统计用区划代码导入一个城市的区县、街道乡镇、社区村；重复运行只新增和改名，"
        "不删除、不改挂已有人员或工单的单位（只报告）。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--city", required=True, help="城市代码（4、6或12位），如 110100 北京市")
        parser.add_argument("--dry-run", action="store_true", help="只报告将做的变更，不写入")
        parser.add_argument("--file", default=str(DIVISIONS_CSV), help="区划 CSV（默认为随项目提供的数据）")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = import_divisions(
                actor=None, city_code=options["city"], dry_run=options["dry_run"], path=options["file"]
            )
        except DivisionError as exc:
            raise CommandError(str(exc)) from None
        for line in report.lines():
            self.stdout.write(line)
