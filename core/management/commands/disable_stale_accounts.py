"""Disable accounts inactive for ACCOUNT_INACTIVE_DAYS (AC-4); the daily Huey task does the same."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from core.identity import accounts_disable_stale


class Command(BaseCommand):
    help = "停用长期未登录的账号（默认 90 天）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="默认 ACCOUNT_INACTIVE_DAYS")
        parser.add_argument("--dry-run", action="store_true", help="只列出，不停用")

    def handle(self, *args: Any, **options: Any) -> None:
        names = accounts_disable_stale(now=timezone.now(), days=options["days"], dry_run=options["dry_run"])
        verb = "将停用" if options["dry_run"] else "已停用"
        for name in names:
            self.stdout.write(f"{verb} {name}")
        self.stdout.write(f"{verb} {len(names)} 个账号。")
