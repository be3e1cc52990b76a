"""Every URL of the project answers with the Content-Security-Policy, and what a signed-in user
gets is never stored (SECURITY.md PI-6)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.admindocs.views import simplify_regex
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from core.tests.identity_helpers import login_verified

pytestmark = pytest.mark.django_db

PLACEHOLDER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
SAMPLE = {"int": "1", "uuid": "00000000-0000-0000-0000-000000000001"}


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def project_paths() -> list[str]:
    """One concrete path per URL pattern: placeholders filled with sample values."""
    paths = set()
    for raw in _walk(get_resolver().url_patterns):
        path = simplify_regex(raw)
        path = PLACEHOLDER.sub(lambda m: SAMPLE.get(m.group("conv") or "", "1"), path)
        paths.add(path)
    return sorted(paths)


def test_the_walk_finds_the_known_pages():
    paths = project_paths()
    for known in ("/", "/login/", "/login/mfa/", "/password/change/", "/admin/", "/notifications/count/"):
        assert known in paths
    assert len(paths) > 50  # the admin and the API are in there too


@pytest.fixture
def user_client(city_admin):
    client = Client(raise_request_exception=False)
    login_verified(client, city_admin)
    return client


def test_every_url_sends_the_policy_and_signed_in_answers_are_not_stored(user_client):
    anonymous = Client(raise_request_exception=False)
    missing, stored, errors = [], [], []
    for path in project_paths():
        for who, client in (("anonymous", anonymous), ("signed in", user_client)):
            response = client.get(path)
            if response.status_code >= 500:
                errors.append((who, path, response.status_code))
            policy = response.headers.get("Content-Security-Policy", "")
            if "script-src 'self'" not in policy or "'unsafe-inline'" in policy or "'unsafe-eval'" in policy:
                missing.append((who, path, response.status_code))
            if who == "signed in" and "no-store" not in response.headers.get("Cache-Control", ""):
                stored.append((path, response.status_code))
    assert errors == []
    assert missing == []
    assert stored == []


def test_the_policy_forbids_inline_code_and_framing(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"


def test_an_anonymous_public_answer_may_be_cached_but_a_signed_in_one_is_not(client, city_admin):
    assert "no-store" not in client.get("/no-such-page/").get("Cache-Control", "")
    login_verified(client, city_admin)
    assert "no-store" in client.get("/no-such-page/")["Cache-Control"]


def test_a_bearer_token_answer_is_not_stored(client):
    response = client.get("/api/v1/health", HTTP_AUTHORIZATION="Bearer nonsense")
    assert "no-store" in response["Cache-Control"]


def test_a_configured_tile_server_is_allowed_for_images_only():
    from minhu.settings import _csp_origin

    assert _csp_origin("") == []
    assert _csp_origin("https://tiles.example.cn/{z}/{x}/{y}.png") == ["https://tiles.example.cn"]
    assert _csp_origin("https://{s}.tiles.example.cn:8443/{z}/{x}/{y}.png") == [
        "https://*.tiles.example.cn:8443"
    ]
    assert _csp_origin("/static/tiles/{z}/{x}/{y}.png") == []  # same origin: 'self' covers it
