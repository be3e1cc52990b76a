"""The queues: the dispatcher's desk, the handler's inbox, the callback queue, the supervisor
board and the order search. Every row shown is within ``orders_visible_to``: the order search
comes from ``orders.selectors.order_list_for_queue``; the desks narrow first by their own indexed
predicate (``workbench.selectors.dispatch_orders`` …) and check the page's rows against the scope
(``visible_page``), which keeps a city of a million orders fast. A page costs the same number of
queries however many rows it shows (pinned in the tests). Filters are a GET form; htmx swaps
only the list; counts stop at 99 ("99+")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from catalog.models import CatalogItem
from orders import permissions, services
from orders.choices import Channel, OrderStatus, Urgency
from orders.errors import OrderError
from orders.models import Order
from orders.selectors import order_list_for_queue
from orgs.choices import Role, UnitKind
from orgs.models import Membership, Unit
from orgs.selectors import holding_subtree_list
from workbench import selectors
from workbench.forms import UrgeForm
from workbench.services import orders_batch_dispatch
from workbench.views.common import capped_count, clock, is_htmx, paginate, paginate_visible, show_error

L = gettext_lazy
DEADLINES = [
    ("", L("全部期限")),
    ("overdue", L("已超时")),
    ("24h", L("24 小时内到期")),
    ("3d", L("3 天内到期")),
]


class QueueFilter(forms.Form):
    """The filters of every queue: state, urgency, deadline, area, item, channel."""

    status = forms.ChoiceField(label=L("状态"), required=False)
    urgency = forms.ChoiceField(label=L("紧急程度"), required=False)
    deadline = forms.ChoiceField(label=L("期限"), choices=DEADLINES, required=False)
    area = forms.ModelChoiceField(
        label=L("区域"), queryset=Unit.objects.none(), required=False, empty_label=L("全部区域")
    )
    item = forms.ModelChoiceField(
        label=L("事项"),
        queryset=CatalogItem.objects.filter(is_active=True).select_related("subcategory"),
        required=False,
        empty_label=L("全部事项"),
    )
    channel = forms.ChoiceField(label=L("渠道"), required=False)

    def __init__(
        self,
        *args: Any,
        statuses: list[tuple[str, Any]] | None = None,
        areas: QuerySet[Unit] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        status_field = self.fields["status"]
        assert isinstance(status_field, forms.ChoiceField)
        status_field.choices = [("", _("全部状态")), *(statuses or OrderStatus.choices)]
        urgency_field = self.fields["urgency"]
        assert isinstance(urgency_field, forms.ChoiceField)
        urgency_field.choices = [("", _("全部")), *Urgency.choices]
        channel_field = self.fields["channel"]
        assert isinstance(channel_field, forms.ChoiceField)
        channel_field.choices = [("", _("全部渠道")), *Channel.choices]
        area_field = self.fields["area"]
        assert isinstance(area_field, forms.ModelChoiceField)
        area_field.queryset = areas if areas is not None else Unit.objects.none()

    def values(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


def _areas(actor: Any, roles: Any) -> QuerySet[Unit]:
    """Districts and streets in the actor's scope (the area filter's choices)."""
    return Unit.objects.filter(
        pk__in=holding_subtree_list(actor, roles),
        kind__in=[UnitKind.DISTRICT, UnitKind.STREET],
        is_active=True,
    ).order_by("level", "code")


def deadline_window(deadline: str | None, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The deadline filter as ``(due_after, due_before)`` instants at ``now``."""
    if deadline == "overdue":
        return None, now
    if deadline == "24h":
        return now, now + dt.timedelta(hours=24)
    if deadline == "3d":
        return now, now + dt.timedelta(days=3)
    return None, None


def _filtered(actor: Any, filters: dict[str, Any], now: dt.datetime, **queue: Any) -> QuerySet[Order]:
    due_after, due_before = deadline_window(filters.get("deadline"), now)
    area = filters.get("area")
    fixed_status = queue.pop("status", None)
    return order_list_for_queue(
        actor,
        status=filters.get("status") or fixed_status,
        urgency=filters.get("urgency"),
        channel=filters.get("channel"),
        item=filters.get("item"),
        location=area,
        due_before=due_before,
        due_after=due_after,
        **queue,
    )


def _querystring(request: HttpRequest, **changes: Any) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    params.pop("page", None)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


# --- the dispatcher's desk -----------------------------------------------------------------------

DISPATCH_TABS = [
    ("dispatch", L("待派单"), OrderStatus.AWAITING_DISPATCH),
    ("returns", L("退单待审"), OrderStatus.RETURN_REQUESTED),
    ("review", L("办结待审"), OrderStatus.AWAITING_REVIEW),
    ("requests", L("延期挂账审批"), None),
]


def _require_role(actor: Any, roles: frozenset[str]) -> None:
    if not Membership.objects.filter(user_id=actor.pk, role__in=list(roles), unit__is_active=True).exists():
        raise PermissionDenied(_("该工作台需要相应岗位。"))


@require_GET
@login_required
def dispatch_queue(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _require_role(actor, permissions.DISPATCH_ROLES)
    now = clock()
    tab = request.GET.get("tab", "dispatch")
    if tab not in {t[0] for t in DISPATCH_TABS}:
        tab = "dispatch"
    # The requests are listed on their own tab only; elsewhere their badge is a capped count.
    decisions = selectors.pending_decisions(actor, as_parent=False) if tab == "requests" else []
    requests = (
        len(decisions) if tab == "requests" else selectors.pending_decisions_count(actor, as_parent=False)
    )
    tabs = [
        {
            "key": key,
            "label": label,
            "count": requests if status is None else capped_count(selectors.dispatch_orders(actor, status)),
            "url": _querystring(request, tab=key),
        }
        for key, label, status in DISPATCH_TABS
    ]
    filters = QueueFilter(request.GET or None, statuses=[], areas=_areas(actor, permissions.DISPATCH_ROLES))
    context: dict[str, Any] = {
        "tab": tab,
        "tabs": tabs,
        "filters": filters,
        "now": now,
        "decisions": decisions,
    }
    if tab != "requests":
        status = next(s for k, _l, s in DISPATCH_TABS if k == tab)
        values = filters.values()
        values.pop("status", None)
        assert status is not None
        page = paginate_visible(
            actor, _narrow(selectors.dispatch_orders(actor, status), values, now), request
        )
        rows = list(page.object_list)
        leads = selectors.suggested_leads(rows) if tab == "dispatch" else {}
        for order in rows:
            order.suggested = leads.get(order.pk)
        context.update(
            page=page,
            rows=rows,
            batch_units=_batch_units(actor) if tab == "dispatch" else [],
        )
    template = "workbench/dispatch_queue.html"
    if is_htmx(request) and request.headers.get("HX-Target") == "queue-list":
        template += "#queue-list"
    return render(request, template, context)


def _batch_units(actor: Any) -> list[Unit]:
    """Units a batch may be sent to in one go: districts, streets and departments in scope."""
    return list(
        Unit.objects.filter(
            Q(pk__in=holding_subtree_list(actor, permissions.DISPATCH_ROLES))
            & Q(kind__in=[UnitKind.DISTRICT, UnitKind.STREET, UnitKind.DEPARTMENT]),
            is_active=True,
        )
        .defer("boundary")
        .order_by("kind", "code")[:200]
    )


@require_POST
@login_required
def dispatch_batch(request: HttpRequest) -> HttpResponse:
    """批量派单: each checked order (``id.version``) by the responsibility list, or all to one unit."""
    actor = request.user
    _require_role(actor, permissions.DISPATCH_ROLES)
    picked: dict[int, int] = {}
    for value in request.POST.getlist("orders"):
        pk, _sep, version = value.partition(".")
        if pk.isdigit() and version.isdigit():
            picked[int(pk)] = int(version)
    back = reverse("workbench:dispatch_queue")
    if not picked:
        messages.error(request, _("请先勾选要派单的工单。"))
        return redirect(back)
    lead = None
    lead_pk = request.POST.get("lead_unit", "")
    if lead_pk.isdigit():
        lead = Unit.objects.filter(pk=int(lead_pk), is_active=True).first()
    orders = list(
        order_list_for_queue(actor, queue="dispatch", status=OrderStatus.AWAITING_DISPATCH).filter(
            pk__in=list(picked)
        )
    )
    for order in orders:
        order.version = picked[order.pk]
    missing = len(picked) - len(orders)
    result = orders_batch_dispatch(actor=actor, now=clock(), orders=orders, lead_unit=lead)
    if result.dispatched:
        messages.success(request, _("已派出 %(n)d 件工单。") % {"n": len(result.dispatched)})
    for order, reason in result.refused:
        messages.error(
            request, _("工单 %(number)s 未派出：%(reason)s") % {"number": order.number, "reason": reason}
        )
    if missing:
        messages.warning(request, _("%(n)d 件工单已不在待派单队列中（可能已被他人处理）。") % {"n": missing})
    return redirect(back)


# --- the handler's inbox -------------------------------------------------------------------------

INBOX_TABS = [
    ("pending", L("待签收")),
    ("working", L("办理中")),
    ("review", L("下级反馈待审")),
    ("replied", L("已答复待审")),
]


@require_GET
@login_required
def handler_inbox(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _require_role(actor, permissions.HANDLING_ROLES)
    now = clock()
    tab = request.GET.get("tab", "pending")
    if tab not in {t[0] for t in INBOX_TABS}:
        tab = "pending"
    units = selectors.handling_unit_ids(actor)
    # Replies and requests from below are listed on their own tab only; elsewhere their badge
    # is a capped count.
    replies = selectors.reviewable_replies(actor) if tab == "review" else []
    decisions = selectors.pending_decisions(actor, as_dispatcher=False) if tab == "review" else []
    counts = {
        key: capped_count(selectors.inbox_assignments(actor, key))
        for key in ("pending", "working", "replied")
    }
    counts["review"] = (
        len(replies) + len(decisions)
        if tab == "review"
        else selectors.review_count(actor) + selectors.pending_decisions_count(actor, as_dispatcher=False)
    )
    tabs = [
        {"key": k, "label": label, "count": counts[k], "url": _querystring(request, tab=k)}
        for k, label in INBOX_TABS
    ]
    filters = QueueFilter(request.GET or None, statuses=[], areas=_areas(actor, permissions.HANDLING_ROLES))
    context: dict[str, Any] = {
        "tab": tab,
        "tabs": tabs,
        "filters": filters,
        "now": now,
        "replies": replies,
        "decisions": decisions,
    }
    if tab != "review":
        values = filters.values()
        values.pop("status", None)
        base = _narrow(selectors.inbox_assignments(actor, tab), values, now, prefix="order__")
        page = paginate_visible(actor, base, request, field="order_id")
        rows = list(page.object_list)
        selectors.with_my_assignments(rows, units)
        context.update(page=page, rows=rows)
    template = "workbench/inbox.html"
    if is_htmx(request) and request.headers.get("HX-Target") == "queue-list":
        template += "#queue-list"
    return render(request, template, context)


def _narrow(qs: QuerySet[Any], values: dict[str, Any], now: dt.datetime, prefix: str = "") -> QuerySet[Any]:
    """The filters on a narrowed queue (of orders, or of rows whose ``prefix`` leads to the order)."""
    from orgs.selectors import unit_subtree_ids

    f = prefix
    if values.get("urgency"):
        qs = qs.filter(**{f"{f}urgency": values["urgency"]})
    if values.get("channel"):
        qs = qs.filter(**{f"{f}channel": values["channel"]})
    if values.get("item"):
        qs = qs.filter(**{f"{f}item": values["item"]})
    if values.get("area"):
        qs = qs.filter(**{f"{f}grid_id__in": unit_subtree_ids(values["area"])})
    deadline = values.get("deadline")
    if deadline == "overdue":
        qs = qs.filter(**{f"{f}due_at__lt": now})
    elif deadline == "24h":
        qs = qs.filter(**{f"{f}due_at__gte": now, f"{f}due_at__lt": now + dt.timedelta(hours=24)})
    elif deadline == "3d":
        qs = qs.filter(**{f"{f}due_at__gte": now, f"{f}due_at__lt": now + dt.timedelta(days=3)})
    return qs


@require_POST
@login_required
def inbox_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """签收 from the inbox row (the detail page offers the same action with more around it)."""
    from workbench.views.common import load_order, with_version
    from workbench.views.detail import ACTIONS, _ctx

    order, writable = load_order(request.user, pk)
    ctx = _ctx(request, order, writable)
    spec = ACTIONS["accept"]
    offered = spec.offered(ctx)
    key = request.POST.get("accept-assignment", "")
    back = reverse("workbench:handler_inbox")
    if key not in offered:
        messages.error(request, _("该工单已不需要签收。"))
        return redirect(back)
    form = spec.form_class(request.POST, prefix="accept")
    if not form.is_valid():
        messages.error(request, _("签收失败，请刷新后重试。"))
        return redirect(back)
    with_version(order, form)
    try:
        services.order_accept(order=order, actor=request.user, now=ctx.now, assignment=offered[key])
    except OrderError as exc:
        messages.error(request, _("工单 %(n)s：%(m)s") % {"n": order.number, "m": exc.message})
        return redirect(back)
    messages.success(request, _("已签收工单 %(n)s。") % {"n": order.number})
    return redirect(back)


# --- callbacks ---------------------------------------------------------------------------------


@require_GET
@login_required
def callback_queue(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _require_role(actor, permissions.CALLBACK_ROLES)
    now = clock()
    filters = QueueFilter(request.GET or None, statuses=[], areas=_areas(actor, permissions.CALLBACK_ROLES))
    values = filters.values()
    values.pop("status", None)
    page = paginate_visible(actor, _narrow(selectors.callback_orders(actor), values, now), request)
    merged = selectors.merged_awaiting_callback(actor)
    context = {"page": page, "rows": list(page.object_list), "merged": merged, "filters": filters, "now": now}
    template = "workbench/callbacks.html"
    if is_htmx(request) and request.headers.get("HX-Target") == "queue-list":
        template += "#queue-list"
    return render(request, template, context)


# --- the supervisor board ----------------------------------------------------------------------

BOARD_HORIZON_HOURS = 24
# Rows per deadline kind on the board (the most overdue first); the totals count these rows.
BOARD_ROWS = 60


@require_GET
@login_required
def supervision_board(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _require_role(actor, frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.LEADER}))
    now = clock()
    hours = int(getattr(settings, "WORKBENCH_BOARD_HORIZON_HOURS", BOARD_HORIZON_HOURS))
    groups = selectors.deadline_board(actor, now=now, horizon=dt.timedelta(hours=hours), limit=BOARD_ROWS)
    context = {
        "groups": groups,
        "now": now,
        "hours": hours,
        "red": sum(g.red for g in groups),
        "yellow": sum(g.yellow for g in groups),
        "urge_form": UrgeForm(prefix="urge"),
    }
    return render(request, "workbench/supervision.html", context)


@require_POST
@login_required
def board_urge(request: HttpRequest, pk: int) -> HttpResponse:
    """催办 from the board row: the message, the version seen; back to the board."""
    from workbench.views.common import load_order, with_version

    order, _writable = load_order(request.user, pk)
    form = UrgeForm(request.POST, prefix="urge")
    back = reverse("workbench:supervision_board")
    if not form.is_valid():
        messages.error(request, _("请填写催办内容。"))
        return redirect(back)
    with_version(order, form)
    try:
        services.order_urge(
            order=order, actor=request.user, now=clock(), message=form.cleaned_data["message"]
        )
    except OrderError as exc:
        show_error(form, exc)
        messages.error(request, _("工单 %(n)s：%(m)s") % {"n": order.number, "m": exc.message})
        return redirect(back)
    messages.success(request, _("已催办工单 %(n)s。") % {"n": order.number})
    return redirect(back)


# --- the order search ----------------------------------------------------------------------------


@require_GET
@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    from workbench.views.exports import ExportRequestForm, export_hidden_fields

    actor = request.user
    now = clock()
    filters = QueueFilter(request.GET or None, areas=_visible_areas(actor))
    values = filters.values()
    # Only order numbers are searched: free text in a URL could carry personal data (PI-6).
    query = "".join(ch for ch in (request.GET.get("q") or "") if ch.isdigit())[:24]
    qs = _filtered(actor, values, now)
    if query:
        qs = qs.filter(number__startswith=query)
    page = paginate(qs, request)
    context = {
        "page": page,
        "rows": list(page.object_list),
        "filters": filters,
        "now": now,
        "q": query,
        # 申请导出 of this very search (PI-4); the memberships are already read: no query.
        "export_form": ExportRequestForm() if permissions.can_request_export(actor) else None,
        "export_filters": export_hidden_fields(values, query),
    }
    template = "workbench/order_list.html"
    if is_htmx(request) and request.headers.get("HX-Target") == "queue-list":
        template += "#queue-list"
    return render(request, template, context)


def _visible_areas(actor: Any) -> QuerySet[Unit]:
    from orgs.selectors import location_scope_q

    return Unit.objects.filter(
        Q(pk__in=holding_subtree_list(actor)) | location_scope_q(actor, "pk"),
        kind__in=[UnitKind.DISTRICT, UnitKind.STREET],
        is_active=True,
    ).order_by("level", "code")
