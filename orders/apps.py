from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"
    verbose_name = _("工单")

    def ready(self) -> None:
        from orders.activity import units_with_orders
        from orgs.divisions import register_unit_activity_check

        register_unit_activity_check(units_with_orders)
