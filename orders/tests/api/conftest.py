"""Fixtures of the API tests: bearer-token clients for the cast, a clean shared cache (rate limits)
and a private MEDIA_ROOT (attachments)."""

from __future__ import annotations

import io
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


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


class Api:
    """A test client speaking JSON with one user's API token."""

    def __init__(self, user: Any, now: Any) -> None:
        self.user = user
        _token, self.raw = identity.api_token_create(actor=user, user=user, name="tests", now=now)
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {self.raw}")

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(path, json.dumps(body or {}), content_type="application/json")

    def upload(self, path: str, data: bytes, name: str = "photo.jpg") -> Any:
        handle = io.BytesIO(data)
        handle.name = name
        return self.client.post(path, {"file": handle})


@pytest.fixture
def api(now):
    """``api(user)`` → an ``Api`` client for that user."""
    return lambda user: Api(user, now)
