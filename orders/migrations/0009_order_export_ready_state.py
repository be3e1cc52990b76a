"""Exports approved before 0008 were built inside the approval: those with a file are now
``ready`` (their window began at the decision, as before). Reverse: ``ready`` goes back to
``approved`` and ``failed`` (unknown before 0008) to ``expired``, without a file."""

from django.db import migrations
from django.db.models import F


def built_are_ready(apps, schema_editor):
    OrderExport = apps.get_model("orders", "OrderExport")
    OrderExport.objects.filter(status="approved", expires_at__isnull=False).exclude(sha256="").update(
        status="ready", ready_at=F("decided_at")
    )


def ready_are_approved(apps, schema_editor):
    OrderExport = apps.get_model("orders", "OrderExport")
    OrderExport.objects.filter(status="ready").update(status="approved")
    OrderExport.objects.filter(status="failed").update(status="expired", content=b"")
    # approved but never built: the old code had no such state; the file cannot come any more
    OrderExport.objects.filter(status="approved", expires_at__isnull=True).update(status="expired")


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0008_order_export_build"),
    ]

    operations = [
        migrations.RunPython(built_are_ready, ready_are_approved),
    ]
