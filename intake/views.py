"""The call page ``/calls/<id>``: a minimal, scoped placeholder until the agent workbench lands.

It shows the call (the caller's number masked), the orders registered from it and the caller's
earlier orders within the agent's scope. Only the call's agent and the hotline's agents and
dispatchers may open it (others get 404); the number is never part of the URL.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from intake.api import call_get_for_user, call_out
from intake.models import Call


@require_GET
@login_required
def call_page(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        call = call_get_for_user(request.user, pk)
    except Call.DoesNotExist:
        raise Http404 from None
    response = render(request, "intake/call_page.html", {"call": call_out(request.user, call)})
    response["Cache-Control"] = "no-store, private, max-age=0"
    return response
