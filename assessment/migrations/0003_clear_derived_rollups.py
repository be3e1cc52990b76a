"""Facts and daily rows are derived data: empty them (and reset the timeline cursor) before
0004 moves assessed territorial rows to the grid's community; the next catch-up (or
``manage.py assessment_rollup --rebuild``) recomputes them all."""

from django.db import migrations


def clear_derived(apps, schema_editor):
    apps.get_model("assessment", "UnitDailyCount").objects.all().delete()
    apps.get_model("assessment", "OrderFact").objects.all().delete()
    apps.get_model("assessment", "FillState").objects.filter(name="timeline").update(cursor=0)


class Migration(migrations.Migration):

    dependencies = [
        ("assessment", "0002_briefing"),
    ]

    operations = [
        migrations.RunPython(clear_derived, migrations.RunPython.noop),
    ]
