"""The notifications inbox (``notifications:inbox``): the in-app outbox rows of the signed-in
person, newest first, unread marked; opening one marks it read (``notification_mark_read``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from orders.models import Notification
from orders.notifications import notification_mark_read
from orders.selectors import inbox_for
from workbench.views.common import capped_count, clock, paginate


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    page = paginate(inbox_for(request.user, unread_only=unread_only), request)
    unread = capped_count(inbox_for(request.user, unread_only=True))
    return render(
        request,
        "workbench/notifications.html",
        {"page": page, "rows": list(page.object_list), "unread": unread, "unread_only": unread_only},
    )


def _mine(request: HttpRequest, pk: int) -> Notification:
    found = inbox_for(request.user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@require_POST
@login_required
def open_one(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark read and go to the order (a POST: reading changes state)."""
    notification = _mine(request, pk)
    notification_mark_read(notification=notification, actor=request.user, now=clock())
    return redirect("workbench:order_detail", pk=notification.event.order_id)


@require_POST
@login_required
def mark_all_read(request: HttpRequest) -> HttpResponse:
    now = clock()
    changed = sum(
        1
        for n in inbox_for(request.user, unread_only=True)[:500]
        if notification_mark_read(notification=n, actor=request.user, now=now)
    )
    messages.success(request, _("已将 %(n)d 条通知标为已读。") % {"n": changed})
    return redirect(reverse("notifications:inbox"))
