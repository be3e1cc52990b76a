"""The order detail page: the whole timeline, attachments through the scoped view, the point on
its grid's map, every assignment with its deadlines — and the actions the person may take now.

Actions are a table (``ACTIONS``): for each, when it is offered (state and ``can_<action>``, asked
of ``orders.permissions`` once per page), its form, and the one service it calls. Every action
posts to ``/orders/<id>/do/<action>/``: success redirects back with a message; a refusal comes
back as this page with the form as it was sent and the error beside the field (422).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from intake.models import ResidentRating
from intake.services import Upload
from orders import permissions, services
from orders.attachments import AttachmentRefused, attachments_visible_to, read_upload
from orders.choices import (
    ASSIGNMENT_ACTIVE,
    OPEN,
    WITH_LEAD,
    AssignmentRole,
    AssignmentStatus,
    ContactMethod,
    EventType,
    OrderStatus,
    ReplyStatus,
    RequestStatus,
)
from orders.errors import OrderError
from orders.models import (
    Assignment,
    Callback,
    ExtensionRequest,
    Order,
    Reply,
    Supervision,
    SuspensionRequest,
)
from orders.selectors import order_assignments, order_timeline
from orgs.models import Unit
from workbench import forms as wb_forms
from workbench import present, selectors
from workbench import services as wb_services
from workbench.views.common import clock, load_order, safe_next, show_error, with_version

TEMPLATE = "workbench/order_detail.html"


# --- what the page knows about the order and the person ----------------------------------------


@dataclass
class Ctx:
    request: HttpRequest
    actor: Any
    order: Order
    writable: bool
    now: dt.datetime
    assignments: list[Assignment]
    replies: list[Reply]
    extensions: list[ExtensionRequest]
    suspensions: list[SuspensionRequest]
    handling_units: set[int]
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)

    def can(self, name: str, *args: Any) -> bool:
        """``orders.permissions.can_<name>(actor, order, *args)``, asked once per page."""
        key = (name, *(getattr(a, "pk", a) for a in args))
        if key not in self.memo:
            check = getattr(permissions, f"can_{name}")
            self.memo[key] = bool(check(self.actor, self.order, *args))
        return bool(self.memo[key])

    @property
    def mine(self) -> list[Assignment]:
        """Active assignments at a unit where the person handles (the unit's own work)."""
        return [a for a in self.assignments if a.is_active and a.unit_id in self.handling_units]

    def active_child(self, a: Assignment) -> Assignment | None:
        return next(
            (c for c in self.assignments if c.parent_id == a.pk and c.status in ASSIGNMENT_ACTIVE), None
        )

    def assignment(self, pk: Any) -> Assignment | None:
        return next((a for a in self.assignments if a.pk == pk), None)


def _ctx(request: HttpRequest, order: Order, writable: bool) -> Ctx:
    now = clock()
    assignments = list(order_assignments(order))
    return Ctx(
        request=request,
        actor=request.user,
        order=order,
        writable=writable,
        now=now,
        assignments=assignments,
        replies=list(
            Reply.objects.filter(order_id=order.pk)
            .select_related("assignment__unit")
            .order_by("created_at", "pk")
        ),
        extensions=list(
            ExtensionRequest.objects.filter(order_id=order.pk)
            .select_related("assignment__unit")
            .order_by("pk")
        ),
        suspensions=list(
            SuspensionRequest.objects.filter(order_id=order.pk)
            .select_related("assignment__unit")
            .order_by("pk")
        ),
        handling_units=set(selectors.handling_unit_ids(request.user)) if writable else set(),
    )


# --- the actions ------------------------------------------------------------------------------------


@dataclass
class Offer:
    """One action offered on the page: its form (unbound, or bound after a refusal)."""

    action: str
    key: str
    title: str
    form: forms.Form
    primary: bool = False
    note: str = ""
    target: Any = None
    danger: bool = False
    template: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    name: str
    title: Any
    form_class: type[forms.Form]
    offers: Callable[[Ctx], Iterable[tuple[str, dict[str, Any], Any]]]  # (key, initial, target)
    perform: Callable[[Ctx, forms.Form, Any], str]
    primary: bool = False
    danger: bool = False
    key_field: str = ""  # the hidden field naming the target (assignment, reply, request, parent)
    form_kwargs: Callable[[Ctx, Any], dict[str, Any]] | None = None
    error_field: str | None = None
    template: str = ""  # the form's body when the generic one (every visible field) is not enough
    more: Callable[[Ctx, forms.Form, Any], dict[str, Any]] | None = None  # the template's extras
    subtitle: Callable[[Ctx, Any], str] | None = None  # said after the title (which target)
    # Offered only when the order is open to the person's actions (``order_can_write``); the
    # callback of a merged duplicate is the exception (a merged order is otherwise read-only).
    needs_write: bool = True

    def offered(self, ctx: Ctx) -> dict[str, Any]:
        """``{key: target}`` of this action on the page now."""
        if self.needs_write and not ctx.writable:
            return {}
        return {key: target for key, _initial, target in self.offers(ctx)}


def _v(ctx: Ctx) -> dict[str, Any]:
    return {"version": ctx.order.version}


def _is_top_lead(a: Assignment) -> bool:
    return a.role == AssignmentRole.LEAD and a.parent_id is None


def _uploads(files: Iterable[Any]) -> list[Upload]:
    return [Upload(data=read_upload(f), name=f.name or "") for f in files]


# unit work ------------------------------------------------------------------------------------------


def _offer_accept(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    for a in ctx.mine:
        if a.status == AssignmentStatus.PENDING and ctx.order.status in (
            OrderStatus.AWAITING_ACCEPTANCE,
            OrderStatus.IN_PROGRESS,
        ):
            yield str(a.pk), {**_v(ctx), "assignment": a.pk}, a


def _do_accept(ctx: Ctx, form: forms.Form, a: Assignment) -> str:
    services.order_accept(order=ctx.order, actor=ctx.actor, now=ctx.now, assignment=a)
    return _("已签收，请在联系时限内联系群众。")


def _offer_return(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    for a in ctx.mine:
        if (
            a.status == AssignmentStatus.PENDING
            and _is_top_lead(a)
            and ctx.order.status == OrderStatus.AWAITING_ACCEPTANCE
        ):
            yield str(a.pk), {**_v(ctx), "assignment": a.pk}, a


def _do_return(ctx: Ctx, form: forms.Form, a: Assignment) -> str:
    services.order_return(
        order=ctx.order, actor=ctx.actor, now=ctx.now, reason=form.cleaned_data["reason"], assignment=a
    )
    return _("已申请退单，等待派单员审核。")


def _accepted_without_child(ctx: Ctx) -> Iterable[Assignment]:
    if ctx.order.status != OrderStatus.IN_PROGRESS:
        return
    for a in ctx.mine:
        if a.status == AssignmentStatus.ACCEPTED and ctx.active_child(a) is None:
            yield a


def _offer_delegate(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    for a in _accepted_without_child(ctx):
        yield str(a.pk), {**_v(ctx), "assignment": a.pk}, a


def _delegate_kwargs(ctx: Ctx, a: Assignment) -> dict[str, Any]:
    return {"targets": selectors.delegate_targets(a.unit_id)}


def _do_delegate(ctx: Ctx, form: forms.Form, a: Assignment) -> str:
    unit = form.cleaned_data["unit"]
    services.order_delegate(
        order=ctx.order, actor=ctx.actor, now=ctx.now, unit=unit, assignment=a, note=form.cleaned_data["note"]
    )
    return _("已下派给%(unit)s。") % {"unit": unit.name}


def _offer_contact(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status not in (OrderStatus.IN_PROGRESS, OrderStatus.SUSPENDED):
        return
    for a in ctx.mine:
        if a.status == AssignmentStatus.ACCEPTED:
            method = ContactMethod.HOTLINE if ctx.order.confidential else ContactMethod.PHONE
            yield str(a.pk), {**_v(ctx), "assignment": a.pk, "method": method}, a


def _contact_kwargs(ctx: Ctx, a: Assignment) -> dict[str, Any]:
    return {}


def _do_contact(ctx: Ctx, form: forms.Form, a: Assignment) -> str:
    services.order_record_contact(
        order=ctx.order,
        actor=ctx.actor,
        now=ctx.now,
        method=form.cleaned_data["method"],
        note=form.cleaned_data["note"],
        assignment=a,
    )
    return _("已登记联系群众。")


def _offer_reply(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    for a in _accepted_without_child(ctx):
        approved_child = next(
            (
                r
                for r in reversed(ctx.replies)
                if r.status == ReplyStatus.APPROVED and r.assignment.parent_id == a.pk
            ),
            None,
        )
        initial = {**_v(ctx), "assignment": a.pk}
        if approved_child is not None:
            initial["outcome"] = approved_child.outcome
            initial["explanation"] = approved_child.explanation
        yield str(a.pk), initial, a


def _do_reply(ctx: Ctx, form: forms.Form, a: Assignment) -> str:
    wb_services.reply_with_photos(
        order=ctx.order,
        actor=ctx.actor,
        now=ctx.now,
        outcome=form.cleaned_data["outcome"],
        explanation=form.cleaned_data["explanation"],
        assignment=a,
        photos=_uploads(form.cleaned_data.get("photos") or []),
    )
    if _is_top_lead(a):
        return _("已答复，等待派单员审核。")
    return _("已反馈，等待上级单位审核。")


def _offer_extension(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status != OrderStatus.IN_PROGRESS:
        return
    pending = {x.assignment_id for x in ctx.extensions if x.status == RequestStatus.PENDING}
    for a in ctx.mine:
        if a.status == AssignmentStatus.ACCEPTED and a.pk not in pending:
            yield str(a.pk), {**_v(ctx), "assignment": a.pk}, a


def _do_extension(ctx: Ctx, form: forms.Form, a: Assignment) -> str:
    services.order_extension_request(
        order=ctx.order,
        actor=ctx.actor,
        now=ctx.now,
        amount=form.cleaned_data["amount"],
        reason=form.cleaned_data["reason"],
        assignment=a,
    )
    return _("已申请延期，等待审批。")


def _offer_suspend(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status != OrderStatus.IN_PROGRESS:
        return
    if any(s.status == RequestStatus.PENDING for s in ctx.suspensions):
        return
    for a in ctx.mine:
        if a.status == AssignmentStatus.ACCEPTED and a.role == AssignmentRole.LEAD:
            yield str(a.pk), {**_v(ctx), "assignment": a.pk}, a


def _do_suspend(ctx: Ctx, form: forms.Form, a: Assignment) -> str:
    services.order_suspend_request(
        order=ctx.order, actor=ctx.actor, now=ctx.now, reason=form.cleaned_data["reason"], assignment=a
    )
    return _("已申请挂账，等待派单员审批。")


# reviews and decisions ----------------------------------------------------------------------------


def _offer_review(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    for r in ctx.replies:
        if r.status != ReplyStatus.PENDING_REVIEW:
            continue
        a = r.assignment
        top = _is_top_lead(a)
        wanted = OrderStatus.AWAITING_REVIEW if top else OrderStatus.IN_PROGRESS
        if ctx.order.status == wanted and ctx.can("review", a):
            yield str(r.pk), {**_v(ctx), "reply": r.pk}, r


def _do_review(ctx: Ctx, form: forms.Form, r: Reply) -> str:
    comment = form.cleaned_data["comment"]
    if form.cleaned_data["decision"] == "send_back":
        services.order_review_send_back(
            order=ctx.order, actor=ctx.actor, now=ctx.now, reason=comment, reply=r
        )
        return _("已退回%(unit)s重新办理。") % {"unit": r.assignment.unit.name}
    services.order_review_approve(order=ctx.order, actor=ctx.actor, now=ctx.now, reply=r, comment=comment)
    if _is_top_lead(r.assignment):
        return _("审核通过，工单转入回访。")
    return _("审核通过。请据此向上级答复。")


def _offer_decide_extension(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status not in (OrderStatus.IN_PROGRESS, OrderStatus.SUSPENDED):
        return
    for x in ctx.extensions:
        if x.status == RequestStatus.PENDING and ctx.can("decide_extension", x.assignment):
            yield str(x.pk), {**_v(ctx), "request": x.pk}, x


def _do_decide_extension(ctx: Ctx, form: forms.Form, x: ExtensionRequest) -> str:
    reason = form.cleaned_data["reason"]
    if form.cleaned_data["decision"] == "refuse":
        services.order_extension_refuse(
            order=ctx.order, actor=ctx.actor, now=ctx.now, request=x, reason=reason
        )
        return _("已驳回延期申请。")
    services.order_extension_approve(order=ctx.order, actor=ctx.actor, now=ctx.now, request=x, reason=reason)
    return _("已同意延期。")


def _offer_decide_suspension(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status != OrderStatus.IN_PROGRESS:
        return
    for s in ctx.suspensions:
        if s.status == RequestStatus.PENDING and ctx.can("decide_suspension"):
            yield str(s.pk), {**_v(ctx), "request": s.pk}, s


def _do_decide_suspension(ctx: Ctx, form: forms.Form, s: SuspensionRequest) -> str:
    reason = form.cleaned_data["reason"]
    if form.cleaned_data["decision"] == "refuse":
        services.order_suspend_refuse(order=ctx.order, actor=ctx.actor, now=ctx.now, request=s, reason=reason)
        return _("已驳回挂账申请。")
    services.order_suspend_approve(order=ctx.order, actor=ctx.actor, now=ctx.now, request=s, reason=reason)
    return _("已同意挂账，计时暂停。")


def _offer_resume(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status == OrderStatus.SUSPENDED and ctx.can("resume"):
        yield "", _v(ctx), None


def _do_resume(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    services.order_resume(order=ctx.order, actor=ctx.actor, now=ctx.now, reason=form.cleaned_data["reason"])
    return _("已恢复办理，计时继续。")


# dispatch ------------------------------------------------------------------------------------------


def _offer_dispatch(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status == OrderStatus.AWAITING_DISPATCH and ctx.can("dispatch"):
        lead = selectors.suggested_leads([ctx.order]).get(ctx.order.pk)
        assists = selectors.rule_assists(ctx.order)
        initial = {
            **_v(ctx),
            "lead_unit": lead.pk if lead else None,
            "assist_units": [u.pk for u in assists if lead is None or u.pk != lead.pk],
        }
        yield "", initial, lead


def _dispatch_extra(ctx: Ctx, form: forms.Form, lead: Unit | None) -> dict[str, Any]:
    """The pickers' first rows: the suggested lead and the units already chosen (checked)."""
    lead_value = form["lead_unit"].value()
    assist_values = form["assist_units"].value() or []
    chosen = {u.pk: u for u in selectors.units_by_pk([lead_value, *assist_values])}
    lead_choices = [lead] if lead is not None else []
    if (
        lead_value
        and str(lead_value).isdigit()
        and int(lead_value) in chosen
        and (lead is None or lead.pk != int(lead_value))
    ):
        lead_choices.append(chosen[int(lead_value)])
    assist_ids = [int(v) for v in assist_values if str(v).isdigit()]
    return {
        "lead_choices": lead_choices,
        "lead_checked": {int(lead_value)} if lead_value and str(lead_value).isdigit() else set(),
        "assist_choices": [chosen[pk] for pk in assist_ids if pk in chosen],
        "assist_checked": set(assist_ids),
    }


def _return_extra(ctx: Ctx, form: forms.Form, _target: Any) -> dict[str, Any]:
    last = next((e for e in reversed(ctx.events) if e.type == EventType.RETURN_REQUESTED), None)
    return {"return_event": last}


def _do_dispatch(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    lead = form.cleaned_data.get("lead_unit")
    assists = list(form.cleaned_data.get("assist_units") or [])
    services.order_dispatch(
        order=ctx.order,
        actor=ctx.actor,
        now=ctx.now,
        lead_unit=lead,
        assist_units=assists,
        note=form.cleaned_data.get("note") or "",
    )
    ctx.order.refresh_from_db()
    return _("已派单给%(unit)s。") % {"unit": ctx.order.lead_unit.name if ctx.order.lead_unit else ""}


def _offer_merge(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status != OrderStatus.AWAITING_DISPATCH or not ctx.can("dispatch"):
        return
    for similar in _duplicates(ctx):
        yield str(similar.order.pk), {**_v(ctx), "parent": similar.order.pk}, similar.order


def _duplicates(ctx: Ctx) -> list[selectors.SimilarOrder]:
    """Likely duplicates of the order within the person's scope, best first, with their
    similarity (read once per request)."""
    key = ("duplicates",)
    cached = ctx.memo.get(key)
    if cached is None:
        cached = selectors.scored_duplicates(ctx.actor, ctx.order)
        ctx.memo[key] = cached
    return list(cached)


def _similar_to(ctx: Ctx, parent: Order) -> selectors.SimilarOrder:
    return next(
        (s for s in _duplicates(ctx) if s.order.pk == parent.pk), selectors.SimilarOrder(parent, None)
    )


def _merge_extra(ctx: Ctx, _form: forms.Form, parent: Order) -> dict[str, Any]:
    return {"similar": _similar_to(ctx, parent)}


def _merge_subtitle(ctx: Ctx, parent: Order) -> str:
    similar = _similar_to(ctx, parent)
    if similar.percent is None:
        return str(parent.number)
    return _("%(number)s · 相似度 %(percent)d%%") % {"number": parent.number, "percent": similar.percent}


def _do_merge(ctx: Ctx, form: forms.Form, parent: Order) -> str:
    services.order_merge(
        order=ctx.order,
        actor=ctx.actor,
        now=ctx.now,
        parent=parent,
        reason=form.cleaned_data.get("reason") or "",
    )
    return _("已合并到工单 %(n)s。") % {"n": parent.number}


def _offer_return_ruling(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status == OrderStatus.RETURN_REQUESTED and ctx.can("rule_return"):
        yield "", _v(ctx), None


def _do_return_ruling(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    reason = form.cleaned_data["reason"]
    if form.cleaned_data["decision"] == "reject":
        services.order_return_reject(order=ctx.order, actor=ctx.actor, now=ctx.now, reason=reason)
        return _("已驳回退单，原单位继续办理。")
    services.order_return_uphold(order=ctx.order, actor=ctx.actor, now=ctx.now, reason=reason)
    return _("已同意退单，请重新派单。")


def _offer_reopen(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status in (OrderStatus.AWAITING_CALLBACK, OrderStatus.CLOSED) and ctx.can("reopen"):
        yield "", _v(ctx), None


def _do_reopen(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    services.order_reopen(order=ctx.order, actor=ctx.actor, now=ctx.now, reason=form.cleaned_data["reason"])
    return _("已重办，原主办单位重新办理。")


def _offer_close(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status == OrderStatus.AWAITING_CALLBACK and ctx.can("close"):
        yield "", _v(ctx), None


def _do_close(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    services.order_close(order=ctx.order, actor=ctx.actor, now=ctx.now, reason=form.cleaned_data["reason"])
    return _("工单已办结。")


# intake --------------------------------------------------------------------------------------------


def _offer_submit(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status == OrderStatus.REGISTERED and ctx.can("submit"):
        yield "", _v(ctx), None


def _do_submit(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    services.order_submit(order=ctx.order, actor=ctx.actor, now=ctx.now)
    return _("已提交派单。")


def _offer_answer(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status == OrderStatus.REGISTERED and ctx.can("answer_directly"):
        yield "", _v(ctx), None


def _do_answer(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    services.order_answer_directly(
        order=ctx.order, actor=ctx.actor, now=ctx.now, answer=form.cleaned_data["answer"]
    )
    return _("已直接答复，工单办结。")


def _offer_withdraw(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status in (OrderStatus.REGISTERED, OrderStatus.AWAITING_DISPATCH) and ctx.can("withdraw"):
        yield "", _v(ctx), None


def _do_withdraw(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    services.order_withdraw(order=ctx.order, actor=ctx.actor, now=ctx.now, reason=form.cleaned_data["reason"])
    return _("工单已撤销。")


# callback ---------------------------------------------------------------------------------------


def _resident_rating(ctx: Ctx) -> ResidentRating | None:
    """The resident's own rating of the answer (the residents' follow-up page), read once."""
    key = ("resident-rating",)
    if key not in ctx.memo:
        ctx.memo[key] = ResidentRating.objects.filter(order_id=ctx.order.pk).first()
    rating: ResidentRating | None = ctx.memo[key]
    return rating


def _offer_callback(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status == OrderStatus.AWAITING_CALLBACK and ctx.can("callback"):
        rating = _resident_rating(ctx)
        # the resident rated the answer already: the callback agent starts from that rating
        yield "", {**_v(ctx), "satisfaction": rating.satisfaction} if rating else _v(ctx), None


def _callback_values(form: forms.Form) -> dict[str, Any]:
    data = form.cleaned_data
    reached = data["reached"] == "yes"
    return {
        "reached": reached,
        "satisfaction": data.get("satisfaction") or "" if reached else "",
        "unit_contacted": wb_forms.CallbackForm.yes_no(data.get("unit_contacted")),
        "resolved": wb_forms.CallbackForm.yes_no(data.get("resolved")),
        "comment": data.get("comment") or "",
    }


def _do_callback(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    services.order_callback(order=ctx.order, actor=ctx.actor, now=ctx.now, **_callback_values(form))
    ctx.order.refresh_from_db()
    if ctx.order.status == OrderStatus.CLOSED:
        return _("回访完成，工单已办结。")
    return _("回访已记录。")


def _offer_callback_merged(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    parent = ctx.order.parent
    if (
        ctx.order.status == OrderStatus.MERGED
        and parent is not None
        and parent.status in (OrderStatus.AWAITING_CALLBACK, OrderStatus.CLOSED)
        and ctx.can("callback")
        and not Callback.objects.filter(order_id=ctx.order.pk).exists()
    ):
        yield "", _v(ctx), None


def _do_callback_merged(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    services.order_callback_merged(order=ctx.order, actor=ctx.actor, now=ctx.now, **_callback_values(form))
    return _("合并件回访已记录。")


# supervision and the number -----------------------------------------------------------------------


def _offer_urge(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status in OPEN and ctx.order.status != OrderStatus.REGISTERED and ctx.can("urge"):
        yield "", _v(ctx), None


def _do_urge(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    services.order_urge(order=ctx.order, actor=ctx.actor, now=ctx.now, message=form.cleaned_data["message"])
    return _("已催办。")


def _offer_supervise(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.status in WITH_LEAD and ctx.order.holder_unit_id is not None and ctx.can("supervise"):
        yield "", _v(ctx), None


def _do_supervise(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    services.order_supervise(
        order=ctx.order,
        actor=ctx.actor,
        now=ctx.now,
        reason=form.cleaned_data["reason"],
        within_days=form.cleaned_data["within_days"],
    )
    return _("已督办，督办时限同步计时。")


def _offer_escalate(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    level = ctx.order.dispatch_unit
    if (
        ctx.order.status == OrderStatus.IN_PROGRESS
        and level is not None
        and level.parent_id
        and ctx.can("escalate")
    ):
        yield "", _v(ctx), None


def _do_escalate(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    services.order_escalate(order=ctx.order, actor=ctx.actor, now=ctx.now, reason=form.cleaned_data["reason"])
    return _("已上报上一级派单。")


def _offer_reveal(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.order.is_open and ctx.order.requester_phone and ctx.can("reveal_phone"):
        yield "", _v(ctx), None


def _do_reveal(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    raise AssertionError("handled by the view: the number is shown once, never redirected")


def _offer_upload(ctx: Ctx) -> Iterable[tuple[str, dict[str, Any], Any]]:
    if ctx.writable and ctx.order.status not in (OrderStatus.MERGED, OrderStatus.WITHDRAWN):
        yield "", _v(ctx), None


def _do_upload(ctx: Ctx, form: forms.Form, _target: Any) -> str:
    n = wb_services.attachments_add(
        order=ctx.order, actor=ctx.actor, now=ctx.now, files=_uploads(form.cleaned_data["documents"])
    )
    return _("已上传 %(n)d 个附件。") % {"n": n}


L = gettext_lazy
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in [
        # the unit's own work
        Action(
            "accept",
            L("签收"),
            wb_forms.AssignmentForm,
            _offer_accept,
            _do_accept,
            primary=True,
            key_field="assignment",
            template="workbench/actions/accept.html",
        ),
        Action(
            "return",
            L("申请退单"),
            wb_forms.ReturnForm,
            _offer_return,
            _do_return,
            key_field="assignment",
            danger=True,
        ),
        Action(
            "delegate",
            L("下派"),
            wb_forms.DelegateForm,
            _offer_delegate,
            _do_delegate,
            key_field="assignment",
            form_kwargs=_delegate_kwargs,
        ),
        Action(
            "contact",
            L("登记联系群众"),
            wb_forms.ContactForm,
            _offer_contact,
            _do_contact,
            key_field="assignment",
        ),
        Action(
            "reply",
            L("答复"),
            wb_forms.ReplyForm,
            _offer_reply,
            _do_reply,
            primary=True,
            key_field="assignment",
            error_field="photos",
        ),
        Action(
            "extension",
            L("申请延期"),
            wb_forms.ExtensionForm,
            _offer_extension,
            _do_extension,
            key_field="assignment",
        ),
        Action(
            "suspend",
            L("申请挂账"),
            wb_forms.SuspendForm,
            _offer_suspend,
            _do_suspend,
            key_field="assignment",
        ),
        # reviews and decisions
        Action(
            "review",
            L("审核答复"),
            wb_forms.ReviewForm,
            _offer_review,
            _do_review,
            primary=True,
            key_field="reply",
            template="workbench/actions/review.html",
        ),
        Action(
            "decide_extension",
            L("延期审批"),
            wb_forms.DecisionForm,
            _offer_decide_extension,
            _do_decide_extension,
            primary=True,
            key_field="request",
            template="workbench/actions/decision.html",
        ),
        Action(
            "decide_suspension",
            L("挂账审批"),
            wb_forms.DecisionForm,
            _offer_decide_suspension,
            _do_decide_suspension,
            primary=True,
            key_field="request",
            template="workbench/actions/decision.html",
        ),
        Action("resume", L("恢复办理"), wb_forms.OptionalReasonForm, _offer_resume, _do_resume),
        # dispatch
        Action(
            "dispatch",
            L("派单"),
            wb_forms.DispatchForm,
            _offer_dispatch,
            _do_dispatch,
            primary=True,
            template="workbench/actions/dispatch.html",
            more=_dispatch_extra,
        ),
        Action(
            "merge",
            L("合并到主件"),
            wb_forms.MergeForm,
            _offer_merge,
            _do_merge,
            key_field="parent",
            template="workbench/actions/merge.html",
            more=_merge_extra,
            subtitle=_merge_subtitle,
        ),
        Action(
            "return_ruling",
            L("退单审核"),
            wb_forms.ReturnRulingForm,
            _offer_return_ruling,
            _do_return_ruling,
            primary=True,
            template="workbench/actions/return_ruling.html",
            more=_return_extra,
        ),
        Action("reopen", L("重办"), wb_forms.ReopenForm, _offer_reopen, _do_reopen, danger=True),
        Action("close", L("直接办结"), wb_forms.ReasonForm, _offer_close, _do_close),
        # intake
        Action(
            "submit",
            L("提交派单"),
            wb_forms.VersionForm,
            _offer_submit,
            _do_submit,
            primary=True,
            template="workbench/actions/confirm.html",
        ),
        Action("answer", L("直接答复"), wb_forms.AnswerForm, _offer_answer, _do_answer),
        Action("withdraw", L("撤销"), wb_forms.ReasonForm, _offer_withdraw, _do_withdraw, danger=True),
        # callback
        Action(
            "callback",
            L("回访"),
            wb_forms.CallbackForm,
            _offer_callback,
            _do_callback,
            primary=True,
            template="workbench/actions/callback.html",
        ),
        Action(
            "callback_merged",
            L("合并件回访"),
            wb_forms.CallbackForm,
            _offer_callback_merged,
            _do_callback_merged,
            primary=True,
            template="workbench/actions/callback.html",
            needs_write=False,
        ),
        # supervision, the number, files
        Action(
            "reveal",
            L("查看联系电话"),
            wb_forms.RevealForm,
            _offer_reveal,
            _do_reveal,
            template="workbench/actions/reveal.html",
        ),
        Action("urge", L("催办"), wb_forms.UrgeForm, _offer_urge, _do_urge),
        Action("supervise", L("督办"), wb_forms.SuperviseForm, _offer_supervise, _do_supervise),
        Action("escalate", L("上报"), wb_forms.EscalateForm, _offer_escalate, _do_escalate, danger=True),
        Action(
            "upload", L("上传附件"), wb_forms.UploadForm, _offer_upload, _do_upload, error_field="documents"
        ),
    ]
}


def _form(action: Action, ctx: Ctx, target: Any, *args: Any, **kwargs: Any) -> forms.Form:
    extra = action.form_kwargs(ctx, target) if action.form_kwargs is not None else {}
    form = action.form_class(*args, **{**kwargs, **extra, "prefix": action.name})
    if action.name == "contact" and ctx.order.confidential:
        field = form.fields["method"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(ContactMethod.HOTLINE, ContactMethod.HOTLINE.label)]
    return form


def offers(ctx: Ctx, bound: tuple[str, str, forms.Form] | None = None) -> list[Offer]:
    """Every action offered now, in table order; ``bound`` replaces one form by the one sent."""
    out: list[Offer] = []
    ctx.memo[("bound-placed",)] = False
    for action in ACTIONS.values():
        if action.needs_write and not ctx.writable:
            continue
        for key, initial, target in action.offers(ctx):
            if bound is not None and bound[0] == action.name and bound[1] == key:
                form = bound[2]
                ctx.memo[("bound-placed",)] = True
            else:
                form = _form(action, ctx, target, initial=initial)
            title = str(action.title)
            if isinstance(target, Assignment) and len(ctx.mine) > 1:
                title = f"{title}（{target.unit.name}）"
            elif action.subtitle is not None:
                title = f"{title}（{action.subtitle(ctx, target)}）"
            out.append(
                Offer(
                    action.name,
                    key,
                    title,
                    form,
                    primary=action.primary,
                    target=target,
                    danger=action.danger,
                    template=action.template or "workbench/actions/generic.html",
                    extra=action.more(ctx, form, target) if action.more is not None else {},
                )
            )
    return out


# --- the page --------------------------------------------------------------------------------------


def _page(ctx: Ctx, *, bound: tuple[str, str, forms.Form] | None = None, **extra: Any) -> dict[str, Any]:
    order = ctx.order
    actor = ctx.actor
    see_requester = permissions.can_see_requester(actor, order)
    attachments = attachments_visible_to(actor, order)
    by_reply: dict[int, list[Any]] = {}
    for att in attachments:
        if att.reply_id is not None:
            by_reply.setdefault(att.reply_id, []).append(att)
    events = list(order_timeline(order))
    ctx.events = events
    children = list(
        Order.objects.filter(parent_id=order.pk).order_by("pk").only("pk", "number", "status", "title")
    )
    grid = Unit.objects.filter(pk=order.grid_id).select_related("parent").first() if order.grid_id else None
    offered = offers(ctx, bound)
    # A refusal whose action is no longer offered (the state moved on) is still told.
    lost_errors = (
        [str(e) for errors in bound[2].errors.values() for e in errors]
        if bound is not None and not ctx.memo.get(("bound-placed",))
        else []
    )
    depth: dict[int, int] = {}
    for a in ctx.assignments:
        depth[a.pk] = depth.get(a.parent_id, -1) + 1 if a.parent_id else 0
        a.depth = depth[a.pk]  # type: ignore[attr-defined]
    return {
        "order": order,
        "ctx": ctx,
        "now": ctx.now,
        "see_requester": see_requester,
        "requester": present.requester_line(order) if see_requester else "",
        "attachments": attachments,
        "photos_by_reply": by_reply,
        "assignments": ctx.assignments,
        "replies": ctx.replies,
        "requests": [*ctx.extensions, *ctx.suspensions],
        "callbacks": list(Callback.objects.filter(order_id=order.pk).order_by("created_at", "pk")),
        "resident_rating": _resident_rating(ctx),
        "supervisions": list(
            Supervision.objects.filter(order_id=order.pk).select_related("unit").order_by("pk")
        ),
        "events": events,
        "children": children,
        "grid": grid,
        "geojson": selectors.grid_feature(grid),
        "point": (order.lon, order.lat) if order.lon is not None and order.lat is not None else None,
        "offers": offered,
        "has_primary": any(o.primary for o in offered),
        "single_offer": len(offered) == 1,
        "duplicates": _duplicates(ctx)
        if order.status == OrderStatus.AWAITING_DISPATCH and ctx.writable
        else [],
        "suggested_lead": next((o.target for o in offered if o.action == "dispatch"), None),
        "lost_errors": lost_errors,
        **extra,
    }


@require_GET
@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order, writable = load_order(request.user, pk)
    ctx = _ctx(request, order, writable)
    return render(request, TEMPLATE, _page(ctx))


@require_POST
@login_required
def order_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    order, writable = load_order(request.user, pk)
    ctx = _ctx(request, order, writable)
    key = request.POST.get(f"{spec.name}-{spec.key_field}", "") if spec.key_field else ""
    offered = spec.offered(ctx)
    if key not in offered:
        # Not offered (any more): the state moved on, or it was never this person's to take.
        messages.error(request, _("该操作当前不可用：工单状态可能已经变化，请查看最新情况。"))
        return redirect("workbench:order_detail", pk=order.pk)
    target = offered[key]
    form = _form(spec, ctx, target, request.POST, request.FILES)
    if form.is_valid():
        with_version(order, form)
        if spec.name == "reveal":
            return _reveal(request, ctx, form)
        try:
            message = spec.perform(ctx, form, target)
        except AttachmentRefused as exc:
            show_error(form, exc, spec.error_field)
        except OrderError as exc:
            show_error(form, exc)
        else:
            messages.success(request, message)
            return redirect(safe_next(request, reverse("workbench:order_detail", args=[order.pk])))
    return _again(request, ctx, spec.name, key, form)


def _again(request: HttpRequest, ctx: Ctx, action: str, key: str, form: forms.Form) -> HttpResponse:
    """This page again with the form as it was sent (its errors beside the fields), on the
    order as it stands now: the version field follows, so a person who was too late can look
    and send again."""
    fresh, writable = load_order(ctx.actor, ctx.order.pk)
    data = form.data.copy() if isinstance(form.data, QueryDict) else QueryDict(mutable=True)
    data[f"{form.prefix}-version"] = str(fresh.version)
    form.data = data
    page = _page(_ctx(request, fresh, writable), bound=(action, key, form))
    return render(request, TEMPLATE, page, status=422)


def _reveal(request: HttpRequest, ctx: Ctx, form: forms.Form) -> HttpResponse:
    """The number, shown once on this response (never stored, never in a URL); audited and
    rate-limited by the service."""
    try:
        phone = services.order_reveal_phone(
            order=ctx.order, actor=ctx.actor, now=ctx.now, reason=form.cleaned_data["reason"]
        )
    except OrderError as exc:
        show_error(form, exc)
        return _again(request, ctx, "reveal", "", form)
    fresh, writable = load_order(ctx.actor, ctx.order.pk)
    return render(request, TEMPLATE, _page(_ctx(request, fresh, writable), revealed_phone=phone))


@require_GET
@login_required
def unit_results(request: HttpRequest, pk: int) -> HttpResponse:
    """The dispatch form's unit pickers: units of the order's dispatch level (and departments)
    matching what was typed; the units already checked stay first and checked."""
    from django.core.exceptions import PermissionDenied

    order, _writable = load_order(request.user, pk)
    if not permissions.can_dispatch(request.user, order):
        raise PermissionDenied(_("您没有派单的权限。"))
    multiple = request.GET.get("field") == "assist"
    name = "dispatch-assist_units" if multiple else "dispatch-lead_unit"
    query = request.GET.get("q", "")[:64]
    chosen = selectors.units_by_pk(request.GET.getlist(name))
    found = selectors.unit_search(query, within=order.dispatch_unit_id, departments=True)
    chosen_ids = {u.pk for u in chosen}
    return render(
        request,
        "workbench/partials/unit_picks.html",
        {
            "units": chosen + [u for u in found if u.pk not in chosen_ids],
            "checked": chosen_ids,
            "name": name,
            "multiple": multiple,
            "query": query,
        },
    )
