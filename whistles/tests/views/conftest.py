"""Logged-in test clients for the page tests (TOTP passed, as ``login_verified`` does)."""

from __future__ import annotations

import pytest
from django.test import Client

from core.tests.identity_helpers import login_verified


@pytest.fixture
def login(now):
    """``login(user)`` → a test client signed in as ``user``."""

    def make(user):
        client = Client()
        login_verified(client, user)
        return client

    return make
