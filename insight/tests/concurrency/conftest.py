"""Threaded tests need committed data: reuse the orders concurrency fixtures, which lift the
append-only triggers around ``transactional_db``'s closing flush."""

from __future__ import annotations

from orders.tests.concurrency.conftest import _triggers_back_after_flush, transactional_db

__all__ = ["_triggers_back_after_flush", "transactional_db"]
