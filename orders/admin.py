"""Work orders in the admin: read-only records (they change only through ``orders.services``)."""

from __future__ import annotations

from django.contrib import admin

from core.admin_base import ReadOnlyModelAdmin
from orders.models import Assignment, Order, OrderEvent


@admin.register(Order)
class OrderAdmin(ReadOnlyModelAdmin):
    list_display = (
        "number",
        "status",
        "channel",
        "kind",
        "urgency",
        "item",
        "grid",
        "holder_unit",
        "created_at",
    )
    list_filter = ("status", "channel", "kind", "urgency")
    search_fields = ("=number", "title")
    list_select_related = ("item", "grid", "holder_unit")
    date_hierarchy = "created_at"
    show_full_result_count = False
    # Requester fields stay out of the admin: they are seen only through the audited reveal.
    exclude = (
        "requester_name",
        "requester_phone",
        "requester_phone_hash",
        "requester_id_number",
        "requester_id_hash",
        "content",  # free text may carry numbers; pages and the API show it masked
    )


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyModelAdmin):
    list_display = ("order", "unit", "role", "status", "dispatched_at", "accept_by", "reply_by")
    list_filter = ("role", "status")
    search_fields = ("=order__number",)
    list_select_related = ("order", "unit")
    show_full_result_count = False


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyModelAdmin):
    list_display = ("order", "seq", "type", "actor", "actor_unit", "from_status", "to_status", "occurred_at")
    list_filter = ("type",)
    search_fields = ("=order__number",)
    list_select_related = ("order", "actor", "actor_unit")
    show_full_result_count = False
