"""Create the three separated administrators (AC-3) with one-time random passwords.

Never creates a superuser. Idempotent: existing logins are reported and left untouched.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from core.identity import bootstrap_admin


class Command(BaseCommand):
    help = "创建系统管理员、安全管理员和审计管理员（三员分立），初始密码只显示一次。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--system", default="sysadmin", help="系统管理员登录名")
        parser.add_argument("--security", default="secadmin", help="安全管理员登录名")
        parser.add_argument("--audit", default="auditadmin", help="审计管理员登录名")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        for role, login in (
            ("system", options["system"]),
            ("security", options["security"]),
            ("audit", options["audit"]),
        ):
            user, password = bootstrap_admin(username=login, role=role, now=now)
            if password is None:
                self.stdout.write(f"{login}: 已存在（{user.get_admin_role_display()}），未修改。")
            else:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{login}: 已创建（{user.get_admin_role_display()}），初始密码 {password}"
                    )
                )
        self.stdout.write("初始密码只显示这一次；首次登录须修改密码并绑定手机验证器。")
