"""Retention purge of the audit log (AU-4): the only delete path; never younger than 180 days."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.audit import AuditRetentionError, audit_purge


class Command(BaseCommand):
    help = "按保留期清理审计日志（不少于 180 天），并留下校验检查点。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, default=None, help="默认 AUDIT_RETENTION_DAYS")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = audit_purge(now=timezone.now(), older_than_days=options["older_than_days"])
        except AuditRetentionError as exc:
            raise CommandError(str(exc)) from exc
        if result.checkpoint is None:
            self.stdout.write("没有需要清理的审计记录。")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"已清理 {result.purged} 条，检查点截至第 {result.checkpoint.upto_seq} 条。"
                )
            )
