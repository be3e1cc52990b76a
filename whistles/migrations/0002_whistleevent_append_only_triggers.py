"""Database triggers that refuse UPDATE and DELETE on the whistle timeline (STYLE.md rule 10).

Same behaviour on SQLite and PostgreSQL, the same shape as core's audit triggers
(core/migrations/0003) and the order timeline's (orders/migrations/0002). There is no delete
path: whistles are never deleted either.
"""

from django.db import migrations

SQLITE_CREATE = [
    """CREATE TRIGGER whistles_whistleevent_no_update BEFORE UPDATE ON whistles_whistleevent
    BEGIN SELECT RAISE(ABORT, 'whistles_whistleevent is append-only'); END""",
    """CREATE TRIGGER whistles_whistleevent_no_delete BEFORE DELETE ON whistles_whistleevent
    BEGIN SELECT RAISE(ABORT, 'whistles_whistleevent is append-only'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS whistles_whistleevent_no_update",
    "DROP TRIGGER IF EXISTS whistles_whistleevent_no_delete",
]
POSTGRES_CREATE = [
    """CREATE OR REPLACE FUNCTION whistles_whistleevent_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'whistles_whistleevent is append-only';
    END
    $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER whistles_whistleevent_no_update BEFORE UPDATE ON whistles_whistleevent
    FOR EACH ROW EXECUTE FUNCTION whistles_whistleevent_append_only()""",
    """CREATE TRIGGER whistles_whistleevent_no_delete BEFORE DELETE ON whistles_whistleevent
    FOR EACH ROW EXECUTE FUNCTION whistles_whistleevent_append_only()""",
    """CREATE TRIGGER whistles_whistleevent_no_truncate BEFORE TRUNCATE ON whistles_whistleevent
    FOR EACH STATEMENT EXECUTE FUNCTION whistles_whistleevent_append_only()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS whistles_whistleevent_no_update ON whistles_whistleevent",
    "DROP TRIGGER IF EXISTS whistles_whistleevent_no_delete ON whistles_whistleevent",
    "DROP TRIGGER IF EXISTS whistles_whistleevent_no_truncate ON whistles_whistleevent",
    "DROP FUNCTION IF EXISTS whistles_whistleevent_append_only()",
]


def _run(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_CREATE)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_CREATE)
    else:
        raise RuntimeError(f"no timeline triggers for database vendor {vendor!r}")


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_DROP)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("whistles", "0001_whistle_summons_tasks_ratings_timeline_outbox"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
    ]
