"""Response headers for pages (SECURITY.md PI-6)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    """Responses for a signed-in user are never stored by a browser or proxy (PI-6).

    Signed in means: the request's user is authenticated (also half-way through the login
    steps), or the request carries an ``Authorization`` header (API tokens). Such responses get
    ``Cache-Control: no-store, no-cache, max-age=0, private``. Static files never get here
    (WhiteNoise answers them first).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or "HTTP_AUTHORIZATION" in request.META:
            patch_cache_control(response, no_store=True, no_cache=True, private=True, max_age=0)
        return response
