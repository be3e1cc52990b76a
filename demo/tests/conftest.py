"""Fixtures for the demo city tests (none special: each test builds the city it needs)."""

from __future__ import annotations
