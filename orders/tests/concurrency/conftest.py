"""Threaded tests need committed data, so they run on ``transactional_db``, whose closing
``flush`` empties every table — exactly what the append-only triggers of the audit log and the
order timeline refuse (TRUNCATE on PostgreSQL, DELETE on SQLite). Around that flush only, the
triggers are dropped and then created again from their own stored definitions, so the next test
finds them as the migrations left them (the same approach as web/tests/browser/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def _saved_triggers(connection: Any) -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute(
                "SELECT tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"
            )
        return [(str(name), str(table), str(sql)) for name, table, sql in cursor.fetchall()]


def _drop_triggers(connection: Any, triggers: list[tuple[str, str, str]]) -> None:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name, table, _sql in triggers:
            suffix = f" ON {table}" if connection.vendor == "postgresql" else ""
            cursor.execute(f"DROP TRIGGER IF EXISTS {qn(name)}{suffix}")


@pytest.fixture
def _triggers_back_after_flush(django_db_blocker: Any) -> Iterator[list[tuple[str, str, str]]]:
    dropped: list[tuple[str, str, str]] = []
    yield dropped
    if dropped:
        from django.db import connection

        with django_db_blocker.unblock():
            _drop_triggers(connection, dropped)
            with connection.cursor() as cursor:
                for _name, _table, sql in dropped:
                    cursor.execute(sql)


@pytest.fixture
def transactional_db(
    _triggers_back_after_flush: list[tuple[str, str, str]], transactional_db: None
) -> Iterator[None]:
    """pytest-django's ``transactional_db`` with the triggers lifted for its closing flush."""
    from django.db import connection

    yield
    triggers = _saved_triggers(connection)
    _drop_triggers(connection, triggers)
    _triggers_back_after_flush.extend(triggers)
