"""Assessed territorial rows sit on the grid's community: ``OrderFact.area_unit`` (the table is
empty after 0003)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("assessment", "0003_clear_derived_rollups"),
        ("orgs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderfact",
            name="area_unit",
            field=models.ForeignKey(
                default=None,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="orgs.unit",
            ),
            preserve_default=False,
        ),
    ]
