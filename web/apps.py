from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    """The pages' shell: base layout, shared template blocks, CSP wiring, the workbench registry."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "web"
    verbose_name = "页面"
