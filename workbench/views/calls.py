"""The hotline agent's console: the call page ``/calls/<id>`` that the call-centre hook opens, and
``/calls/new/`` for a call taken by hand.

One form holds the whole call; every button posts it (``formaction``): register (and submit),
attach the call to a similar open order, answer a consultation from the knowledge base. On any
error the page comes back with everything typed and the error beside its field. The pickers
(items by Chinese keyword or pinyin initials, addresses from the unified list, the grid, similar
open orders, the knowledge base, the caller's history) are htmx fragments of the same template.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from catalog.models import CatalogItem, KnowledgeAnswer
from catalog.selectors import item_search, knowledge_search
from core.masking import mask_phone
from core.workcalendar import local_date
from intake.api import call_get_for_user
from intake.models import Call
from intake.services import Upload
from orders import permissions
from orders.attachments import AttachmentRefused, read_upload
from orders.errors import OrderError
from orders.models import Order
from orders.selectors import order_get_for_user
from orgs.addresses import address_lookup
from orgs.models import Unit
from workbench import selectors, services
from workbench.forms import CallForm, request_id
from workbench.views.common import clock, show_error

TEMPLATE = "workbench/call.html"


# --- loading ---------------------------------------------------------------------------------------


def _call(request: HttpRequest, pk: int | None) -> Call | None:
    """The call (its agent, or the hotline's agents and dispatchers; others get 404), or None
    for a call taken by hand — which needs the right to register orders."""
    if pk is None:
        if not permissions.can_create(request.user):
            raise PermissionDenied(_("您没有登记工单的权限。"))
        return None
    try:
        return call_get_for_user(request.user, pk)
    except Call.DoesNotExist:
        raise Http404 from None


def _ref(call: Call | None) -> str:
    return "new" if call is None else str(call.pk)


def _page_url(call: Call | None) -> str:
    return reverse("workbench:call_new") if call is None else reverse("workbench:call", args=[call.pk])


def _phone(call: Call | None, form: CallForm) -> str:
    if call is not None:
        return str(call.caller_phone or "")
    return (
        str(form.cleaned_data.get("phone") or "") if form.is_bound and hasattr(form, "cleaned_data") else ""
    )


def _location(form: CallForm) -> tuple[Unit | None, Any]:
    """The address of the unified list the typed address names, and its grid (the service
    resolves the grid the same way when the order is registered)."""
    data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    text = (data.get("address_text") or "").strip()
    address = address_lookup(text) if text else None
    grid = selectors.grid_with_parent(address.grid_id) if address is not None else None
    return grid, address


def _context(request: HttpRequest, call: Call | None, form: CallForm, **extra: Any) -> dict[str, Any]:
    actor = request.user
    now = clock()
    history = selectors.caller_history(actor, str(call.caller_phone or "")) if call is not None else []
    registered = selectors.call_orders(actor, call.call_id) if call is not None else []
    data = form.cleaned_data if form.is_bound and hasattr(form, "cleaned_data") else {}
    grid, address = _location(form) if data else (None, None)
    item = data.get("item")
    similar = (
        selectors.similar_open_orders(
            actor, item=item, grid=grid, now=now, title=data.get("title", ""), content=data.get("content", "")
        )
        if item is not None and grid is not None
        else []
    )
    kb_query = str(data.get("kb_query") or "")
    return {
        "call": call,
        "caller": mask_phone(str(call.caller_phone or "")) if call is not None else "",
        "ref": _ref(call),
        "page_url": _page_url(call),
        "form": form,
        "history": history,
        "registered": registered,
        "grid": grid,
        "address": address,
        "selected_item": item,
        "items": [],
        "similar": similar,
        "similar_ready": item is not None and grid is not None,
        "knowledge": knowledge_search(kb_query, local_date(now)) if kb_query.strip() else [],
        "kb_query": kb_query,
        "now": now,
        **extra,
    }


def _fresh_form(call: Call | None) -> CallForm:
    return CallForm(manual=call is None, initial={"client_request_id": request_id()})


def _fields(form: CallForm) -> services.OrderFields:
    data = form.cleaned_data
    return services.OrderFields(
        kind=data["kind"],
        title=data.get("title") or "",
        content=data.get("content") or "",
        urgency=data["urgency"],
        item=data.get("item"),
        address_text=data.get("address_text") or "",
        requester_name=data.get("requester_name") or "",
        confidential=bool(data.get("confidential")),
        client_request_id=data.get("client_request_id") or None,
    )


def _uploads(form: CallForm) -> list[Upload]:
    return [
        Upload(data=read_upload(f), name=f.name or "") for f in form.cleaned_data.get("attachments") or []
    ]


def _again(request: HttpRequest, call: Call | None, form: CallForm) -> HttpResponse:
    """The console with the form as it was sent, its errors beside the fields (422)."""
    return render(request, TEMPLATE, _context(request, call, form), status=422)


# --- pages ------------------------------------------------------------------------------------------


@require_GET
@login_required
def call_page(request: HttpRequest, pk: int) -> HttpResponse:
    call = _call(request, pk)
    return render(request, TEMPLATE, _context(request, call, _fresh_form(call)))


@require_GET
@login_required
def call_new(request: HttpRequest) -> HttpResponse:
    _call(request, None)
    return render(request, TEMPLATE, _context(request, None, _fresh_form(None)))


@require_POST
@login_required
def call_register(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    call = _call(request, pk)
    form = CallForm(request.POST, request.FILES, manual=call is None)
    if not (form.is_valid() and form.require_order_fields()):
        return _again(request, call, form)
    submit = request.POST.get("submit", "1") != "0"
    try:
        order = services.call_register(
            call=call,
            phone=_phone(call, form),
            actor=request.user,
            now=clock(),
            fields=_fields(form),
            submit=submit,
            photos=_uploads(form),
        )
    except AttachmentRefused as exc:
        show_error(form, exc, "attachments")
        return _again(request, call, form)
    except OrderError as exc:
        show_error(form, exc)
        return _again(request, call, form)
    if submit:
        messages.success(request, _("已登记工单 %(n)s，并提交派单。") % {"n": order.number})
    else:
        messages.success(request, _("已登记工单 %(n)s（暂存，未提交派单）。") % {"n": order.number})
    return redirect(_page_url(call))


@require_POST
@login_required
def call_attach(request: HttpRequest, order_pk: int, pk: int | None = None) -> HttpResponse:
    call = _call(request, pk)
    try:
        parent, _writable = order_get_for_user(request.user, order_pk)
    except Order.DoesNotExist:
        raise Http404 from None
    form = CallForm(request.POST, request.FILES, manual=call is None)
    if not form.is_valid():
        return _again(request, call, form)
    try:
        attached = services.call_attach_duplicate(
            call=call,
            phone=_phone(call, form),
            actor=request.user,
            now=clock(),
            parent=parent,
            fields=_fields(form),
            photos=_uploads(form),
        )
    except AttachmentRefused as exc:
        show_error(form, exc, "attachments")
        return _again(request, call, form)
    except OrderError as exc:
        show_error(form, exc)
        return _again(request, call, form)
    if attached.merged:
        messages.success(
            request,
            _("来电已作为重复件 %(child)s 并入工单 %(parent)s，群众将一并得到答复和回访。")
            % {"child": attached.order.number, "parent": parent.number},
        )
    else:
        messages.success(
            request,
            _("来电已登记为工单 %(parent)s 的重复件 %(child)s，待派单员确认合并。")
            % {"child": attached.order.number, "parent": parent.number},
        )
    return redirect(_page_url(call))


@require_POST
@login_required
def call_answer(request: HttpRequest, knowledge_pk: int, pk: int | None = None) -> HttpResponse:
    call = _call(request, pk)
    now = clock()
    knowledge = _knowledge(knowledge_pk, now)
    form = CallForm(request.POST, request.FILES, manual=call is None)
    if not form.is_valid():
        return _again(request, call, form)
    try:
        order = services.call_answer_consultation(
            call=call,
            phone=_phone(call, form),
            actor=request.user,
            now=now,
            knowledge=knowledge,
            fields=_fields(form),
        )
    except OrderError as exc:
        show_error(form, exc)
        return _again(request, call, form)
    messages.success(request, _("已按知识库直接答复，咨询件 %(n)s 已办结。") % {"n": order.number})
    return redirect(_page_url(call))


def _knowledge(pk: int, now: Any) -> KnowledgeAnswer:
    today = local_date(now)
    found = KnowledgeAnswer.objects.select_related("item").filter(pk=pk).first()
    if found is None:
        raise Http404
    if (found.valid_from and found.valid_from > today) or (found.valid_until and found.valid_until < today):
        raise Http404
    return found


# --- the pickers (htmx fragments) -----------------------------------------------------------------


def _require_intake(request: HttpRequest) -> None:
    if not permissions.can_create(request.user):
        raise PermissionDenied(_("您没有登记工单的权限。"))


@require_GET
@login_required
def item_results(request: HttpRequest) -> HttpResponse:
    """Catalog items for what was typed (Chinese keyword, pinyin, initials or code); the item
    already chosen stays first and checked."""
    query = request.GET.get("item_query", "")[:64]
    chosen_pk = _int(request.GET.get("item"))
    chosen = (
        CatalogItem.objects.filter(pk=chosen_pk, is_active=True).first() if chosen_pk is not None else None
    )
    found = item_search(query, limit=10) if query.strip() else []
    items = ([chosen] if chosen else []) + [i for i in found if chosen is None or i.pk != chosen.pk]
    return render(
        request,
        f"{TEMPLATE}#item-results",
        {"items": items, "selected_item": chosen, "item_query": query},
    )


@require_POST
@login_required
def address_options(request: HttpRequest) -> HttpResponse:
    """``<option>``s of the unified address list for the address typed so far (POST: an address
    is personal data and stays out of URLs and logs)."""
    _require_intake(request)
    text = request.POST.get("address_text", "")[:255]
    return render(
        request, f"{TEMPLATE}#address-options", {"suggestions": selectors.address_suggestions(text)}
    )


@require_POST
@login_required
def call_context(request: HttpRequest, ref: str) -> HttpResponse:
    """The grid the address points at and the similar open orders, for the form as it stands."""
    _require_intake(request)
    call = _call(request, None if ref == "new" else _int(ref))
    form = CallForm(request.POST, manual=call is None)
    form.is_valid()  # partial forms are fine here: only the location and the item are read
    context = _context(request, call, form, partial_response=True)
    return render(request, f"{TEMPLATE}#call-context", context)


@require_GET
@login_required
def knowledge_results(request: HttpRequest, ref: str) -> HttpResponse:
    call = _call(request, None if ref == "new" else _int(ref))
    query = request.GET.get("kb_query", "")[:64]
    return render(
        request,
        f"{TEMPLATE}#knowledge-results",
        {
            "knowledge": knowledge_search(query, local_date(clock())) if query.strip() else [],
            "kb_query": query,
            "ref": _ref(call),
            "call": call,
        },
    )


@require_POST
@login_required
def caller_history(request: HttpRequest) -> HttpResponse:
    """The earlier orders of the number typed by hand (POST: the number stays out of URLs)."""
    _require_intake(request)
    phone = request.POST.get("phone", "")[:32]
    return render(
        request,
        f"{TEMPLATE}#history",
        {"history": selectors.caller_history(request.user, phone), "history_asked": bool(phone.strip())},
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
