from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "基础"

    def ready(self) -> None:
        from core import checks, signals  # noqa: F401  (registers checks and auth-signal glue)
