"""Admin for 吹哨报到: the records are read-only (services write them); the type limits are
configuration, saved with one audit row per change.

Access follows ``core.permissions.ADMIN_ACCESS``: a model missing from that map is closed to
every role, so these pages appear once the map names them (see the report to the lead).
"""

from __future__ import annotations

from django.contrib import admin

from core.admin_base import AuditedModelAdmin, ReadOnlyModelAdmin
from whistles.models import (
    DepartmentRating,
    Summons,
    Whistle,
    WhistleEvent,
    WhistleNotification,
    WhistleTask,
    WhistleTypeLimit,
    WhistleWarning,
)


@admin.register(WhistleTypeLimit)
class WhistleTypeLimitAdmin(AuditedModelAdmin):
    list_display = ("type", "acknowledge_within", "acknowledge_unit", "arrive_within", "arrive_unit")


class SummonsInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Summons
    extra = 0
    can_delete = False
    fields = (
        "unit",
        "status",
        "acknowledge_by",
        "arrive_by",
        "acknowledged_at",
        "checked_in_at",
        "overdue_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Whistle)
class WhistleAdmin(ReadOnlyModelAdmin):
    list_display = ("pk", "type", "title", "unit", "status", "blown_at", "closed_at")
    list_filter = ("type", "status")
    search_fields = ("title",)
    date_hierarchy = "blown_at"
    raw_id_fields = ("orders",)
    inlines = [SummonsInline]


@admin.register(Summons)
class SummonsAdmin(ReadOnlyModelAdmin):
    list_display = ("pk", "whistle", "unit", "status", "acknowledge_by", "arrive_by", "overdue_at")
    list_filter = ("status",)
    list_select_related = ("whistle", "unit")


@admin.register(WhistleTask)
class WhistleTaskAdmin(ReadOnlyModelAdmin):
    list_display = ("pk", "whistle", "summons", "status", "due_at", "replied_at")
    list_filter = ("status",)


@admin.register(DepartmentRating)
class DepartmentRatingAdmin(ReadOnlyModelAdmin):
    list_display = (
        "pk",
        "unit",
        "whistle",
        "timeliness",
        "effectiveness",
        "attitude",
        "reported",
        "rated_at",
    )
    list_select_related = ("unit", "whistle")


@admin.register(WhistleEvent)
class WhistleEventAdmin(ReadOnlyModelAdmin):
    list_display = ("whistle", "seq", "type", "actor", "actor_unit", "occurred_at")
    list_filter = ("type",)
    list_select_related = ("whistle", "actor", "actor_unit")


@admin.register(WhistleNotification)
class WhistleNotificationAdmin(ReadOnlyModelAdmin):
    list_display = ("event", "recipient", "channel", "created_at", "delivered_at", "attempts")
    list_filter = ("channel",)


@admin.register(WhistleWarning)
class WhistleWarningAdmin(ReadOnlyModelAdmin):
    list_display = ("whistle", "summons", "task", "kind", "level", "due_at", "recorded_at")
    list_filter = ("kind", "level")
