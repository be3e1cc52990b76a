"""The shell's own views: the unread-count slot and the error pages (Chinese, under the CSP)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from web import selectors


def _url_or_empty(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@require_GET
@login_required
def notification_count(request: HttpRequest) -> HttpResponse:
    """The top bar's unread-count slot; polled by htmx with ``X-Minhu-Background: 1``."""
    context = {
        "count": selectors.unread_notification_count(request.user),
        "inbox_url": _url_or_empty("notifications:inbox"),
        "poll_seconds": int(settings.WEB_POLL_SECONDS),
    }
    return render(request, "web/partials/notification_count.html", context)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors: the failure may lie in them (or in the database they read).
    return HttpResponse(loader.get_template("web/500.html").render(), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "web/csrf_failure.html", status=403)
