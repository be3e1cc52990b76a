"""Pages of 吹哨报到: the whistle board, the department's summons inbox, the whistle detail, the
blow-a-whistle form and the close-and-rate form (server-rendered, htmx for in-place actions).

Views only parse, call one selector or service and render (STYLE.md rule 2). Scope and
permissions come from ``whistles.selectors`` (``PermissionDenied`` → the 403 page) and the
services check again. A refused action re-renders its form with the message beside the field it
is about and everything typed kept; an htmx request gets the re-rendered card (status 200 so htmx
swaps it), a plain request the whole page with 422 (invalid input) or 409 (wrong state).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orders.models import Order
from orgs.models import Unit
from whistles import permissions, selectors, services
from whistles.choices import SummonsStatus, TaskStatus, WhistleType
from whistles.errors import InvalidInput, NotFound, WhistleError
from whistles.forms import (
    AcknowledgeForm,
    BlowForm,
    CancelForm,
    CheckInForm,
    CloseForm,
    TaskAssignForm,
    TaskReplyForm,
    add_service_error,
)
from whistles.models import Summons, Whistle, WhistleTask
from whistles.selectors import InboxItem, WhistleDetail
from whistles.states import TASKABLE

BOARD_FILTERS = ("open", "closed", "cancelled", "all")


def _status_for(exc: WhistleError) -> int:
    return 422 if isinstance(exc, InvalidInput) else exc.status


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _whistle(request: HttpRequest, pk: int) -> Whistle:
    try:
        return selectors.whistle_get_for_user(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _summons(request: HttpRequest, pk: int) -> Summons:
    try:
        return selectors.summons_get_for_user(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _task(request: HttpRequest, pk: int) -> WhistleTask:
    try:
        return selectors.task_get_for_user(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from None


# --- the summons card (inbox and detail) -------------------------------------------------------------


@dataclass
class Card:
    """One summons with the forms its department may use on it."""

    item: InboxItem
    ack_form: AcknowledgeForm
    check_in_form: CheckInForm
    reply_forms: dict[int, TaskReplyForm] = field(default_factory=dict)
    error: str = ""

    @property
    def summons(self) -> Summons:
        return self.item.summons

    @property
    def open_tasks(self) -> list[tuple[WhistleTask, TaskReplyForm]]:
        return [
            (t, self.reply_forms.get(t.pk) or TaskReplyForm(prefix=f"task{t.pk}"))
            for t in self.item.open_tasks
        ]

    @property
    def done_tasks(self) -> list[WhistleTask]:
        return [t for t in self.item.tasks if t.status != TaskStatus.OPEN]


def _card(item: InboxItem, **bound: Any) -> Card:
    pk = item.summons.pk
    return Card(
        item=item,
        ack_form=bound.get("ack_form") or AcknowledgeForm(prefix=f"ack{pk}"),
        check_in_form=bound.get("check_in_form") or CheckInForm(prefix=f"in{pk}"),
        reply_forms=bound.get("reply_forms") or {},
        error=bound.get("error", ""),
    )


def _inbox_item(request: HttpRequest, summons_id: int, now: datetime) -> InboxItem:
    for item in selectors.summons_inbox(request.user, now=now, open_only=False, summons_id=summons_id):
        return item
    raise Http404(_("召集记录不存在。"))


def _render_card(request: HttpRequest, card: Card, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "whistles/partials/summons_card.html",
        {"card": card, "now": timezone.now(), "next": _safe_next(request, reverse("whistles:inbox"))},
        status=status,
    )


def _card_answer(
    request: HttpRequest,
    summons_id: int,
    now: datetime,
    *,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The answer to a card action: htmx gets the card (swapped in place); a plain request goes
    back to the page it came from, or — when the action was refused — gets the inbox with the
    card's forms as typed."""
    card = _card(_inbox_item(request, summons_id, now), **(bound or {}))
    if request.htmx:  # type: ignore[attr-defined]
        return _render_card(request, card)
    if status == 200:
        return HttpResponseRedirect(_safe_next(request, reverse("whistles:inbox")))
    return _inbox_page(request, now=now, replace=card, status=status)


# --- the board -------------------------------------------------------------------------------------


@require_GET
@login_required
def board(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    current = request.GET.get("status", "open")
    if current not in BOARD_FILTERS:
        current = "open"
    rows = selectors.whistle_board(request.user, now=now, status=None if current == "all" else current)
    context = {
        "rows": rows,
        "now": now,
        "current": current,
        "filters": [
            ("open", _("进行中")),
            ("closed", _("已办结")),
            ("cancelled", _("已撤销")),
            ("all", _("全部")),
        ],
        "can_blow": permissions.blowing_units(request.user).exists(),
    }
    template = "whistles/board.html#board-list" if request.htmx else "whistles/board.html"  # type: ignore[attr-defined]
    return render(request, template, context)


# --- the inbox ---------------------------------------------------------------------------------------


def _inbox_page(
    request: HttpRequest, *, now: datetime, replace: Card | None = None, status: int = 200
) -> HttpResponse:
    show_all = request.GET.get("all") == "1"
    items = selectors.summons_inbox(request.user, now=now, open_only=not show_all)
    cards = [
        replace if replace is not None and replace.summons.pk == i.summons.pk else _card(i) for i in items
    ]
    context = {
        "cards": cards,
        "now": now,
        "show_all": show_all,
        "next": request.get_full_path() if request.method == "GET" else reverse("whistles:inbox"),
        "answers_summons": selectors.summons_of_user(request.user).exists() or bool(cards),
    }
    return render(request, "whistles/inbox.html", context, status=status)


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    return _inbox_page(request, now=timezone.now())


@require_POST
@login_required
def summons_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    summons = _summons(request, pk)
    form = AcknowledgeForm(request.POST, prefix=f"ack{pk}")
    if not form.is_valid():
        return _card_answer(request, pk, now, bound={"ack_form": form}, status=422)
    try:
        services.summons_acknowledge(
            summons=summons, actor=request.user, now=now, note=form.cleaned_data["note"]
        )
    except InvalidInput as exc:
        add_service_error(form, exc, {})
        return _card_answer(request, pk, now, bound={"ack_form": form}, status=422)
    except WhistleError as exc:
        return _card_answer(
            request, pk, now, bound={"ack_form": form, "error": exc.message}, status=_status_for(exc)
        )
    messages.success(request, _("已响应：%(unit)s") % {"unit": summons.unit.name})
    return _card_answer(request, pk, now)


@require_POST
@login_required
def summons_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    summons = _summons(request, pk)
    form = CheckInForm(request.POST, prefix=f"in{pk}")
    if not form.is_valid():
        return _card_answer(request, pk, now, bound={"check_in_form": form}, status=422)
    data = form.cleaned_data
    try:
        services.summons_check_in(
            summons=summons,
            actor=request.user,
            now=now,
            attendees=data["attendees"],
            point=data.get("point"),
            at_meeting=data.get("at_meeting", False),
            note=data.get("note", ""),
        )
    except InvalidInput as exc:
        add_service_error(form, exc, CheckInForm.SERVICE_FIELDS)
        return _card_answer(request, pk, now, bound={"check_in_form": form}, status=422)
    except WhistleError as exc:
        bound = {"check_in_form": form, "error": exc.message}
        return _card_answer(request, pk, now, bound=bound, status=_status_for(exc))
    messages.success(request, _("已报到：%(unit)s") % {"unit": summons.unit.name})
    return _card_answer(request, pk, now)


@require_POST
@login_required
def task_reply(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    task = _task(request, pk)
    form = TaskReplyForm(request.POST, prefix=f"task{pk}")
    summons_id = task.summons_id
    if not form.is_valid():
        return _card_answer(request, summons_id, now, bound={"reply_forms": {pk: form}}, status=422)
    try:
        services.whistle_task_reply(task=task, actor=request.user, now=now, reply=form.cleaned_data["reply"])
    except InvalidInput as exc:
        add_service_error(form, exc, {})
        return _card_answer(request, summons_id, now, bound={"reply_forms": {pk: form}}, status=422)
    except WhistleError as exc:
        bound = {"reply_forms": {pk: form}, "error": exc.message}
        return _card_answer(request, summons_id, now, bound=bound, status=_status_for(exc))
    messages.success(request, _("任务已答复。"))
    return _card_answer(request, summons_id, now)


# --- the detail -------------------------------------------------------------------------------------


def _task_choices(detail: WhistleDetail) -> list[tuple[int, str]]:
    return [(s.summons.pk, s.summons.unit.name) for s in detail.summonses if s.summons.status in TASKABLE]


def _detail_page(
    request: HttpRequest,
    pk: int,
    *,
    now: datetime,
    task_form: TaskAssignForm | None = None,
    cancel_form: CancelForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    try:
        detail = selectors.whistle_detail(request.user, pk, now=now)
    except NotFound as exc:
        raise Http404(exc.message) from None
    cards = [
        _card(
            InboxItem(
                summons=s.summons, progress=s.progress, label=s.label, tasks=detail.tasks_of(s.summons.pk)
            )
        )
        for s in detail.summonses
        if s.summons.pk in detail.acting_summons_ids
    ]
    manage = detail.can_manage and detail.whistle.is_open
    context = {
        "detail": detail,
        "whistle": detail.whistle,
        "now": now,
        "cards": cards,
        "manage": manage,
        "task_form": task_form or (TaskAssignForm(summonses=_task_choices(detail)) if manage else None),
        "cancel_form": cancel_form or (CancelForm() if manage else None),
        "error": error,
        "next": reverse("whistles:detail", args=[pk]),
    }
    return render(request, "whistles/detail.html", context, status=status)


@require_GET
@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, pk, now=timezone.now())


@require_POST
@login_required
def task_assign(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    whistle = _whistle(request, pk)
    if not permissions.can_manage(request.user, whistle):
        raise PermissionDenied(_("您无权执行此操作。"))
    choices = [
        (s.pk, s.unit.name)
        for s in Summons.objects.filter(whistle=whistle, status__in=list(TASKABLE)).select_related("unit")
    ]
    form = TaskAssignForm(request.POST, summonses=choices)
    if not form.is_valid():
        return _detail_page(request, pk, now=now, task_form=form, status=422)
    summons = Summons.objects.select_related("unit").get(pk=form.cleaned_data["summons"], whistle=whistle)
    try:
        services.whistle_task_assign(
            summons=summons,
            actor=request.user,
            now=now,
            description=form.cleaned_data["description"],
            due_at=form.cleaned_data["due_at"],
        )
    except InvalidInput as exc:
        add_service_error(form, exc, {})
        return _detail_page(request, pk, now=now, task_form=form, status=422)
    except WhistleError as exc:
        form.add_error(None, exc.message)
        return _detail_page(request, pk, now=now, task_form=form, status=_status_for(exc))
    messages.success(request, _("任务已派发给%(unit)s。") % {"unit": summons.unit.name})
    return redirect("whistles:detail", pk=pk)


@require_POST
@login_required
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    whistle = _whistle(request, pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, pk, now=now, cancel_form=form, status=422)
    try:
        services.whistle_cancel(
            whistle=whistle, actor=request.user, now=now, reason=form.cleaned_data["reason"]
        )
    except InvalidInput as exc:
        add_service_error(form, exc, {})
        return _detail_page(request, pk, now=now, cancel_form=form, status=422)
    except WhistleError as exc:
        form.add_error(None, exc.message)
        return _detail_page(request, pk, now=now, cancel_form=form, status=_status_for(exc))
    messages.success(request, _("吹哨已撤销。"))
    return redirect("whistles:detail", pk=pk)


# --- blow ---------------------------------------------------------------------------------------------


def _blow_form(request: HttpRequest, data: Any = None) -> BlowForm:
    units = permissions.blowing_units(request.user)
    if not units.exists():
        raise PermissionDenied(_("只有街道、社区的书记和工作人员可以吹哨。"))
    chosen = None
    if data is not None and str(data.get("unit", "")).isdigit():
        chosen = units.filter(pk=int(data["unit"])).first()
    chosen = chosen or units.first()
    assert chosen is not None
    summonable = Unit.objects.none()
    orders = Order.objects.none()
    for unit in units:  # a person rarely holds more than one street or community
        summonable = summonable | selectors.summonable_units_for(unit)
        orders = orders | Order.objects.filter(pk__in=[o.pk for o in selectors.open_orders_for_whistle(unit)])
    initial: dict[str, Any] = {"unit": chosen}
    wanted = [int(p) for p in request.GET.get("orders", "").split(",") if p.strip().isdigit()]
    if wanted:
        initial["orders"] = wanted
        orders = orders | Order.objects.filter(pk__in=wanted)
    return BlowForm(
        data,
        units=units,
        summonable=summonable.distinct().order_by("kind", "code"),
        orders=orders.distinct().order_by("-created_at"),
        initial=initial,
    )


@require_http_methods(["GET", "POST"])
@login_required
def blow(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "whistles/blow.html", {"form": _blow_form(request)})
    form = _blow_form(request, request.POST)
    if not form.is_valid():
        return render(request, "whistles/blow.html", {"form": form}, status=422)
    data = form.cleaned_data
    try:
        whistle = services.whistle_blow(
            actor=request.user,
            unit=data["unit"],
            type=data["type"],
            title=data["title"],
            description=data["description"],
            summon_unit_ids=[u.pk for u in data["summon_units"]],
            now=timezone.now(),
            address=data.get("address", ""),
            point=data.get("point"),
            meeting_at=data.get("meeting_at"),
            meeting_place=data.get("meeting_place", ""),
            order_ids=[o.pk for o in data.get("orders") or []],
        )
    except InvalidInput as exc:
        add_service_error(form, exc, BlowForm.SERVICE_FIELDS)
        return render(request, "whistles/blow.html", {"form": form}, status=422)
    messages.success(
        request,
        _("已吹%(type)s，召集%(n)d个部门。")
        % {"type": WhistleType(whistle.type).label, "n": len(data["summon_units"])},
    )
    return redirect("whistles:detail", pk=whistle.pk)


# --- close and rate --------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def close(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    whistle = _whistle(request, pk)
    if not permissions.can_close(request.user, whistle):
        raise PermissionDenied(_("只有吹哨单位可以办结和评价。"))
    if not whistle.is_open:
        messages.info(request, _("该吹哨已%(status)s。") % {"status": whistle.get_status_display()})
        return redirect("whistles:detail", pk=pk)
    progress = {s.summons.pk: s for s in selectors.whistle_detail(request.user, pk, now=now).ratable}
    summonses = [s.summons for s in progress.values()]
    form = CloseForm(request.POST or None, summonses=summonses)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.whistle_close(
                    whistle=whistle,
                    actor=request.user,
                    now=now,
                    result=form.cleaned_data["result"],
                    ratings=form.ratings(),
                )
            except InvalidInput as exc:
                add_service_error(form, exc, {})
                status = 422
            except WhistleError as exc:
                form.add_error(None, exc.message)
                status = _status_for(exc)
            else:
                messages.success(request, _("吹哨已办结，各部门评价已记录。"))
                return redirect("whistles:detail", pk=pk)
        else:
            status = 422
    groups = [(progress[sid], fields) for sid, fields in form.groups()]
    context = {
        "whistle": whistle,
        "form": form,
        "groups": groups,
        "now": now,
        "not_reported_count": sum(1 for s in summonses if s.status != SummonsStatus.CHECKED_IN),
    }
    return render(request, "whistles/close.html", context, status=status)
