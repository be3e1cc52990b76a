"""Bearer-token clients for the whistle API tests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from core import identity


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


class Api:
    """A test client speaking JSON with one user's API token."""

    def __init__(self, user: Any, now: Any) -> None:
        self.user = user
        _token, raw = identity.api_token_create(actor=user, user=user, name="tests", now=now)
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(path, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def api(now):
    """``api(user)`` → an ``Api`` client for that user."""
    return lambda user: Api(user, now)
