"""Suite-wide pytest hooks (loaded with ``-p minhu.pytest_plugin``).

- ``postgres_only`` tests (threads, several workers) are skipped on SQLite.
- ``once`` tests (browser, evaluation, PDF, scale-1 builds) run on one database only: when the
  test script runs the suite twice it sets ``MINHU_SKIP_ONCE=1`` for the SQLite pass.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.db import connection

    on_sqlite = connection.vendor == "sqlite"
    skip_once = os.environ.get("MINHU_SKIP_ONCE") == "1"
    for item in items:
        if on_sqlite and item.get_closest_marker("postgres_only"):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL"))
        if skip_once and item.get_closest_marker("once"):
            item.add_marker(pytest.mark.skip(reason="runs once, on the PostgreSQL pass"))
