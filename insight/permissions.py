"""Who may train and switch classifier models.

A model is configuration of the catalog (it decides which item a text is), so the one who
configures the catalog — the system administrator (SECURITY.md AC-3) — trains and activates
versions by hand; the periodic retraining runs as the system (``actor=None``).
"""

from __future__ import annotations

from typing import Any

from core.permissions import can_admin


def can_manage_classifier(user: Any) -> bool:
    return can_admin(user, "catalog.catalogitem", "change")
