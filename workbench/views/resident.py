"""Residents' pages, no account: report a problem from a phone (随手拍), follow it with the order
number and the phone's last four digits, rate the answer.

They call the same services as ``/api/v1/public`` (``intake.services.resident_submit``,
``resident_find``, ``resident_rate``) with the same limits per client address
(``intake.ratelimit``), so a page and an app are held to one set of rules. A submission is
idempotent on the form's request id: sending the form twice files one report.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.net import client_ip
from intake import ratelimit
from intake.services import (
    FollowRefused,
    Upload,
    resident_can_rate,
    resident_find,
    resident_rate,
    resident_submit,
)
from orders.api.present import mask_text
from orders.attachments import AttachmentRefused, read_upload
from orders.choices import Channel, OrderStatus
from orders.errors import InvalidInput, OrderError, RateLimited
from orders.models import Order
from orgs.geo import CoordinatesError
from orgs.grid_services import grid_for_point
from workbench import selectors
from workbench.forms import FollowForm, RateForm, ResidentReportForm, request_id

# The public reply is shown once the answer exists (as the public API does).
REPLY_SHOWN = frozenset({OrderStatus.AWAITING_CALLBACK, OrderStatus.CLOSED, OrderStatus.MERGED})
LOCATE_PER_HOUR = 600


def _limit(request: HttpRequest, scope: str, setting: str) -> None:
    ratelimit.rate_limit(scope, client_ip(request), int(getattr(settings, setting)))


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private, max-age=0"
    return response


def _report_page(request: HttpRequest, form: ResidentReportForm, status: int = 200) -> HttpResponse:
    context = {"form": form, "outline": selectors.territory_outline()}
    return _no_store(render(request, "workbench/resident/report.html", context, status=status))


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _report_page(request, ResidentReportForm(initial={"client_request_id": request_id()}))
    form = ResidentReportForm(request.POST, request.FILES)
    try:
        _limit(request, "submit", "PUBLIC_SUBMIT_PER_HOUR")
    except RateLimited as exc:
        form.is_valid()
        form.add_error(None, exc.message)
        return _report_page(request, form, status=429)
    if not form.is_valid():
        return _report_page(request, form, status=422)
    data = form.cleaned_data
    try:
        uploads = [Upload(data=read_upload(f), name=f.name or "") for f in data.get("photos") or []]
        order, _created = resident_submit(
            now=timezone.now(),
            channel=Channel.MOBILE,
            content=data["content"],
            item=data.get("item"),
            address_text=data.get("address") or "",
            lon=data.get("lon"),
            lat=data.get("lat"),
            coord_system=data.get("coord_system") or "wgs84",
            name=data.get("name") or "",
            phone=data.get("phone") or "",
            photos=uploads,
            client_request_id=data.get("client_request_id") or None,
        )
    except AttachmentRefused as exc:
        form.add_error("photos", exc.message)
        return _report_page(request, form, status=422)
    except InvalidInput as exc:
        where = "address" if ("位置" in exc.message or "经度" in exc.message) else None
        form.add_error(where, exc.message)
        return _report_page(request, form, status=422)
    except OrderError as exc:
        form.add_error(None, exc.message)
        return _report_page(request, form, status=422)
    context = {
        "order": order,
        "has_phone": bool(order.requester_phone),
        "photos": order.attachments.count(),
    }
    return _no_store(render(request, "workbench/resident/report_done.html", context))


@require_POST
def locate(request: HttpRequest) -> HttpResponse:
    """Which grid a tapped or located point lies in (a confirmation for the resident)."""
    ratelimit.rate_limit("locate", client_ip(request), LOCATE_PER_HOUR)
    grid = None
    try:
        lon = float(request.POST.get("lon", ""))
        lat = float(request.POST.get("lat", ""))
        grid = grid_for_point(lon, lat, request.POST.get("coord_system") or "wgs84")
    except (ValueError, CoordinatesError):
        grid = None
    if grid is not None:
        grid = selectors.grid_with_parent(grid.pk)
    return _no_store(render(request, "workbench/resident/report.html#located", {"grid": grid, "asked": True}))


def _follow_context(order: Order, form: FollowForm) -> dict[str, Any]:
    can_rate = resident_can_rate(order)
    rate_form = None
    if can_rate:
        rate_form = RateForm(
            initial={
                "number": form.cleaned_data["number"].strip(),
                "phone_last4": form.cleaned_data["phone_last4"],
            }
        )
    return {
        "found": order,
        "public_reply": mask_text(order.public_reply) if order.status in REPLY_SHOWN else "",
        "can_rate": can_rate,
        "rate_form": rate_form,
    }


@require_http_methods(["GET", "POST"])
def follow(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _no_store(render(request, "workbench/resident/follow.html", {"form": FollowForm()}))
    form = FollowForm(request.POST)
    context: dict[str, Any] = {"form": form}
    status = 200
    try:
        _limit(request, "follow", "PUBLIC_FOLLOW_PER_HOUR")
        if form.is_valid():
            order = resident_find(
                number=form.cleaned_data["number"], phone_last4=form.cleaned_data["phone_last4"]
            )
            context.update(_follow_context(order, form))
        else:
            status = 422
    except (FollowRefused, RateLimited) as exc:
        form.add_error(None, exc.message)
        status = 429 if isinstance(exc, RateLimited) else 404
    return _no_store(render(request, "workbench/resident/follow.html", context, status=status))


@require_POST
def rate(request: HttpRequest) -> HttpResponse:
    form = RateForm(request.POST)
    follow_form = FollowForm(request.POST)
    context: dict[str, Any] = {"form": follow_form, "rate_form": form}
    status = 200
    try:
        _limit(request, "rate", "PUBLIC_RATE_PER_HOUR")
        if form.is_valid() and follow_form.is_valid():
            resident_rate(
                number=form.cleaned_data["number"],
                phone_last4=form.cleaned_data["phone_last4"],
                satisfaction=form.cleaned_data["satisfaction"],
                comment=form.cleaned_data["comment"],
                now=timezone.now(),
            )
            context["rated"] = True
            order = resident_find(
                number=form.cleaned_data["number"], phone_last4=form.cleaned_data["phone_last4"]
            )
            context.update(_follow_context(order, follow_form))
            context["rate_form"] = None
        else:
            status = 422
            if follow_form.is_valid():
                order = resident_find(
                    number=follow_form.cleaned_data["number"],
                    phone_last4=follow_form.cleaned_data["phone_last4"],
                )
                context.update(_follow_context(order, follow_form))
                context["rate_form"] = form
    except (FollowRefused, RateLimited) as exc:
        follow_form.add_error(None, exc.message)
        status = 429 if isinstance(exc, RateLimited) else 404
    except OrderError as exc:
        form.add_error(None, exc.message)
        status = 409
    return _no_store(render(request, "workbench/resident/follow.html", context, status=status))
