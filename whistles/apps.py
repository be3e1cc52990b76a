from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WhistlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "whistles"
    verbose_name = _("吹哨报到")
