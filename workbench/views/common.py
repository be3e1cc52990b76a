"""What every workbench view shares: the clock read once, scoped order loading (403 in Chinese
outside one's scope), service errors shown beside the form, and safe "back" links."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from orders.errors import OrderError, StaleTransition
from orders.models import Order
from orders.selectors import order_get_for_user

PAGE_SIZE = 20
MAX_PAGE = 500
COUNT_CAP = 99


def clock() -> dt.datetime:
    """The one reading of the clock per request; services take it as ``now``."""
    return timezone.now()


def load_order(actor: Any, pk: int) -> tuple[Order, bool]:
    """The order and whether the actor may act on it now. Out of the actor's scope: 403 (the
    Chinese page says why); no such order: 404."""
    try:
        return order_get_for_user(actor, pk)
    except Order.DoesNotExist:
        if Order.objects.filter(pk=pk).exists():
            raise PermissionDenied(_("您无权查看该工单。")) from None
        raise Http404 from None


def with_version(order: Order, form: forms.Form) -> Order:
    """The order as the person saw it: a newer version in the database means someone else
    acted first, and the service refuses (``StaleTransition``)."""
    version = form.cleaned_data.get("version")
    if version is not None:
        order.version = int(version)
    return order


def show_error(form: forms.Form, exc: OrderError, field: str | None = None) -> None:
    """A service's refusal, in its own Chinese words, beside the field or above the form."""
    if isinstance(exc, StaleTransition):
        form.add_error(None, exc.message)
        return
    form.add_error(field if field in form.fields else None, exc.message)


def safe_next(request: HttpRequest, fallback: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


@dataclass
class QuickPage:
    """A page of a queue without counting the whole queue: one more row than shown is fetched to
    know whether a next page exists (a ``COUNT(*)`` over a city's scoped queue is the slowest
    query a page could make)."""

    object_list: list[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def paginate(rows: Any, request: HttpRequest, per_page: int = PAGE_SIZE) -> QuickPage:
    number = page_number(request)
    start = (number - 1) * per_page
    fetched = list(rows[start : start + per_page + 1])
    return QuickPage(object_list=fetched[:per_page], number=number, has_next=len(fetched) > per_page)


def page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), MAX_PAGE))
    except (TypeError, ValueError):
        return 1


def paginate_visible(
    actor: Any, base: Any, request: HttpRequest, per_page: int = PAGE_SIZE, field: str = "pk"
) -> QuickPage:
    """A page of a narrowed queue, its rows checked against ``orders_visible_to``."""
    from workbench.selectors import visible_page

    number = page_number(request)
    rows, has_next = visible_page(actor, base, number=number, per_page=per_page, field=field)
    return QuickPage(object_list=rows, number=number, has_next=has_next)


def capped_count(rows: Any, cap: int = COUNT_CAP) -> int:
    """How many rows, counting no further than ``cap + 1`` (shown as "99+")."""
    return int(rows.order_by()[: cap + 1].count())


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))
