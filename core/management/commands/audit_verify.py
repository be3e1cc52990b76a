"""Recompute the audit hash chain from the newest checkpoint; exit 1 at the first bad row."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.audit import audit_verify


class Command(BaseCommand):
    help = "校验审计日志哈希链，报告第一条被篡改或缺失的记录。"

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_verify()
        if not result.ok:
            raise CommandError(
                f"审计日志校验失败：第 {result.first_bad_seq} 条（{result.reason}）；已校验 {result.checked} 条。"
            )
        self.stdout.write(
            self.style.SUCCESS(f"审计日志完整：自第 {result.start_seq} 条起校验 {result.checked} 条。")
        )
