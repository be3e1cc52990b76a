"""Database triggers that refuse UPDATE and DELETE on the order timeline (STYLE.md rule 10).

Same behaviour on SQLite and PostgreSQL, the same shape as core's audit triggers
(core/migrations/0003). There is no delete path: orders are never deleted either.
"""

from django.db import migrations

SQLITE_CREATE = [
    """CREATE TRIGGER orders_orderevent_no_update BEFORE UPDATE ON orders_orderevent
    BEGIN SELECT RAISE(ABORT, 'orders_orderevent is append-only'); END""",
    """CREATE TRIGGER orders_orderevent_no_delete BEFORE DELETE ON orders_orderevent
    BEGIN SELECT RAISE(ABORT, 'orders_orderevent is append-only'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS orders_orderevent_no_update",
    "DROP TRIGGER IF EXISTS orders_orderevent_no_delete",
]
POSTGRES_CREATE = [
    """CREATE OR REPLACE FUNCTION orders_orderevent_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'orders_orderevent is append-only';
    END
    $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER orders_orderevent_no_update BEFORE UPDATE ON orders_orderevent
    FOR EACH ROW EXECUTE FUNCTION orders_orderevent_append_only()""",
    """CREATE TRIGGER orders_orderevent_no_delete BEFORE DELETE ON orders_orderevent
    FOR EACH ROW EXECUTE FUNCTION orders_orderevent_append_only()""",
    """CREATE TRIGGER orders_orderevent_no_truncate BEFORE TRUNCATE ON orders_orderevent
    FOR EACH STATEMENT EXECUTE FUNCTION orders_orderevent_append_only()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS orders_orderevent_no_update ON orders_orderevent",
    "DROP TRIGGER IF EXISTS orders_orderevent_no_delete ON orders_orderevent",
    "DROP TRIGGER IF EXISTS orders_orderevent_no_truncate ON orders_orderevent",
    "DROP FUNCTION IF EXISTS orders_orderevent_append_only()",
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
        ("orders", "0001_order_assignment_timeline_outbox"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
    ]
